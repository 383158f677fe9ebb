import type { RssGrowth } from '../report/report-types.js';
import { median } from '../stats.js';
import type { ProcessSample } from './process-sampler.js';

/** The soak compares the first and the last thousand jobs; a shorter soak compares its first and last fifth. */
export const SOAK_WINDOW_JOBS = 1000;

const MB = 1024 * 1024;

/**
 * How much a worker's RSS grew between the first and the last `window` completed jobs: the
 * median of its samples taken while 0…window jobs had completed, against the median of those
 * taken while the last `window` were completing. Medians, so a single large image does not
 * decide it. `doneTimes`: when each job completed, in the samples' time base.
 */
export function rssGrowthByJobs(process: string, samples: readonly ProcessSample[], doneTimes: readonly number[]): RssGrowth {
  const times = [...doneTimes].sort((a, b) => a - b);
  const total = times.length;
  const windowJobs = Math.min(SOAK_WINDOW_JOBS, Math.floor(total / 5));
  const completedAt = (t: number): number => {
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((times[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const first: number[] = [];
  const last: number[] = [];
  if (windowJobs > 0) {
    for (const s of samples) {
      const n = completedAt(s.t);
      if (n < windowJobs) first.push(s.rssBytes / MB);
      else if (n >= total - windowJobs && n < total) last.push(s.rssBytes / MB);
    }
  }
  const firstMedianRssMb = median(first);
  const lastMedianRssMb = median(last);
  return {
    process,
    windowJobs,
    firstMedianRssMb,
    lastMedianRssMb,
    growth: firstMedianRssMb && lastMedianRssMb !== undefined ? lastMedianRssMb / firstMedianRssMb - 1 : undefined,
  };
}
