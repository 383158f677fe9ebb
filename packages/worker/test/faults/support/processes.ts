import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root: processes run from it, as `pnpm start:*` does. */
export const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));

/** Node's flags for a TypeScript entry, as `pnpm start:*` runs one: workspace packages from their sources, through tsx's ESM loader (resolved once). */
const sourceNodeArgs = ['--conditions=source', '--import', import.meta.resolve('tsx')];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildProcessHandle {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited, however it ended. */
  exited: Promise<Exit>;
  isRunning(): boolean;
  /** Sends `signal` to the whole process group, so children (pnpm → node) get it too. */
  signal(signal: NodeJS.Signals): void;
  /** The exit, or undefined when it is still running after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<Exit | undefined>;
  log(): Promise<string>;
}

/**
 * Starts `node --conditions=source --import tsx <entry>` detached in its own process group, with `env` on top of
 * PATH/HOME only (no inherited product settings), output appended to `logFile`.
 */
export function startEntry(name: string, entry: string, env: Record<string, string>, logFile: string): ChildProcessHandle {
  return startProcess(name, process.execPath, [...sourceNodeArgs, entry], { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, logFile);
}

/** Starts any command detached in its own process group (also used for redis-server). */
export function startProcess(name: string, command: string, args: string[], env: Record<string, string> | undefined, logFile: string): ChildProcessHandle {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { cwd: repoRoot, env: env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  return {
    name,
    pid,
    logFile,
    exited,
    isRunning: () => running,
    signal(signal) {
      if (!running) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is already gone
      }
    },
    async waitForExit(timeoutMs) {
      return Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref())]);
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
  };
}

/** Kills the group with SIGKILL and waits for the exit: the cleanup path, safe to call twice. */
export async function killHard(handle: ChildProcessHandle | undefined): Promise<void> {
  if (!handle) return;
  try {
    process.kill(-handle.pid, 'SIGKILL');
  } catch {
    // nothing left in the group
  }
  await handle.waitForExit(5_000);
}

const usedPorts = new Set<number>();

/** A free TCP port on loopback below the kernel's ephemeral range (32768+), so no client socket takes it meanwhile. */
export async function sparePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 12_000 + Math.floor(Math.random() * 20_000);
    if (usedPorts.has(port)) continue;
    if (await isFree(port)) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error('no spare port found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
