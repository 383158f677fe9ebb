import { Agent, FormData, fetch } from 'undici';
import { summarize, tally, type Summary } from './stats.js';

export interface LoadTestOptions {
  baseUrl: string;
  uploads: number;
  concurrency: number;
  users: readonly number[];
  images: readonly Buffer[];
  tokenFor: (userId: number) => string;
  /** How long to follow accepted uploads to a terminal status, from the first send. */
  timeoutMs: number;
  onProgress?: (progress: { sent: number; accepted: number; finished: number }) => void;
}

export interface UploadRecord {
  userId: number;
  httpStatus: number;
  errorCode: string | undefined;
  acceptMs: number;
  uploadId: string | undefined;
  sentAt: number;
  finishedAt: number | undefined;
  finalStatus: string | undefined;
  finalErrorCode: string | undefined;
}

export interface LoadTestReport {
  sent: number;
  sendSeconds: number;
  sendRate: number;
  answers: Record<string, number>;
  refusalCodes: Record<string, number>;
  acceptLatencyMs: Summary;
  accepted: number;
  finished: Record<string, number>;
  unfinished: number;
  finishedPerSecond: number;
  endToEndMs: Summary;
}

const TERMINAL = new Set(['done', 'failed', 'superseded']);

/**
 * Sends `uploads` avatars with `concurrency` in flight, then follows each accepted one
 * through the events long poll until it is terminal. Bounded by count and by `timeoutMs`.
 */
export async function runLoadTest(options: LoadTestOptions): Promise<{ records: UploadRecord[]; report: LoadTestReport }> {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: options.concurrency + 1024 });
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const records: UploadRecord[] = [];
  const followers: Array<Promise<void>> = [];
  let next = 0;
  let finished = 0;
  let sendEnded = started;
  const progress = (): void => options.onProgress?.({ sent: records.length, accepted: records.filter((r) => r.uploadId).length, finished });

  const follow = async (record: UploadRecord): Promise<void> => {
    let after = 0;
    const token = options.tokenFor(record.userId);
    while (performance.now() < deadline) {
      const wait = Math.max(1, Math.min(20, Math.floor((deadline - performance.now()) / 1000)));
      const response = await fetch(`${options.baseUrl}/v1/uploads/${record.uploadId}/events?after=${after}&wait=${wait}`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher,
      }).catch(() => undefined);
      if (!response || !response.ok) {
        await response?.body?.cancel();
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const body = (await response.json()) as { status: string; lastSeq: number; events: Array<{ type: string; data: { code?: string } }> };
      after = body.lastSeq;
      if (TERMINAL.has(body.status)) {
        record.finishedAt = performance.now() - started;
        record.finalStatus = body.status;
        record.finalErrorCode = body.events.find((e) => e.type === 'failed')?.data.code;
        finished++;
        progress();
        return;
      }
    }
  };

  const sender = async (): Promise<void> => {
    while (next < options.uploads && performance.now() < deadline) {
      const index = next++;
      const userId = options.users[index % options.users.length] as number;
      const image = options.images[index % options.images.length] as Buffer;
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), `load-${index}.jpg`);
      const sentAt = performance.now();
      const record: UploadRecord = {
        userId,
        httpStatus: 0,
        errorCode: undefined,
        acceptMs: 0,
        uploadId: undefined,
        sentAt: sentAt - started,
        finishedAt: undefined,
        finalStatus: undefined,
        finalErrorCode: undefined,
      };
      try {
        const response = await fetch(`${options.baseUrl}/v1/users/${userId}/avatar`, {
          method: 'POST',
          body: form,
          headers: { authorization: `Bearer ${options.tokenFor(userId)}` },
          dispatcher,
        });
        const body = (await response.json().catch(() => ({}))) as { uploadId?: string; code?: string };
        record.httpStatus = response.status;
        record.uploadId = response.status === 202 ? body.uploadId : undefined;
        record.errorCode = body.code;
      } catch (error) {
        record.errorCode = (error as Error).message.slice(0, 60);
      }
      record.acceptMs = performance.now() - sentAt;
      records.push(record);
      if (record.uploadId) followers.push(follow(record));
      progress();
    }
    sendEnded = Math.max(sendEnded, performance.now());
  };

  await Promise.all(Array.from({ length: options.concurrency }, sender));
  await Promise.all(followers);
  await dispatcher.close();
  return { records, report: buildReport(records, (sendEnded - started) / 1000) };
}

export function buildReport(records: readonly UploadRecord[], sendSeconds: number): LoadTestReport {
  const accepted = records.filter((r) => r.uploadId);
  const done = accepted.filter((r) => r.finishedAt !== undefined);
  const firstSent = Math.min(...accepted.map((r) => r.sentAt));
  const lastFinished = Math.max(...done.map((r) => r.finishedAt as number));
  const window = (lastFinished - firstSent) / 1000;
  return {
    sent: records.length,
    sendSeconds,
    sendRate: sendSeconds > 0 ? records.length / sendSeconds : 0,
    answers: tally(records.map((r) => r.httpStatus)),
    refusalCodes: tally(records.filter((r) => !r.uploadId).map((r) => r.errorCode ?? 'none')),
    acceptLatencyMs: summarize(records.map((r) => r.acceptMs)),
    accepted: accepted.length,
    finished: tally(done.map((r) => r.finalStatus ?? 'unknown')),
    unfinished: accepted.length - done.length,
    finishedPerSecond: done.length > 0 && window > 0 ? done.length / window : 0,
    endToEndMs: summarize(done.map((r) => (r.finishedAt as number) - r.sentAt)),
  };
}

export function formatReport(report: LoadTestReport): string {
  const ms = (s: Summary): string =>
    s.count === 0 ? 'n/a' : `p50 ${s.p50?.toFixed(0)} · p95 ${s.p95?.toFixed(0)} · p99 ${s.p99?.toFixed(0)} · max ${s.max?.toFixed(0)} ms`;
  const kv = (o: Record<string, number>): string => Object.entries(o).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
  return [
    `sent         ${report.sent} uploads in ${report.sendSeconds.toFixed(1)} s (${report.sendRate.toFixed(1)}/s); answers: ${kv(report.answers)}`,
    report.sent > report.accepted ? `refused      ${kv(report.refusalCodes)}` : '',
    `accept       ${ms(report.acceptLatencyMs)}`,
    `accepted     ${report.accepted}; finished: ${kv(report.finished)}; unfinished ${report.unfinished}`,
    `worker pool  ${report.finishedPerSecond.toFixed(1)} uploads/s finished (first send → last terminal)`,
    `end to end   ${ms(report.endToEndMs)} (POST → terminal status)`,
  ]
    .filter(Boolean)
    .join('\n');
}
