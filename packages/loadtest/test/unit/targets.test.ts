import { describe, expect, it } from 'vitest';
import { rssGrowthByJobs } from '../../src/measure/rss-growth.js';
import type { ProcessSample } from '../../src/measure/process-sampler.js';
import type { UploadOutcome } from '../../src/measure/upload-outcomes.js';
import { computeDrainFigures } from '../../src/report/figures.js';
import { renderReportHtml } from '../../src/report/report-html.js';
import type { UploadRecord } from '../../src/run-load-test.js';
import { REPORT_SCHEMA, type Baselines, type LoadTestReport, type RunFigures, type RunReport } from '../../src/report/report-types.js';
import { evaluateTargets, ratiosFor, targetScenario } from '../../src/report/targets.js';
import { summarize } from '../../src/stats.js';

const figures = (over: Partial<RunFigures>): RunFigures => ({
  sent: 100,
  accepted: 100,
  acceptedPerSecond: 50,
  sendSeconds: 2,
  acceptMs: summarize([10, 20, 30]),
  endToEndMs: summarize([100, 200, 300]),
  completed: 100,
  completedPerSecond: 17,
  finished: { done: 100 },
  unfinished: 0,
  errors: { total: 0, byStatusAndCode: [] },
  timeline: { accepted: [50, 50], completed: [17, 17] },
  acceptQuantiles: [[0, 10], [50, 20], [99, 30], [100, 30]],
  endToEndQuantiles: [[0, 100], [50, 200], [99, 300], [100, 300]],
  ...over,
});

const run = (over: Partial<RunReport>): RunReport => ({
  id: 'throughput-w1',
  scenario: 'throughput',
  label: 'throughput · 1 worker',
  workers: 1,
  load: { kind: 'closed', concurrency: 16, uploads: 100, durationSeconds: undefined, waitForFinish: false },
  file: { width: 1600, height: 1200, averageBytes: 600_000 },
  seconds: 10,
  figures: figures({}),
  processes: [{ name: 'api', pid: 1, peakRssMb: 150, cpuSeconds: 1, cpuPercent: 10, rss: [[0, 100], [1, 150]] }],
  ratios: {},
  ...over,
});

const baselines: Baselines = {
  rawSharp: { levels: [{ inFlight: 1, sets: 10, seconds: 1, setsPerSecond: 10, setMs: summarize([100]) }], best: { inFlight: 2, setsPerSecond: 20 }, singleSetMs: summarize([100]), threadpoolSize: 4, niceness: 10, sharpVersion: 'x', processes: [] },
  bareHandler: [
    { scenario: 'throughput', load: { kind: 'closed', concurrency: 16, uploads: 100, durationSeconds: undefined, waitForFinish: false }, figures: figures({ acceptedPerSecond: 60, acceptMs: summarize([5, 10, 20]) }), processes: [] },
    { scenario: 'drain', load: { kind: 'closed', concurrency: 16, uploads: 100, durationSeconds: undefined, waitForFinish: false }, figures: figures({ acceptedPerSecond: 80, acceptMs: summarize([5, 10, 20]) }), processes: [] },
  ],
};

