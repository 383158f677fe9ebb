import type { Baselines, RunReport, ScenarioName, TargetResult, TargetStatus } from './report-types.js';

/** The targets: what the system must reach against this machine's limits. */
export const TARGETS = {
  /** completed sets/s ≥ this × raw sharp's best */
  completedVsRawSharp: 0.85,
  /** accepted/s ≥ this × the bare handler's */
  acceptedVsBareHandler: 0.8,
  /** accept p99 ≤ this × the bare handler's */
  acceptP99VsBareHandler: 2,
  /** one upload at a time: POST → done p50 ≤ this × one raw set */
  lightEndToEndVsRawSet: 1.5,
  /** API RSS with 64 clients each streaming a ~10 MB file */
  bigFilesApiRssMb: 200,
  /** worker RSS growth from the first to the last thousand jobs */
  soakWorkerRssGrowth: 0.2,
} as const;

/** Each run's figures over their limits (undefined where a limit was not measured). */
export function ratiosFor(run: RunReport, baselines: Baselines | undefined): RunReport['ratios'] {
  if (!baselines) return {};
  const f = run.figures;
  const bare = baselines.bareHandler.find((b) => b.scenario === run.scenario);
  return {
    // the pool's throughput limit, where the pool is kept busy with the same photos raw sharp rendered
    completedPerSecond: run.scenario === 'drain' || run.scenario === 'throughput' || run.scenario === 'soak' ? divide(f.completedPerSecond, baselines.rawSharp.best.setsPerSecond) : undefined,
    acceptedPerSecond: bare ? divide(f.acceptedPerSecond, bare.figures.acceptedPerSecond) : undefined,
    acceptP99: bare ? divide(f.acceptMs.p99, bare.figures.acceptMs.p99) : undefined,
    // one raw set is the limit of an upload's latency only when nothing queues: one upload at a time
    endToEndP50: isLight(run) ? divide(f.endToEndMs.p50, baselines.rawSharp.singleSetMs.p50) : undefined,
  };
}

/**
 * The runs the throughput and accept targets read: drain when the plan has it (uploads accepted
 * with no worker running, then the pool alone, as the issue measures both), else throughput,
 * where the API, the load generator and the workers share the cores.
 */
export function targetScenario(runs: readonly RunReport[]): ScenarioName {
  return runs.some((r) => r.scenario === 'drain') ? 'drain' : 'throughput';
}

const MIXED_LOAD_NOTE = 'mixed load (API, load generator and workers share the cores); --scenario drain measures the pool and the accept path alone';

/** One upload at a time through the whole pipeline: nothing queues anywhere. */
function isLight(run: RunReport): boolean {
  return run.load.kind === 'closed' && run.load.concurrency === 1 && run.load.waitForFinish;
}

/** PASS/MISS for every target a run can show; `n/a` (with why) where its limit was not measured. */
export function evaluateTargets(runs: readonly RunReport[], baselines: Baselines | undefined): TargetResult[] {
  const results: TargetResult[] = [];
  const needsBaseline = 'run with --baseline to measure the limit';
  const pool = targetScenario(runs);
  for (const run of runs) {
    const f = run.figures;
    if (run.scenario === pool) {
      const bare = baselines?.bareHandler.find((b) => b.scenario === run.scenario);
      const note = !baselines ? needsBaseline : pool === 'throughput' ? MIXED_LOAD_NOTE : undefined;
      results.push(atLeast('completed-vs-raw-sharp', 'completed sets/s ≥ 0.85 × raw sharp', run, f.completedPerSecond, baselines?.rawSharp.best.setsPerSecond, TARGETS.completedVsRawSharp, note));
      results.push(atLeast('accepted-vs-bare-handler', 'accepted req/s ≥ 0.80 × bare handler', run, f.acceptedPerSecond, bare?.figures.acceptedPerSecond, TARGETS.acceptedVsBareHandler, note));
      results.push(atMost('accept-p99-vs-bare-handler', 'accept p99 ≤ 2 × bare handler', run, f.acceptMs.p99, bare?.figures.acceptMs.p99, TARGETS.acceptP99VsBareHandler, note));
    }
    if (isLight(run)) {
      results.push(atMost('light-end-to-end-vs-raw-set', 'light load: POST→done p50 ≤ 1.5 × one raw transform', run, f.endToEndMs.p50, baselines?.rawSharp.singleSetMs.p50, TARGETS.lightEndToEndVsRawSet, baselines ? undefined : needsBaseline));
    }
    if (run.scenario === 'big-files') {
      const api = run.processes.find((p) => p.name === 'api');
      results.push(absolute('big-files-api-rss', 'API RSS < 200 MB, 64 clients streaming ~10 MB', run, api?.peakRssMb, api && api.peakRssMb < TARGETS.bigFilesApiRssMb, `< ${TARGETS.bigFilesApiRssMb} MB`, api ? undefined : 'the API is not a process of this run (--url)'));
    }
    if (run.scenario === 'soak') {
      const growths = (run.rssGrowth ?? []).filter((g) => g.growth !== undefined);
      const worst = growths.reduce<number | undefined>((max, g) => Math.max(max ?? -Infinity, g.growth as number), undefined);
      const window = run.rssGrowth?.[0]?.windowJobs;
      const note = worst === undefined ? 'no worker process was sampled, or too few jobs completed' : window !== undefined && window < 1000 ? `first and last ${window} jobs (fewer than 5,000 completed)` : undefined;
      results.push(absolute('soak-worker-rss-growth', 'worker RSS grows < 20% first → last thousand jobs', run, worst, worst === undefined ? undefined : worst < TARGETS.soakWorkerRssGrowth, `< ${TARGETS.soakWorkerRssGrowth * 100}%`, note));
    }
    results.push(absolute('zero-errors', 'zero errors (no deliberate rejections are sent)', run, f.errors.total, f.errors.total === 0, '= 0'));
  }
  return results;
}

function divide(value: number | undefined, limit: number | undefined): number | undefined {
  return value === undefined || limit === undefined || limit === 0 ? undefined : value / limit;
}

function atLeast(id: string, target: string, run: RunReport, measured: number | undefined, limit: number | undefined, factor: number, note?: string): TargetResult {
  const ratio = divide(measured, limit);
  return result(id, target, run, measured, limit, ratio, `≥ ${factor}×`, ratio === undefined ? 'n/a' : ratio >= factor ? 'PASS' : 'MISS', note);
}

function atMost(id: string, target: string, run: RunReport, measured: number | undefined, limit: number | undefined, factor: number, note?: string): TargetResult {
  const ratio = divide(measured, limit);
  return result(id, target, run, measured, limit, ratio, `≤ ${factor}×`, ratio === undefined ? 'n/a' : ratio <= factor ? 'PASS' : 'MISS', note);
}

function absolute(id: string, target: string, run: RunReport, measured: number | undefined, pass: boolean | undefined, threshold: string, note?: string): TargetResult {
  return result(id, target, run, measured, undefined, undefined, threshold, pass === undefined ? 'n/a' : pass ? 'PASS' : 'MISS', note);
}

function result(id: string, target: string, run: RunReport, measured: number | undefined, limit: number | undefined, ratio: number | undefined, threshold: string, status: TargetStatus, note: string | undefined): TargetResult {
  return { id, target, run: run.label, measured, limit, ratio, threshold, status, ...(note ? { note } : {}) };
}
