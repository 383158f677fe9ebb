import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_UPLOADS } from '../../src/load/apply-load.js';
import { parseCommand, type Plan } from '../../src/options.js';
import { commandForEntry, commandForScript, compiledCommandForScript, parseNodeScript } from '../../src/system/node-command.js';

const plan = (...argv: string[]): Plan => {
  const parsed = parseCommand(argv);
  if (parsed.kind !== 'run') throw new Error('expected a run');
  return parsed.plan;
};

describe('load test options', () => {
  it('gives each scenario its preset and the worker sweep to throughput and drain only', () => {
    const p = plan('--scenario', 'all', '--workers', '1,2,4');
    expect(p.scenarios.map((s) => s.name)).toEqual(['throughput', 'drain', 'light', 'big-files', 'soak']);
    const [throughput, drain, light, big, soak] = p.scenarios;
    expect(throughput).toMatchObject({ shape: { kind: 'closed', concurrency: 16, uploads: 300 }, workerCounts: [1, 2, 4], large: false });
    // drain accepts for 10 s, as the issue measured the accept path, with a cap on what the pool then drains
    expect(drain).toMatchObject({ shape: { kind: 'closed', concurrency: 16, uploads: 3000, durationSeconds: 10, waitForFinish: false }, workerCounts: [1, 2, 4], large: false });
    expect(throughput?.shape).toMatchObject({ durationSeconds: undefined });
    expect(light).toMatchObject({ shape: { kind: 'closed', concurrency: 1, uploads: 30, waitForFinish: true }, workerCounts: [1] });
    expect(big).toMatchObject({ shape: { kind: 'closed', concurrency: 64, uploads: 128 }, large: true });
    expect(soak).toMatchObject({ shape: { kind: 'closed', concurrency: 16, uploads: 5000 } });
    expect(soak?.timeoutSeconds).toBeGreaterThan(1000);
  });

  it("lets --uploads or --duration replace drain's 10 s", () => {
    expect(plan('--scenario', 'drain', '--uploads', '60').scenarios[0]?.shape).toMatchObject({ uploads: 60, durationSeconds: undefined });
    expect(plan('--scenario', 'drain', '--duration', '5').scenarios[0]?.shape).toMatchObject({ uploads: 100_000, durationSeconds: 5 });
  });

  it('keeps light at one upload at a time and bounds a duration-only loop by time and MAX_UPLOADS', () => {
    const p = plan('--scenario', 'light,soak', '--uploads', '40', '--concurrency', '8');
    expect(p.scenarios[0]?.shape).toMatchObject({ concurrency: 1, uploads: 40 });
    expect(p.scenarios[1]?.shape).toMatchObject({ concurrency: 8, uploads: 40 });
    expect(plan('--duration', '20').scenarios[0]?.shape).toEqual({ kind: 'closed', concurrency: 16, uploads: MAX_UPLOADS, durationSeconds: 20, waitForFinish: false });
  });

  it('makes throughput an open loop with --rate', () => {
    expect(plan('--rate', '20', '--duration', '15').scenarios[0]?.shape).toEqual({ kind: 'open', ratePerSecond: 20, durationSeconds: 15, maxInFlight: 256 });
    expect(() => plan('--scenario', 'soak', '--rate', '20')).toThrow(/--rate/);
  });

  it('sends load only to loopback addresses and refuses unbounded or unknown values', () => {
    expect(plan('--url', 'http://127.0.0.1:3000').url?.origin).toBe('http://127.0.0.1:3000');
    expect(plan('--url', 'http://localhost:3000').url?.hostname).toBe('localhost');
    expect(plan('--url', 'http://[::1]:3000').url?.hostname).toBe('[::1]');
    expect(() => plan('--url', 'http://10.0.0.5:3000')).toThrow(/loopback/);
    expect(() => plan('--url', 'http://127.0.0.1.example.com/')).toThrow(/loopback/);
    expect(() => plan('--url', 'http://127.0.0.1:3000', '--workers', '2')).toThrow(/--workers/);
    // drain starts the workers itself: not against a running system, and `all` leaves it out there
    expect(() => plan('--url', 'http://127.0.0.1:3000', '--scenario', 'drain')).toThrow(/drain/);
    expect(plan('--url', 'http://127.0.0.1:3000', '--scenario', 'all').scenarios.map((s) => s.name)).not.toContain('drain');
    expect(() => plan('--uploads', String(MAX_UPLOADS + 1))).toThrow(/--uploads/);
    expect(() => plan('--concurrency', '0')).toThrow(/--concurrency/);
    expect(() => plan('--rate', '100000')).toThrow(/--rate/);
    expect(() => plan('--scenario', 'nope')).toThrow(/unknown "nope"/);
    expect(() => plan('--bogus')).toThrow();
    expect(parseCommand(['--help'])).toEqual({ kind: 'help' });
  });

  it('stores to the dev server unless --fastdfs names a real FastDFS to start or trackers on this machine', () => {
    expect(plan().fastdfs).toEqual({ kind: 'dev' });
    expect(plan('--fastdfs', 'dev').fastdfs).toEqual({ kind: 'dev' });
    expect(plan('--fastdfs', 'real').fastdfs).toEqual({ kind: 'real' });
    expect(plan('--fastdfs', '127.0.0.2:22122, localhost:22123').fastdfs).toEqual({ kind: 'trackers', trackers: '127.0.0.2:22122,localhost:22123' });
    // load goes to this machine only, and a running system at --url has its own storage
    expect(() => plan('--fastdfs', '10.0.0.7:22122')).toThrow(/loopback/);
    expect(() => plan('--fastdfs', '127.0.0.1')).toThrow(/host:port/);
    expect(() => plan('--fastdfs', '127.0.0.1:99999')).toThrow(/host:port/);
    expect(() => plan('--url', 'http://127.0.0.1:3000', '--fastdfs', 'real')).toThrow(/--url has its own/);
  });

  it('runs the roles compiled, as the image does, unless --source; --compiled is the default spelled out', () => {
    expect(plan().compiled).toBe(true);
    expect(plan('--compiled').compiled).toBe(true);
    expect(plan('--source').compiled).toBe(false);
    expect(() => plan('--source', '--compiled')).toThrow(/--source and --compiled/);
  });
});

