import type { UploadOutcome } from '../measure/upload-outcomes.js';
import type { UploadRecord } from '../run-load-test.js';
import { perSecond, quantileCurve, summarize, tally } from '../stats.js';
import type { DrainFigures, ErrorCount, ProcessFigures, RunFigures } from './report-types.js';

/**
 * Every figure of one run, from its upload records. Rates are counted over the window they
 * describe: accepted/s from the first send to the last answer, completed/s from the first send
 * to the last `done` (so a run's start-up and drain count against it, as they would for a user).
 */
export function computeFigures(records: readonly UploadRecord[], followed: boolean): RunFigures {
  const accepted = records.filter((r) => r.httpStatus === 202);
  const answered = records.filter((r) => r.answeredAt !== undefined);
  const done = accepted.filter((r) => r.finalStatus === 'done' && r.finishedAt !== undefined);
  const firstSent = records.length > 0 ? Math.min(...records.map((r) => r.sentAt)) : 0;
  const lastAnswer = answered.length > 0 ? Math.max(...answered.map((r) => r.answeredAt as number)) : firstSent;
  const lastDone = done.length > 0 ? Math.max(...done.map((r) => r.finishedAt as number)) : firstSent;
  const sendSeconds = (lastAnswer - firstSent) / 1000;
  const doneSeconds = (lastDone - firstSent) / 1000;
  const acceptMs = accepted.map((r) => (r.answeredAt as number) - r.sentAt);
  const endToEndMs = done.map((r) => Math.max(0, (r.finishedAt as number) - r.sentAt));
  const errors = countErrors(records, followed);
  // whole seconds up to and including the one of the last event
  const runSeconds = Math.floor(Math.max(lastAnswer, lastDone) / 1000) + 1;
  return {
    sent: records.length,
    accepted: accepted.length,
    acceptedPerSecond: sendSeconds > 0 ? accepted.length / sendSeconds : 0,
    sendSeconds,
    acceptMs: summarize(acceptMs),
    endToEndMs: summarize(endToEndMs),
    completed: done.length,
    completedPerSecond: doneSeconds > 0 ? done.length / doneSeconds : 0,
    finished: tally(accepted.filter((r) => r.finalStatus !== undefined).map((r) => r.finalStatus as string)),
    unfinished: followed ? accepted.filter((r) => r.finalStatus === undefined).length : 0,
    errors: { total: errors.reduce((sum, e) => sum + e.count, 0), byStatusAndCode: errors },
    timeline: {
      accepted: perSecond(accepted.map((r) => r.answeredAt as number), runSeconds),
      completed: perSecond(done.map((r) => r.finishedAt as number), runSeconds),
    },
    acceptQuantiles: quantileCurve(acceptMs),
    endToEndQuantiles: quantileCurve(endToEndMs),
  };
}

/**
 * The load test sends only valid uploads, so there are no deliberate rejections to set apart:
 * every answer but 202, every failed upload and every accepted upload never seen to finish is
 * an error. An upload `superseded` by a newer one of its user is the product working.
 */
function countErrors(records: readonly UploadRecord[], followed: boolean): ErrorCount[] {
  const keys: string[] = [];
  for (const r of records) {
    if (r.httpStatus !== 202) keys.push(`${r.httpStatus === 0 ? 'none' : r.httpStatus} ${r.errorCode ?? 'no_code'}`);
    else if (r.finalStatus === 'failed') keys.push(`failed ${r.finalErrorCode ?? 'no_code'}`);
  }
  const out = Object.entries(tally(keys)).map(([key, count]) => {
    const [status, code] = key.split(' ') as [string, string];
    return { status, code, count };
  });
  // the bare handler has no events to follow: its uploads are finished once answered
  const unfinished = followed ? records.filter((r) => r.httpStatus === 202 && r.finalStatus === undefined).length : 0;
  return unfinished > 0 ? [...out, { status: 'unfinished', code: 'no_terminal_event', count: unfinished }] : out;
}

const TERMINAL = new Set<string>(['done', 'failed', 'superseded']);

/**
 * A drain run's figures: its accept phase from the records (no worker ran while they were sent),
 * each upload's outcome from the run's database, and completed/s over the workers' own window,
 * from the first `processing` event to the last terminal one. POST → done is left out: it would
 * time how long the tool waited before starting the workers.
 */
export function computeDrainFigures(
  records: readonly UploadRecord[],
  outcomes: readonly UploadOutcome[],
  startedAtWallMs: number,
  workersStartedAtMs: number,
  processes: ProcessFigures[],
): { figures: RunFigures; drain: DrainFigures } {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const finished = records.map((r): UploadRecord => {
    const o = r.uploadId === undefined ? undefined : byId.get(r.uploadId);
    if (!o || o.terminalAtWallMs === undefined || !TERMINAL.has(o.status)) return { ...r };
    return { ...r, finishedAt: o.terminalAtWallMs - startedAtWallMs, finalStatus: o.status as UploadRecord['finalStatus'], finalErrorCode: o.errorCode };
  });
  const figures = computeFigures(finished, true);
  const starts = outcomes.flatMap((o) => (o.firstProcessingAtWallMs === undefined ? [] : [o.firstProcessingAtWallMs]));
  const ends = outcomes.flatMap((o) => (o.terminalAtWallMs === undefined ? [] : [o.terminalAtWallMs]));
  const first = starts.length > 0 ? Math.min(...starts) : undefined;
  const last = ends.length > 0 ? Math.max(...ends) : undefined;
  const seconds = first !== undefined && last !== undefined ? Math.max(0, last - first) / 1000 : 0;
  const completedPerSecond = seconds > 0 ? figures.completed / seconds : 0;
  const second = (wallMs: number | undefined): number | undefined => (wallMs === undefined ? undefined : (wallMs - startedAtWallMs) / 1000);
  return {
    figures: { ...figures, completedPerSecond, endToEndMs: summarize([]), endToEndQuantiles: [] },
    drain: {
      workersStartedAtSecond: workersStartedAtMs / 1000,
      firstProcessingAtSecond: second(first),
      lastTerminalAtSecond: second(last),
      seconds,
      terminal: ends.length,
      done: figures.completed,
      completedPerSecond,
      processes,
    },
  };
}
