/**
 * How load is applied: N connections each sending the next upload once answered (or, with
 * `waitForFinish`, once it is finished: one upload at a time through the whole pipeline), or a
 * fixed arrival rate.
 */
export type LoadShape =
  | { kind: 'closed'; concurrency: number; uploads: number; durationSeconds: number | undefined; waitForFinish: boolean }
  | { kind: 'open'; ratePerSecond: number; durationSeconds: number; maxInFlight: number };

/** Sends upload `index`, due at `dueAtMs` (performance.now), and resolves once it is answered. */
export type SendOne = (index: number, dueAtMs: number) => Promise<void>;

/** The most uploads any shape may send, whatever its flags say: every loop is bounded in count. */
export const MAX_UPLOADS = 100_000;

export function plannedUploads(shape: LoadShape): number {
  return Math.min(MAX_UPLOADS, shape.kind === 'closed' ? shape.uploads : Math.ceil(shape.ratePerSecond * shape.durationSeconds));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the schedule, bounded by count (`plannedUploads`) and by time (`durationSeconds`, and the
 * signal). An open loop does not wait for answers, so it can outrun the server: an arrival that
 * finds `maxInFlight` still unanswered is not sent but reported through `onSkipped`, as the
 * client side of an overload.
 */
export async function applyLoad(shape: LoadShape, send: SendOne, signal: AbortSignal, onSkipped: (index: number, dueAtMs: number) => void): Promise<void> {
  const total = plannedUploads(shape);
  const started = performance.now();
  const endAt = shape.durationSeconds === undefined ? Infinity : started + shape.durationSeconds * 1000;
  if (shape.kind === 'closed') {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < total && performance.now() < endAt && !signal.aborted) {
        const index = next++;
        await send(index, performance.now());
      }
    };
    await Promise.all(Array.from({ length: Math.min(shape.concurrency, total) }, lane));
    return;
  }
  const inFlight = new Set<Promise<void>>();
  const interval = 1000 / shape.ratePerSecond;
  for (let index = 0; index < total && !signal.aborted; index++) {
    const dueAt = started + index * interval;
    if (dueAt >= endAt) break;
    const wait = dueAt - performance.now();
    if (wait > 0) await sleep(wait);
    if (inFlight.size >= shape.maxInFlight) {
      onSkipped(index, dueAt);
      continue;
    }
    const sent: Promise<void> = send(index, dueAt).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
}
