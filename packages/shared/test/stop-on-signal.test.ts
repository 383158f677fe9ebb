import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { SAME_REQUEST_WINDOW_MS, SUPERVISED_ENV, SUPERVISOR_MESSAGES } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/stop-never-ends.ts', import.meta.url));

/** How long a fixture may take to print an awaited line (it starts through tsx). */
const LINE_DEADLINE_MS = 15_000;

/** Signals further apart than this are separate requests. */
const BEYOND_WINDOW_MS = SAME_REQUEST_WINDOW_MS + 200;

const started: ChildProcess[] = [];
afterEach(() => {
  // a failed assertion must not leave a fixture behind: its setInterval never ends
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the fixture entry as a real process (signals cannot be tried on the test's own process);
 * `supervised` gives it an IPC channel, as `pnpm start` gives its children.
 */
function startFixture(timeoutMs: number, { supervised = false, ipc = supervised }: { supervised?: boolean; ipc?: boolean } = {}) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), fixture], {
    env: { ...process.env, STOP_TIMEOUT_MS: String(timeoutMs), ...(supervised ? { [SUPERVISED_ENV]: '1' } : {}) },
    stdio: ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLine = async (text: string): Promise<void> => {
    const deadline = Date.now() + LINE_DEADLINE_MS;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`no line with "${text}" within ${LINE_DEADLINE_MS} ms; output so far:\n${output}`);
      await pause(20);
    }
  };
  const count = (text: string): number => output.split('\n').filter((line) => line.includes(text)).length;
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  return { child, exited, waitForLine, count, isRunning, output: () => output };
}

it('a stop that outlasts its timeout is forced: exit 1, and the reason is logged', async () => {
  const f = startFixture(300);
  await f.waitForLine('fixture ready');
  f.child.kill('SIGTERM');
  expect(await f.exited).toBe(1);
  expect(f.output()).toContain('still stopping after 300 ms');
});

it('a second signal is only noted; the third forces exit 1', async () => {
  const f = startFixture(60_000);
  await f.waitForLine('fixture ready');
  f.child.kill('SIGTERM');
  await f.waitForLine('fixture stopping');
  await pause(BEYOND_WINDOW_MS);
  f.child.kill('SIGINT');
  await f.waitForLine('fixture is already stopping');
  await pause(BEYOND_WINDOW_MS);
  expect(f.isRunning()).toBe(true);
  f.child.kill('SIGTERM');
  expect(await f.exited).toBe(1);
  expect(f.output()).toContain('stop requested 3 times');
});

it('signals arriving together are one request, as one Ctrl-C under pnpm is (the terminal’s and pnpm’s copy): three presses still force', async () => {
  const f = startFixture(60_000);
  await f.waitForLine('fixture ready');
  // first press: the process group's SIGINT and pnpm's forwarded one, milliseconds apart
  f.child.kill('SIGINT');
  f.child.kill('SIGINT');
  await f.waitForLine('fixture stopping');
  await pause(BEYOND_WINDOW_MS);
  expect(f.count('fixture is already stopping')).toBe(0);

  // second press: SIGINT from the terminal, SIGTERM from pnpm
  f.child.kill('SIGINT');
  f.child.kill('SIGTERM');
  await f.waitForLine('fixture is already stopping');
  await pause(BEYOND_WINDOW_MS);
  expect(f.isRunning()).toBe(true);
  expect(f.count('fixture is already stopping')).toBe(1);

  f.child.kill('SIGINT');
  f.child.kill('SIGTERM');
  expect(await f.exited).toBe(1);
  expect(f.output()).toContain('stop requested 3 times');
});

it('under a supervisor, signals are left to it: the process stops on its "stop" message only', async () => {
  const f = startFixture(300, { supervised: true });
  await f.waitForLine('fixture ready');
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGINT'] as const) {
    f.child.kill(signal);
    await pause(BEYOND_WINDOW_MS);
  }
  expect(f.count('its supervisor stops it in turn')).toBe(3);
  expect(f.count('fixture stopping')).toBe(0);
  expect(f.isRunning()).toBe(true);

  f.child.send(SUPERVISOR_MESSAGES.stop);
  await f.waitForLine('fixture stopping');
  expect(f.output()).toContain('"trigger":"supervisor"');
  // the fixture's stop never ends: its own timeout still applies under a supervisor
  expect(await f.exited).toBe(1);
});

it('a parent with an IPC channel that is not the supervisor (PM2 fork mode) gets the usual signal handling', async () => {
  const f = startFixture(300, { ipc: true });
  await f.waitForLine('fixture ready');
  f.child.kill('SIGINT');
  await f.waitForLine('fixture stopping');
  expect(f.count('its supervisor stops it in turn')).toBe(0);
  expect(f.output()).toContain('"trigger":"SIGINT"');
  expect(await f.exited).toBe(1);
});

it('under a supervisor that goes away (the channel closes), the process stops by itself', async () => {
  const f = startFixture(300, { supervised: true });
  await f.waitForLine('fixture ready');
  f.child.disconnect();
  await f.waitForLine('fixture stopping');
  expect(f.output()).toContain('"trigger":"supervisor gone"');
  expect(await f.exited).toBe(1);
});
