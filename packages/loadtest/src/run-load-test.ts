import { setMaxListeners } from 'node:events';
import { Agent } from 'undici';
import { applyLoad, plannedUploads, type LoadShape } from './load/apply-load.js';
import { followUpload, postUpload, type SampleFile } from './load/upload-client.js';

export interface LoadTestOptions {
  baseUrl: string;
  shape: LoadShape;
  files: readonly SampleFile[];
  /** The user upload `index` is sent as. */
  userFor: (index: number) => number;
  tokenFor: (userId: number) => string;
  /** Follow each accepted upload to a terminal status (false for the bare handler, which has no events). */
  follow: boolean;
  /** Long polls held at once at most: the oldest accepted uploads are followed first. */
  followers: number;
  /** Everything (sending and following) ends this long after the first send. */
  timeoutMs: number;
  signal: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  planned: number;
  sent: number;
  accepted: number;
  finished: number;
}

export interface UploadRecord {
  index: number;
  userId: number;
  /** ms from the run's start; in an open loop the time it was due, so a late send counts against latency */
  sentAt: number;
  answeredAt: number | undefined;
  /** 0 when no answer came (connection error, or skipped by an open loop at its in-flight cap) */
  httpStatus: number;
  errorCode: string | undefined;
  uploadId: string | undefined;
  finishedAt: number | undefined;
  finalStatus: 'done' | 'failed' | 'superseded' | undefined;
  finalErrorCode: string | undefined;
}

export interface LoadRun {
  /** Wall clock (ms since the epoch) of the run's time 0. */
  startedAtWallMs: number;
  records: UploadRecord[];
}

/**
 * Applies the load shape to `baseUrl` and, with `follow`, follows every accepted upload
 * through the events long poll until it is terminal. Bounded by count (the shape) and by time
 * (`timeoutMs`, and `signal`).
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadRun> {
  const planned = plannedUploads(options.shape);
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: planned + options.followers + 16 });
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  // every long poll's fetch listens on this signal until undici's request is collected: many
  // thousands at once are expected, not a leak. (Not 0: undici then refuses the signal.)
  setMaxListeners(Infinity, signal);
  const started = performance.now();
  const startedAtWallMs = performance.timeOrigin + started;
  const deadline = started + options.timeoutMs;
  const records: UploadRecord[] = [];
  const counts = { sent: 0, accepted: 0, finished: 0 };
  const progress = (): void => options.onProgress?.({ planned, ...counts });

  const waiting: UploadRecord[] = [];
  let following = 0;
  let allFollowed: () => void = () => undefined;
  const followersDone = new Promise<void>((resolve) => {
    allFollowed = resolve;
  });
  let sending = true;
  const settleIfDone = (): void => {
    if (!sending && following === 0 && waiting.length === 0) allFollowed();
  };
  const followRecord = async (record: UploadRecord): Promise<void> => {
    const outcome = await followUpload(dispatcher, options.baseUrl, record.uploadId as string, options.tokenFor(record.userId), deadline, signal).catch(() => undefined);
    if (!outcome) return;
    record.finishedAt = outcome.finishedAtWallMs - startedAtWallMs;
    record.finalStatus = outcome.status;
    record.finalErrorCode = outcome.code;
    counts.finished++;
    progress();
  };
  const pump = (): void => {
    while (following < options.followers && waiting.length > 0) {
      const record = waiting.shift() as UploadRecord;
      following++;
      void followRecord(record).finally(() => {
        following--;
        pump();
        settleIfDone();
      });
    }
  };
  // one upload at a time through the whole pipeline: the sender itself waits for the finish
  const waitForFinish = options.shape.kind === 'closed' && options.shape.waitForFinish;

  const newRecord = (index: number, dueAt: number): UploadRecord => ({
    index,
    userId: options.userFor(index),
    sentAt: dueAt - started,
    answeredAt: undefined,
    httpStatus: 0,
    errorCode: undefined,
    uploadId: undefined,
    finishedAt: undefined,
    finalStatus: undefined,
    finalErrorCode: undefined,
  });

  const send = async (index: number, dueAt: number): Promise<void> => {
    const record = newRecord(index, dueAt);
    records.push(record);
    counts.sent++;
    const file = options.files[index % options.files.length] as SampleFile;
    try {
      const answer = await postUpload(dispatcher, options.baseUrl, record.userId, options.tokenFor(record.userId), file, `load-${index}.jpg`);
      record.httpStatus = answer.status;
      record.errorCode = answer.code;
      record.uploadId = answer.uploadId;
    } catch (error) {
      record.errorCode = errorCode(error);
    }
    record.answeredAt = performance.now() - started;
    if (record.httpStatus === 202) {
      counts.accepted++;
      if (options.follow && record.uploadId && waitForFinish) {
        await followRecord(record);
      } else if (options.follow && record.uploadId) {
        waiting.push(record);
        pump();
      }
    }
    progress();
  };

  const skipped = (index: number, dueAt: number): void => {
    const record = newRecord(index, dueAt);
    record.errorCode = 'client_in_flight_cap';
    records.push(record);
  };

  try {
    await applyLoad(options.shape, send, signal, skipped);
    sending = false;
    settleIfDone();
    await followersDone;
  } finally {
    await dispatcher.destroy();
  }
  records.sort((a, b) => a.index - b.index);
  return { startedAtWallMs, records };
}

/** A short, stable name for a failure with no HTTP answer: undici's cause code (ECONNRESET…), else its message. */
function errorCode(error: unknown): string {
  if (error instanceof Error && error.name === 'AbortError') return 'aborted';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  const message = typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : 'unknown';
  return message.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 40) || 'unknown';
}
