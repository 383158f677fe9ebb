import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { SAME_REQUEST_WINDOW_MS } from '@avatar/shared';
import { afterEach, expect, it } from 'vitest';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { killHard, startEntry, startProcess, waitFor, type ChildProcessHandle } from './support/processes.js';
import { sendUpload, smallJpegs } from './support/uploads.js';

// `pnpm start` (scripts/start-all.ts) as a real process: its own group, database, Redis prefix,
// ports and folders from the fault system, with the embedded FastDFS dev server inside it.

let system: FaultSystem | undefined;
let supervisor: ChildProcessHandle | undefined;
afterEach(async () => {
  await killHard(supervisor);
  supervisor = undefined;
  await system?.cleanup();
  system = undefined;
});

interface LogLine {
  label: string;
  text: string;
  json: { msg?: string; signal?: string; trigger?: string; child?: string; pids?: Record<string, number> } | undefined;
}

/** The supervisor's output as labelled lines (`api        | {...}`); the banner and pnpm's lines have no label. */
async function labelledLines(handle: ChildProcessHandle): Promise<LogLine[]> {
  return (await handle.log()).split('\n').flatMap((line) => {
    const match = /^(\w+) +\| (.*)$/.exec(line);
    if (!match) return [];
    const [, label = '', text = ''] = match;
    let json: LogLine['json'];
    try {
      json = JSON.parse(text) as LogLine['json'];
    } catch {
      json = undefined;
    }
    return [{ label, text, json }];
  });
}

const messages = (lines: LogLine[], label: string, msg: string): LogLine[] => lines.filter((l) => l.label === label && l.json?.msg === msg);

/** Signals further apart than this are separate requests to stop (one Ctrl-C arrives twice under pnpm). */
const pauseBeyondWindow = (): Promise<void> => new Promise((r) => setTimeout(r, SAME_REQUEST_WINDOW_MS + 200));

/**
 * Starts `node --conditions=source --import tsx scripts/start-all.ts` (what `pnpm start` runs), or with `via: 'pnpm'`
 * `pnpm start` itself (pnpm leads the group and forwards signals), and waits for its banner and readiness.
 */