describe('targets', () => {
  it('divides each figure by its limit and judges it against the issue’s factor', () => {
    const r = run({});
    expect(ratiosFor(r, baselines)).toEqual({ completedPerSecond: 17 / 20, acceptedPerSecond: 50 / 60, acceptP99: 30 / 20, endToEndP50: undefined });
    const byId = Object.fromEntries(evaluateTargets([r], baselines).map((t) => [t.id, t]));
    expect(byId['completed-vs-raw-sharp']).toMatchObject({ status: 'PASS', measured: 17, limit: 20 });
    expect(byId['accepted-vs-bare-handler']?.status).toBe('PASS');
    expect(byId['accept-p99-vs-bare-handler']?.status).toBe('PASS');
    expect(byId['zero-errors']?.status).toBe('PASS');
    const slow = evaluateTargets([run({ figures: figures({ completedPerSecond: 16, acceptMs: summarize([50]), errors: { total: 1, byStatusAndCode: [{ status: '503', code: 'x', count: 1 }] } }) })], baselines);
    expect(slow.filter((t) => t.status === 'MISS').map((t) => t.id)).toEqual(['completed-vs-raw-sharp', 'accept-p99-vs-bare-handler', 'zero-errors']);
  });

  it('reads the pool and accept targets from the drain runs when there are any, the throughput runs (noted as mixed load) when not', () => {
    const mixed = run({ figures: figures({ completedPerSecond: 9, acceptedPerSecond: 30 }) });
    const drain = run({ id: 'drain-w1', scenario: 'drain', label: 'drain · 1 worker', figures: figures({ completedPerSecond: 18, acceptedPerSecond: 60 }) });
    expect(targetScenario([mixed, drain])).toBe('drain');
    const both = evaluateTargets([mixed, drain], baselines).filter((t) => t.id !== 'zero-errors');
    expect(both.map((t) => t.run)).toEqual(['drain · 1 worker', 'drain · 1 worker', 'drain · 1 worker']);
    // the drain run's accept phase against the bare handler run for drain (80/s), its pool against raw sharp (20/s)
    expect(Object.fromEntries(both.map((t) => [t.id, [t.status, t.ratio]]))).toEqual({
      'completed-vs-raw-sharp': ['PASS', 18 / 20],
      'accepted-vs-bare-handler': ['MISS', 60 / 80],
      'accept-p99-vs-bare-handler': ['PASS', 30 / 20],
    });
    expect(both.every((t) => t.note === undefined)).toBe(true);
    // the mixed run still shows its ratio, but judges nothing
    expect(ratiosFor(mixed, baselines).completedPerSecond).toBe(9 / 20);
    const alone = evaluateTargets([mixed], baselines).find((t) => t.id === 'completed-vs-raw-sharp');
    expect(alone).toMatchObject({ run: 'throughput · 1 worker', status: 'MISS', note: expect.stringMatching(/mixed load.*--scenario drain/) });
  });

  it('says n/a, with why, where a limit was not measured', () => {
    const targets = evaluateTargets([run({})], undefined);
    expect(targets.find((t) => t.id === 'completed-vs-raw-sharp')).toMatchObject({ status: 'n/a', note: expect.stringMatching(/--baseline/) });
    const external = evaluateTargets([run({ scenario: 'big-files', processes: [] })], undefined);
    expect(external.find((t) => t.id === 'big-files-api-rss')?.status).toBe('n/a');
  });

  it('judges light load, big files and the soak on their own runs', () => {
    const light = run({ scenario: 'light', load: { kind: 'closed', concurrency: 1, uploads: 30, durationSeconds: undefined, waitForFinish: true }, figures: figures({ endToEndMs: summarize([140, 160]) }) });
    expect(evaluateTargets([light], baselines).find((t) => t.id === 'light-end-to-end-vs-raw-set')).toMatchObject({ status: 'PASS', ratio: 1.4 });
    const big = run({ scenario: 'big-files', processes: [{ name: 'api', pid: 1, peakRssMb: 230, cpuSeconds: 1, cpuPercent: 1, rss: [] }] });
    expect(evaluateTargets([big], undefined).find((t) => t.id === 'big-files-api-rss')).toMatchObject({ status: 'MISS', measured: 230 });
    const soak = run({ scenario: 'soak', rssGrowth: [{ process: 'worker-1', windowJobs: 1000, firstMedianRssMb: 200, lastMedianRssMb: 230, growth: 0.15 }] });
    expect(evaluateTargets([soak], undefined).find((t) => t.id === 'soak-worker-rss-growth')).toMatchObject({ status: 'PASS', measured: 0.15 });
  });
});

describe('drain figures', () => {
  const record = (index: number, uploadId: string | undefined, httpStatus = 202): UploadRecord => ({
    index,
    userId: index + 1,
    sentAt: index * 10,
    answeredAt: index * 10 + 5,
    httpStatus,
    errorCode: undefined,
    uploadId,
    finishedAt: undefined,
    finalStatus: undefined,
    finalErrorCode: undefined,
  });
  const started = 1_000_000;
  const outcome = (id: string, status: string, processing: number | undefined, terminal: number | undefined, errorCode?: string): UploadOutcome => ({
    id,
    status,
    errorCode,
    firstProcessingAtWallMs: processing === undefined ? undefined : started + processing,
    terminalAtWallMs: terminal === undefined ? undefined : started + terminal,
  });

  it('counts completed/s from the first processing event to the last terminal one, and each outcome as the database tells it', () => {
    const records = [record(0, 'a'), record(1, 'b'), record(2, 'c'), record(3, 'd'), record(4, undefined, 503)];
    const outcomes = [outcome('a', 'done', 2000, 2500), outcome('b', 'done', 2100, 3000), outcome('c', 'failed', 2200, 3500, 'image_undecodable'), outcome('d', 'processing', 2300, undefined)];
    const { figures: f, drain } = computeDrainFigures(records, outcomes, started, 1900, []);
    expect(drain).toMatchObject({ workersStartedAtSecond: 1.9, firstProcessingAtSecond: 2, lastTerminalAtSecond: 3.5, seconds: 1.5, terminal: 3, done: 2 });
    expect(f.completed).toBe(2);
    expect(f.completedPerSecond).toBeCloseTo(2 / 1.5, 10);
    expect(drain.completedPerSecond).toBe(f.completedPerSecond);
    expect(f.finished).toEqual({ done: 2, failed: 1 });
    expect(f.unfinished).toBe(1);
    expect(f.errors.byStatusAndCode).toEqual(
      expect.arrayContaining([
        { status: '503', code: 'no_code', count: 1 },
        { status: 'failed', code: 'image_undecodable', count: 1 },
        { status: 'unfinished', code: 'no_terminal_event', count: 1 },
      ]),
    );
    // the accept phase is the records' own: 4 of 5 accepted between the first send and the last answer
    expect(f.accepted).toBe(4);
    expect(f.acceptedPerSecond).toBeCloseTo(4 / 0.045, 6);
    // POST → done would time the wait for the workers: left out
    expect(f.endToEndMs.count).toBe(0);
  });

  it('has no window, and no rate, when nothing was processed', () => {
    const { figures: f, drain } = computeDrainFigures([record(0, 'a')], [outcome('a', 'queued', undefined, undefined)], started, 100, []);
    expect(drain).toMatchObject({ seconds: 0, terminal: 0, done: 0, completedPerSecond: 0, firstProcessingAtSecond: undefined });
    expect(f.unfinished).toBe(1);
  });
});

