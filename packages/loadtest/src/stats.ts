/** Nearest-rank percentile of an unsorted sample; undefined for an empty one. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  return percentileOfSorted([...values].sort((a, b) => a - b), p);
}

function percentileOfSorted(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface Summary {
  count: number;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
  max: number | undefined;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: values.length,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.at(-1),
  };
}

/** The latency distribution as `[percentile, value]` pairs (0, 1, …, 100 and 99.9): what the report's distribution chart draws. */
export function quantileCurve(values: readonly number[]): Array<[number, number]> {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const ps = [...Array.from({ length: 100 }, (_, i) => i), 99.9, 100];
  return ps.map((p) => [p, (p === 0 ? sorted[0] : percentileOfSorted(sorted, p)) as number]);
}

/** The middle value (the lower one of an even count); undefined for an empty sample. */
export function median(values: readonly number[]): number | undefined {
  return percentile(values, 50);
}

/** Counts occurrences: `{ '202': 480, '429': 20 }`. */
export function tally<T extends string | number>(values: readonly T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

/** Events per whole second: `times` in ms from 0, one count per second up to `seconds`. */
export function perSecond(times: readonly number[], seconds: number): number[] {
  const bins = new Array<number>(Math.max(0, Math.ceil(seconds))).fill(0);
  for (const t of times) {
    const bin = Math.floor(t / 1000);
    if (bin >= 0 && bin < bins.length) bins[bin] = (bins[bin] as number) + 1;
  }
  return bins;
}

/** At most `max` evenly spaced items, always keeping the last: charts need no more points than pixels. */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const step = items.length / max;
  const out = Array.from({ length: max - 1 }, (_, i) => items[Math.floor(i * step)] as T);
  out.push(items.at(-1) as T);
  return out;
}