async function startSupervisor(s: FaultSystem, via: 'node' | 'pnpm' = 'node'): Promise<ChildProcessHandle> {
  // no FDFS_TRACKERS: the supervisor runs the embedded dev server on the FDFS_DEV_* ports
  const { FDFS_TRACKERS: _trackers, FDFS_PUBLIC_URL: _publicUrl, ...env } = s.env;
  const logFile = path.join(s.root, 'logs', 'supervisor.log');
  const handle =
    via === 'node'
      ? startEntry('supervisor', 'scripts/start-all.ts', env, logFile)
      : startProcess('pnpm start', 'pnpm', ['start'], { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, logFile);
  supervisor = handle;
  await waitFor('pnpm start to be ready', 60_000, async () => {
    if (!handle.isRunning()) throw new Error(`pnpm start exited: ${(await handle.log()).slice(-2000)}`);
    if (!(await handle.log()).includes('Demo users')) return false;
    const response = await fetch(`${s.apiUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200;
  });
  return handle;
}

/** The pids of the API and worker children, as the supervisor logged them. */
async function childPids(handle: ChildProcessHandle): Promise<Record<string, number>> {
  const started = messages(await labelledLines(handle), 'supervisor', 'processes started')[0];
  return started?.json?.pids ?? {};
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every process of the group `pgid` leads has gone. A moment is allowed: tsx's esbuild helper
 * processes end by themselves once their parent's pipe closes. Lists any that stay.
 */
async function expectGroupGone(pgid: number): Promise<void> {
  const gone = await waitFor('the process group to empty', 3_000, async () => !isAlive(-pgid), 50).catch(() => false);
  const left = gone ? '' : execFileSync('ps', ['-o', 'pid,stat,args', '-g', String(pgid)], { encoding: 'utf8' });
  expect(left).toBe('');
}

/**
 * The supervisor's order: each child told to stop once (by it, not by the group's signal), and
 * the worker only once the API has exited.
 */
function expectStoppedOnceInOrder(lines: LogLine[]): void {
  for (const name of ['api', 'worker'] as const) {
    expect(messages(lines, name, `${name} stopping`).map((l) => l.json?.trigger)).toEqual(['supervisor']);
    expect(messages(lines, 'supervisor', 'child stopped').filter((l) => l.json?.child === name)).toHaveLength(1);
  }
  const apiStopped = lines.findIndex((l) => l.label === 'supervisor' && l.json?.msg === 'child stopped' && l.json.child === 'api');
  const workerStopping = lines.findIndex((l) => l.label === 'worker' && l.json?.msg === 'worker stopping');
  expect(apiStopped).toBeGreaterThanOrEqual(0);
  expect(workerStopping).toBeGreaterThan(apiStopped);
}

/** A POST whose body stops half-way and stays open: the API's drain waits for it. */
async function holdUploadOpen(apiUrl: string, token: string): Promise<net.Socket> {
  const { port } = new URL(apiUrl);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const boundary = 'held-open-boundary';
  const [jpeg] = await smallJpegs(1);
  socket.write(
    `POST /v1/users/1/avatar HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
  );
  socket.write((jpeg as Buffer).subarray(0, 2_000));
  return socket;
}

it('under pnpm start, an upload is accepted within 1 s while the worker renders large images; a process-group SIGTERM then stops everything cleanly', async () => {
  system = await createFaultSystem({ users: 30, env: { AVATAR_SIZES: '512,256,128,64', SHUTDOWN_GRACE_MS: '20000' } });
  const s = system;
  const handle = await startSupervisor(s);
  const pids = await childPids(handle);
  expect(Object.keys(pids).sort()).toEqual(['api', 'worker']);

  // 49 megapixels each (just under MAX_INPUT_PIXELS): PNG has no shrink-on-load, so every job decodes it all
  const large = await sharp({ create: { width: 7000, height: 7000, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
  const heavyResults = await Promise.all(Array.from({ length: 24 }, (_, i) => sendUpload(s.apiUrl, 1 + i, s.token(1 + i), large, 60_000)));
  await waitFor('the worker busy with 4 large images', 60_000, async () => (await s.jobCounts()).active >= 4, 20);

  const small = await smallJpegs(5);
  const normal = [];
  for (const [i, image] of small.entries()) normal.push(await sendUpload(s.apiUrl, 25 + i, s.token(25 + i), image, 30_000));
  const activeAfter = (await s.jobCounts()).active;
  process.stdout.write(`[supervisor] normal uploads accepted in ${normal.map((r) => `${r.ms} ms`).join(', ')} with ${activeAfter} jobs still active\n`);

  expect(heavyResults.every((r) => r.kind === 'accepted')).toBe(true);
  expect(normal.map((r) => r.kind)).toEqual(Array(5).fill('accepted'));
  // the bound the issue asks for: the API answers while sharp keeps the worker's threads busy
  expect(Math.max(...normal.map((r) => r.ms))).toBeLessThan(1_000);
  // the worker was still busy after the last measured upload, so every one of them met the load
  expect(activeAfter).toBeGreaterThan(0);

  // as a terminal's Ctrl-C does (with SIGINT): the supervisor and both children get it at once
  handle.signal('SIGTERM');
  const exit = await handle.waitForExit(90_000);
  expect(exit).toEqual({ code: 0, signal: null });
  await expectGroupGone(handle.pid);

  const lines = await labelledLines(handle);
  // the group's signal reached the children too; they left it to the supervisor, which kept its order
  expectStoppedOnceInOrder(lines);
  expect(lines.some((l) => l.text.includes('forced'))).toBe(false);
  // every labelled line of a process is its pino JSON line, intact
  for (const label of ['supervisor', 'api', 'worker']) {
    const own = lines.filter((l) => l.label === label);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((l) => l.json !== undefined)).toBe(true);
  }
}, 240_000);

it('SIGINT to the supervisor alone stops the API first, then the worker, each told once, and exits 0 with no process left', async () => {
  system = await createFaultSystem({ users: 3 });
  const handle = await startSupervisor(system);
  const pids = await childPids(handle);

  process.kill(handle.pid, 'SIGINT');
  const exit = await handle.waitForExit(60_000);
  expect(exit).toEqual({ code: 0, signal: null });
  await expectGroupGone(handle.pid);
  expect(Object.values(pids).filter(isAlive)).toEqual([]);

  expectStoppedOnceInOrder(await labelledLines(handle));
}, 120_000);

it('pnpm start, one SIGINT to its whole process group (a terminal Ctrl-C): the API stops, then the worker, pnpm exits 0 and nothing is left', async () => {
  system = await createFaultSystem({ users: 3 });
  const handle = await startSupervisor(system, 'pnpm');
  const pids = await childPids(handle);
  expect(Object.keys(pids).sort()).toEqual(['api', 'worker']);

  handle.signal('SIGINT');
  const exit = await handle.waitForExit(60_000);
  expect(exit).toEqual({ code: 0, signal: null });
  await expectGroupGone(handle.pid);
  expect(Object.values(pids).filter(isAlive)).toEqual([]);

  const log = await handle.log();
  expect(log).not.toContain('ELIFECYCLE');
  const lines = await labelledLines(handle);
  expectStoppedOnceInOrder(lines);
  // the group's SIGINT and pnpm's forwarded copy were one request, not a second one noted
  expect(messages(lines, 'supervisor', 'system stopping')).toHaveLength(1);
  expect(messages(lines, 'supervisor', 'system is already stopping; a third signal forces exit')).toHaveLength(0);
  expect(lines.some((l) => l.text.includes('forced'))).toBe(false);
}, 120_000);

it('a second process-group SIGTERM does not cut the stop short; a third forces exit 1 and leaves no process behind', async () => {
  system = await createFaultSystem({ users: 3 });
  const s = system;
  const handle = await startSupervisor(s);
  const pids = await childPids(handle);
  const apiPid = pids.api as number;
  // an upload stuck half-way keeps the API draining (up to 15 s), so the stop is still under way
  const held = await holdUploadOpen(s.apiUrl, s.token(1));
  try {
    await new Promise((r) => setTimeout(r, 1_000));

    handle.signal('SIGTERM');
    await waitFor('the API to start stopping', 10_000, async () => messages(await labelledLines(handle), 'api', 'api stopping').length === 1, 50);
    await pauseBeyondWindow();
    handle.signal('SIGTERM');
    await waitFor('the second signal to be noted', 10_000, async () => messages(await labelledLines(handle), 'supervisor', 'system is already stopping; a third signal forces exit').length === 1, 50);
    await new Promise((r) => setTimeout(r, 1_000));
    // still draining: the second signal neither killed the API nor the supervisor
    expect(isAlive(apiPid)).toBe(true);
    expect(handle.isRunning()).toBe(true);
    // the worker waits its turn: the group's signals did not start its stop
    expect(messages(await labelledLines(handle), 'worker', 'worker stopping')).toHaveLength(0);

    handle.signal('SIGTERM');
    const exit = await handle.waitForExit(30_000);
    expect(exit?.code).toBe(1);
    await expectGroupGone(handle.pid);
    const lines = await labelledLines(handle);
    expect(lines.some((l) => l.label === 'supervisor' && l.json?.msg === 'system forced to exit before it stopped cleanly')).toBe(true);
  } finally {
    held.destroy();
  }
}, 120_000);

it('a worker killed with SIGKILL makes the supervisor stop the API and exit 1, leaving nothing running', async () => {
  system = await createFaultSystem({ users: 3 });
  const handle = await startSupervisor(system);
  const pids = await childPids(handle);

  process.kill(pids.worker as number, 'SIGKILL');
  const exit = await handle.waitForExit(60_000);
  expect(exit).toEqual({ code: 1, signal: null });
  await expectGroupGone(handle.pid);
  const lines = await labelledLines(handle);
  expect(messages(lines, 'supervisor', 'worker exited unexpectedly; stopping the rest')).toHaveLength(1);
  // the API was stopped, not left behind or killed with it
  expect(messages(lines, 'api', 'api stopping')).toHaveLength(1);
  expect(messages(lines, 'supervisor', 'child stopped').map((l) => l.json?.child)).toEqual(['api']);
}, 120_000);