describe('worker RSS growth in a soak', () => {
  it('compares the median RSS while the first and the last window of jobs completed', () => {
    // one job done every 10 ms; RSS 100 MB for the first half, 130 MB after
    const doneTimes = Array.from({ length: 100 }, (_, i) => i * 10 + 5);
    const samples: ProcessSample[] = Array.from({ length: 100 }, (_, i) => ({ t: i * 10, rssBytes: (i < 50 ? 100 : 130) * 1024 * 1024, cpuMs: i }));
    const growth = rssGrowthByJobs('worker-1', samples, doneTimes);
    expect(growth.windowJobs).toBe(20);
    expect(growth.firstMedianRssMb).toBe(100);
    expect(growth.lastMedianRssMb).toBe(130);
    expect(growth.growth).toBeCloseTo(0.3, 5);
    expect(rssGrowthByJobs('w', samples, []).growth).toBeUndefined();
  });
});

describe('the HTML report', () => {
  it('is one self-contained page with its charts inline and every text escaped', () => {
    const report: LoadTestReport = {
      schema: REPORT_SCHEMA,
      generatedAt: '2025-01-01T00:00:00.000Z',
      command: 'pnpm loadtest --out <x>',
      machine: { cpuModel: 'cpu', cores: 2, ramGiB: 24, node: 'v20', platform: 'Linux', loadAverageAtStart: [0, 0, 0] },
      target: 'own system',
      options: { scenarios: ['throughput'], workers: [1, 2], workerConcurrency: 4, baseline: true, image: { width: 1600, height: 1200 } },
      baselines,
      runs: [run({}), run({ id: 'throughput-w2', label: 'throughput · 2 workers', workers: 2 })],
      sweep: [
        { scenario: 'throughput', workers: 1, completedPerSecond: 17, acceptedPerSecond: 50, ratioToRawSharp: 0.85 },
        { scenario: 'throughput', workers: 2, completedPerSecond: 18, acceptedPerSecond: 50, ratioToRawSharp: 0.9 },
      ],
      targets: evaluateTargets([run({})], baselines),
    };
    const html = renderReportHtml(report);
    expect(html).toContain('&lt;x&gt;');
    expect(html).not.toContain('<x>');
    expect(html.match(/<svg class="chart"/g)?.length).toBe(5); // 2 timelines, 2 distributions, the sweep
    expect(html).toMatch(/<path class="series" d="M[\d.,LMHVZ-]+"/);
    expect(html).not.toMatch(/<script|<link|<img|\bsrc=|\bhref=|url\(|@import|https?:\/\//i);

    const drainRun = run({
      id: 'drain-w1',
      scenario: 'drain',
      label: 'drain · 1 worker',
      drain: { workersStartedAtSecond: 3, firstProcessingAtSecond: 3.5, lastTerminalAtSecond: 9.5, seconds: 6, terminal: 100, done: 100, completedPerSecond: 16.7, processes: [] },
    });
    const withDrain = renderReportHtml({ ...report, runs: [...report.runs, drainRun], sweep: [{ scenario: 'drain', workers: 1, completedPerSecond: 16.7, acceptedPerSecond: 50, ratioToRawSharp: 0.83 }] });
    expect(withDrain).toContain('Worker sweep — drain completed sets/s');
    expect(withDrain).toContain('Drain: the worker pool alone');
  });
});