describe('spawning the system from the root package.json scripts', () => {
  it('reads the node flags and entry of a script', () => {
    expect(parseNodeScript('exec node --conditions=source --import tsx packages/api/src/start/api.ts')).toEqual({
      nodeArgs: ['--conditions=source', '--import', 'tsx'],
      entry: 'packages/api/src/start/api.ts',
      args: [],
    });
    expect(parseNodeScript('node -C source --import tsx a.ts --x 1')).toEqual({ nodeArgs: ['-C', 'source', '--import', 'tsx'], entry: 'a.ts', args: ['--x', '1'] });
    expect(() => parseNodeScript('tsx a.ts')).toThrow(/does not run node/);
    expect(() => parseNodeScript('node a.ts && rm -rf /')).toThrow(/plain/);
  });

  it('starts its own entries with the same node flags as the API', () => {
    const scripts = { 'start:api': 'exec node --conditions=source --import tsx packages/api/src/start/api.ts' };
    expect(commandForScript(scripts, 'start:api').args.slice(0, 3)).toEqual(['--conditions=source', '--import', 'tsx']);
    expect(commandForScript(scripts, 'start:api').args[3]).toMatch(/packages\/api\/src\/start\/api\.ts$/);
    expect(commandForEntry(scripts, '/x/raw-sharp-process.ts').args).toEqual(['--conditions=source', '--import', 'tsx', '/x/raw-sharp-process.ts']);
    expect(() => commandForScript(scripts, 'start:worker')).toThrow(/no "start:worker"/);
  });

  it('runs a role compiled, as the image does: plain node on its dist/ entry, once built', () => {
    const scripts = { 'start:api': 'exec node --conditions=source --import tsx packages/api/src/start/api.ts', odd: 'node scripts/x.ts' };
    const built = mkdtempSync(path.join(tmpdir(), 'compiled-'));
    mkdirSync(path.join(built, 'packages/api/dist/start'), { recursive: true });
    writeFileSync(path.join(built, 'packages/api/dist/start/api.js'), '');
    expect(compiledCommandForScript(scripts, 'start:api', built).args).toEqual([path.join(built, 'packages/api/dist/start/api.js')]);
    rmSync(built, { recursive: true });
    expect(() => compiledCommandForScript(scripts, 'start:api', built)).toThrow(/pnpm build. did not write it/);
    expect(() => compiledCommandForScript(scripts, 'odd', built)).toThrow(/no compiled counterpart/);
  });
});
