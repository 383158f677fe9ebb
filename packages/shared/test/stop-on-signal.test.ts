import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/stop-never-ends.ts', import.meta.url));

/** Runs the fixture entry as a real process (signals cannot be tried on the test's own process). */
function startFixture(timeoutMs: number) {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fixture], { env: { ...process.env, STOP_TIMEOUT_MS: String(timeoutMs) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLine = async (text: string): Promise<void> => {
    while (!output.includes(text)) await new Promise((r) => setTimeout(r, 20));
  };
  return { child, exited, waitForLine, output: () => output };
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
  f.child.kill('SIGINT');
  await f.waitForLine('fixture is already stopping');
  await new Promise((r) => setTimeout(r, 300));
  expect({ code: f.child.exitCode, signal: f.child.signalCode }).toEqual({ code: null, signal: null });
  f.child.kill('SIGTERM');
  expect(await f.exited).toBe(1);
  expect(f.output()).toContain('SIGTERM received 3 times');
});
