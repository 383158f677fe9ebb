import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRealFastdfs } from '@avatar/fastdfs/testing';
import { REPORT_SCHEMA, type LoadTestReport } from '../src/report/report-types.js';
import { commandForScript, readRootScripts, REPO_ROOT } from '../src/system/node-command.js';

/**
 * `pnpm loadtest` end to end, as a child process started from the root script line: its own
 * system (API, one worker, storage, database, Redis prefix; the roles compiled, after the
 * tool's own `pnpm build`), both baselines, a handful of uploads through the throughput and the
 * drain scenarios. It checks that the tool runs and that its report is well formed; it asserts
 * no timing (speed is what the tool prints, not what a test decides).
 */
/** Runs `pnpm loadtest …` as the root script line says, to its end: its exit code and everything it printed. */
async function runLoadtest(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const command = commandForScript(await readRootScripts(), 'loadtest', args);
  return new Promise((resolve) => {
    const child = spawn(command.file, command.args, { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('pnpm loadtest', () => {
  let out: string;
  let exit: { code: number | null; output: string };

  beforeAll(async () => {
    out = await mkdtemp(path.join(tmpdir(), 'loadtest-e2e-'));
    exit = await runLoadtest(['--scenario', 'throughput,drain', '--uploads', '6', '--concurrency', '2', '--workers', '1', '--distinct', '2', '--image', '800x600', '--baseline', '--baseline-seconds', '1', '--out', out]);
  }, 240_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs a small scenario to the end and prints PASS/MISS per target', () => {
    // by default the roles run as the image runs them: built first, then plain node on dist/
    expect(exit.output).toMatch(/^pnpm build \(the API and workers run compiled/m);
    expect(exit.output).toMatch(/targets\n/);
    expect(exit.output).toMatch(/(PASS|MISS) {2}zero errors/);
    expect(exit.code, exit.output).toBe(0);
  });

  it('writes report.json with every figure, each baseline and each ratio', async () => {
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as LoadTestReport;
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(report.options.compiled).toBe(true);
    expect(report.machine).toMatchObject({ cores: expect.any(Number), cpuModel: expect.any(String), ramGiB: expect.any(Number), node: process.version });
    expect(report.runs.map((r) => r.scenario)).toEqual(['throughput', 'drain']);
    const [run, drain] = report.runs;
    expect(run).toMatchObject({ scenario: 'throughput', workers: 1, load: { kind: 'closed', concurrency: 2, uploads: 6 } });
    const f = run?.figures;
    // valid photos only: every one accepted and rendered, no error of any kind
    expect(f).toMatchObject({ sent: 6, accepted: 6, completed: 6, unfinished: 0, errors: { total: 0, byStatusAndCode: [] } });
    for (const key of ['acceptedPerSecond', 'completedPerSecond'] as const) expect(f?.[key]).toBeGreaterThan(0);
    for (const summary of [f?.acceptMs, f?.endToEndMs]) expect(summary).toMatchObject({ count: 6, p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) });
    expect(f?.endToEndQuantiles.length).toBeGreaterThan(100);
    // the machine last: every core's busy time, at least what the busiest of our processes used
    expect(run?.processes.map((p) => p.name)).toEqual(['loadtest', 'api', 'worker-1', 'storage', 'machine']);
    for (const p of run?.processes ?? []) expect(p.peakRssMb).toBeGreaterThan(10);
    const machine = run?.processes.at(-1);
    expect(machine?.cpuSeconds).toBeGreaterThanOrEqual(Math.max(...(run?.processes.slice(0, -1) ?? []).map((p) => p.cpuSeconds)) * 0.9);
    expect(report.options.storage).toMatch(/^embedded dev server/);

    expect(report.baselines?.rawSharp.levels.map((l) => l.inFlight)).toEqual([1, 2, 4, 8]);
    expect(report.baselines?.rawSharp.best.setsPerSecond).toBeGreaterThan(0);
    expect(report.baselines?.rawSharp.processes[0]?.name).toBe('raw-sharp');
    expect(report.baselines?.rawSharp.niceness).toBe(10);
    expect(report.baselines?.bareHandler.map((b) => b.scenario)).toEqual(['throughput', 'drain']);
    for (const bare of report.baselines?.bareHandler ?? []) expect(bare.figures).toMatchObject({ sent: 6, accepted: 6, errors: { total: 0 } });
    expect(run?.ratios).toMatchObject({ completedPerSecond: expect.any(Number), acceptedPerSecond: expect.any(Number), acceptP99: expect.any(Number) });

    // drain: accepted with no worker, then one worker alone; its window and figures from the run's database
    expect(drain).toMatchObject({ workers: 1, load: { kind: 'closed', concurrency: 2, uploads: 6 } });
    // --uploads given: the count bounds the accept phase, not drain's 10 s
    expect(drain?.load).not.toHaveProperty('durationSeconds');
    expect(drain?.figures).toMatchObject({ sent: 6, accepted: 6, completed: 6, unfinished: 0, errors: { total: 0 }, endToEndMs: { count: 0 } });
    expect(drain?.figures.acceptMs.count).toBe(6);
    expect(drain?.drain).toMatchObject({ terminal: 6, done: 6, firstProcessingAtSecond: expect.any(Number), lastTerminalAtSecond: expect.any(Number) });
    expect(drain?.drain?.completedPerSecond).toBeGreaterThan(0);
    expect(drain?.drain?.completedPerSecond).toBe(drain?.figures.completedPerSecond);
    // the first render starts only after the worker was started, which is after the last upload was answered
    expect(drain?.drain?.firstProcessingAtSecond).toBeGreaterThanOrEqual(drain?.drain?.workersStartedAtSecond as number);
    expect(drain?.drain?.workersStartedAtSecond).toBeGreaterThanOrEqual((drain?.figures.sendSeconds as number) - 0.001);
    expect(drain?.processes.map((p) => p.name).sort()).toEqual(['api', 'loadtest', 'machine', 'storage', 'worker-1']);
    expect(drain?.drain?.processes.map((p) => p.name)).toContain('worker-1');
    expect(drain?.ratios).toMatchObject({ completedPerSecond: expect.any(Number), acceptedPerSecond: expect.any(Number), acceptP99: expect.any(Number) });

    // the sweep and the pool and accept targets read the drain run
    expect(report.sweep).toEqual([expect.objectContaining({ scenario: 'drain', workers: 1, ratioToRawSharp: expect.any(Number) })]);
    const pool = report.targets.filter((t) => t.id !== 'zero-errors');
    expect(pool.map((t) => t.id).sort()).toEqual(['accept-p99-vs-bare-handler', 'accepted-vs-bare-handler', 'completed-vs-raw-sharp']);
    expect(new Set(pool.map((t) => t.run))).toEqual(new Set([drain?.label]));
    expect(report.targets.filter((t) => t.id === 'zero-errors')).toHaveLength(2);
    for (const t of report.targets) expect(['PASS', 'MISS']).toContain(t.status);
  });

  it('writes report.html as one file that loads nothing from the network', async () => {
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg class="chart"/g)?.length).toBeGreaterThanOrEqual(5); // two timelines, two distributions, the sweep
    expect(html).toContain('Worker sweep — drain completed sets/s');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import|https?:\/\//i);
  });
});

/**
 * `--fastdfs real`: the system stores to a real FastDFS 6 that the tool starts and measures.
 * Skipped, saying why, without the launcher, except under CI (where it must run).
 */
describe.skipIf(!findRealFastdfs() && !process.env.CI)('pnpm loadtest --fastdfs real', () => {
  let out: string;
  let exit: { code: number | null; output: string };

  beforeAll(async () => {
    out = await mkdtemp(path.join(tmpdir(), 'loadtest-e2e-real-'));
    exit = await runLoadtest(['--scenario', 'light', '--uploads', '3', '--distinct', '1', '--image', '800x600', '--fastdfs', 'real', '--out', out]);
  }, 240_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('takes every upload to done through the real tracker and storage, and measures both', async () => {
    expect(exit.code, exit.output).toBe(0);
    expect(exit.output).toMatch(/storage: real FastDFS \(fdfs_trackerd \+ fdfs_storaged at 127\.0\.0\.2:\d+\)/);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as LoadTestReport;
    expect(report.options.storage).toMatch(/^real FastDFS/);
    const [light] = report.runs;
    expect(light?.figures).toMatchObject({ sent: 3, accepted: 3, completed: 3, unfinished: 0, errors: { total: 0 } });
    // the C daemons in place of the dev server, each with its own pid
    expect(light?.processes.map((p) => p.name)).toEqual(['loadtest', 'api', 'worker-1', 'fdfs-tracker', 'fdfs-storage', 'machine']);
    const daemons = light?.processes.filter((p) => p.name.startsWith('fdfs-')) ?? [];
    expect(new Set(daemons.map((p) => p.pid)).size).toBe(2);
    for (const daemon of daemons) expect(daemon.peakRssMb).toBeGreaterThan(0);
  });
});
