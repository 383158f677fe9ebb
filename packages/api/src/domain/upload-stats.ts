import type { Queue } from 'bullmq';
import type { MinuteCount, UploadStatsRepository, UploadStatus } from '@avatar/shared';

export interface MinutePoint {
  minute: Date;
  total: number;
  failed: number;
  /** failed / finished in that minute; null when nothing accepted then has finished */
  failureRate: number | null;
}

export interface QueueDepth {
  name: string;
  counts: Record<string, number>;
}

export interface Overview {
  now: Date;
  lastHour: Record<UploadStatus, number>;
  lastDay: Record<UploadStatus, number>;
  perMinute: MinutePoint[];
  topFailures: Array<{ code: string; count: number }>;
  queues: QueueDepth[];
}

/** BullMQ's job states the console shows. */
export const queueStates = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

const MINUTE = 60_000;

/**
 * One point per minute from `from` for `minutes` minutes, zeros where the database had no
 * row: a chart's x axis must not skip quiet minutes.
 */
export function fillMinutes(counts: readonly MinuteCount[], from: Date, minutes: number): MinutePoint[] {
  const start = Math.floor(from.getTime() / MINUTE) * MINUTE;
  const byMinute = new Map(counts.map((c) => [c.minute.getTime(), c]));
  return Array.from({ length: minutes }, (_, i) => {
    const minute = start + i * MINUTE;
    const count = byMinute.get(minute);
    return {
      minute: new Date(minute),
      total: count?.total ?? 0,
      failed: count?.failed ?? 0,
      failureRate: count && count.finished > 0 ? count.failed / count.finished : null,
    };
  });
}

/** Everything the overview page shows, read in parallel: counts, the last hour minute by minute, top failure codes and queue depth. */
export async function loadOverview(deps: { stats: UploadStatsRepository; queues: ReadonlyArray<Queue> }, now = new Date()): Promise<Overview> {
  const { stats } = deps;
  const hourAgo = new Date(now.getTime() - 60 * MINUTE);
  // the current minute included: 60 whole minutes back from its start
  const chartFrom = new Date(Math.floor(now.getTime() / MINUTE) * MINUTE - 59 * MINUTE);
  const dayAgo = new Date(now.getTime() - 24 * 60 * MINUTE);
  const until = new Date(now.getTime() + 1);
  const [lastHour, lastDay, minuteCounts, topFailures, queues] = await Promise.all([
    stats.countByStatus(hourAgo, until),
    stats.countByStatus(dayAgo, until),
    stats.countPerMinute(chartFrom, new Date(chartFrom.getTime() + 60 * MINUTE)),
    stats.topFailureCodes(dayAgo, until, 10),
    Promise.all(deps.queues.map(async (queue) => ({ name: queue.name, counts: await queue.getJobCounts(...queueStates) }))),
  ]);
  return { now, lastHour, lastDay, perMinute: fillMinutes(minuteCounts, chartFrom, 60), topFailures, queues };
}
