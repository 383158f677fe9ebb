import type { LoadShape } from '../load/apply-load.js';
import type { RawSharpLevel } from '../processes/raw-sharp-process.js';
import type { Summary } from '../stats.js';

/** Bumped when a field changes meaning; tools reading report.json check it. */
export const REPORT_SCHEMA = 'avatar-loadtest/2';

export type ScenarioName = 'throughput' | 'drain' | 'light' | 'big-files' | 'soak';

/** Answers that were not a 202, uploads that failed, and accepted uploads never seen to finish. */
export interface ErrorCount {
  /** an HTTP status, `none` (no answer), `failed` (the upload failed) or `unfinished` */
  status: string;
  code: string;
  count: number;
}

export interface RunFigures {
  sent: number;
  accepted: number;
  /** 202 answers per second, from the first send to the last answer */
  acceptedPerSecond: number;
  sendSeconds: number;
  /** POST → 202 */
  acceptMs: Summary;
  /** POST → the `done` event */
  endToEndMs: Summary;
  /** uploads that ended `done`: avatar sets rendered and stored */
  completed: number;
  /**
   * `done` per second: from the first send to the last `done`; in a drain run, over the
   * workers' own window (its `drain.seconds`)
   */
  completedPerSecond: number;
  /** terminal statuses seen, `done`/`superseded`/`failed` */
  finished: Record<string, number>;
  unfinished: number;
  errors: { total: number; byStatusAndCode: ErrorCount[] };
  /** accepted and completed uploads in each second of the run */
  timeline: { accepted: number[]; completed: number[] };
  /** `[percentile, ms]`, for the distribution chart */
  acceptQuantiles: Array<[number, number]>;
  endToEndQuantiles: Array<[number, number]>;
}

/**
 * The process name under which the whole machine is listed (pid 0): every core's busy time and
 * the memory in use (`peakRssMb`); what the processes listed beside it leave out is the difference.
 */
export const MACHINE = 'machine';

export interface ProcessFigures {
  name: string;
  pid: number;
  peakRssMb: number;
  cpuSeconds: number;
  /** average over the time it was sampled; 100 = one core busy */
  cpuPercent: number;
  /** `[seconds from the run's start, RSS MB]`, thinned for the charts */
  rss: Array<[number, number]>;
}

/** A worker process's RSS early and late in a soak, by how many jobs had completed. */
export interface RssGrowth {
  process: string;
  windowJobs: number;
  firstMedianRssMb: number | undefined;
  lastMedianRssMb: number | undefined;
  growth: number | undefined;
}

export interface RunReport {
  id: string;
  scenario: ScenarioName;
  label: string;
  /** worker processes the tool started; undefined against `--url` */
  workers: number | undefined;
  load: LoadShape;
  file: { width: number; height: number; averageBytes: number };
  seconds: number;
  figures: RunFigures;
  processes: ProcessFigures[];
  /** each figure over its limit, with `--baseline` */
  ratios: { completedPerSecond?: number; acceptedPerSecond?: number; acceptP99?: number; endToEndP50?: number };
  rssGrowth?: RssGrowth[];
  /** the drain scenario's worker phase: every upload accepted first, then the workers alone */
  drain?: DrainFigures;
}

/** The worker pool on its own: from the first `processing` event to the last terminal one (the run's database). */
export interface DrainFigures {
  /** seconds from the run's start at which the workers were told to start (all uploads answered) */
  workersStartedAtSecond: number;
  /** seconds from the run's start of the first `processing` and the last terminal event */
  firstProcessingAtSecond: number | undefined;
  lastTerminalAtSecond: number | undefined;
  /** the window completed/s is counted over */
  seconds: number;
  /** accepted uploads that reached done/failed/superseded before the timeout */
  terminal: number;
  done: number;
  /** `done` ÷ `seconds` */
  completedPerSecond: number;
  /** each process from the workers' start to the end of the run */
  processes: ProcessFigures[];
}

export interface RawSharpBaseline {
  levels: RawSharpLevel[];
  best: { inFlight: number; setsPerSecond: number };
  /** one set at a time: what one upload costs at best under light load */
  singleSetMs: Summary;
  threadpoolSize: number;
  /** the process's niceness: the workers' */
  niceness: number;
  sharpVersion: string;
  processes: ProcessFigures[];
}

export interface BareHandlerBaseline {
  scenario: ScenarioName;
  load: LoadShape;
  figures: RunFigures;
  processes: ProcessFigures[];
}

export interface Baselines {
  rawSharp: RawSharpBaseline;
  bareHandler: BareHandlerBaseline[];
}

export type TargetStatus = 'PASS' | 'MISS' | 'n/a';

export interface TargetResult {
  id: string;
  target: string;
  run: string;
  measured: number | undefined;
  limit: number | undefined;
  ratio: number | undefined;
  threshold: string;
  status: TargetStatus;
  note?: string;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  node: string;
  platform: string;
  loadAverageAtStart: number[];
}

export interface SweepPoint {
  /** `drain` (the pool alone) when the plan has drain runs, else `throughput` (mixed load) */
  scenario: ScenarioName;
  workers: number;
  completedPerSecond: number;
  acceptedPerSecond: number;
  ratioToRawSharp: number | undefined;
}

export interface LoadTestReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  command: string;
  machine: Machine;
  target: string;
  options: { scenarios: ScenarioName[]; workers: number[] | undefined; workerConcurrency: number | undefined; compiled?: boolean | undefined; storage?: string | undefined; baseline: boolean; image: { width: number; height: number } };
  baselines: Baselines | undefined;
  runs: RunReport[];
  sweep: SweepPoint[];
  targets: TargetResult[];
}
