import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/dev-server.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface DevServerProcess {
  child: ChildProcess;
  trackerPort: number;
  storagePort: number;
  output: () => string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the CLI in its own process (node + the tsx loader directly, so a signal reaches the
 * server itself; workspace packages from their sources, as `pnpm fastdfs:dev` runs it) and waits until it prints where it listens.
 */
export function spawnDevServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<DevServerProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev server did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const tracker = /tracker\s+\S+:(\d+)/.exec(output);
      const storage = /storage\s+\S+:(\d+)/.exec(output);
      if (tracker && storage && output.includes('data ')) {
        clearTimeout(timer);
        resolve({ child, trackerPort: Number(tracker[1]), storagePort: Number(storage[1]), output: () => output, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`dev server exited with ${String(code)}:\n${output}`));
    });
  });
}
