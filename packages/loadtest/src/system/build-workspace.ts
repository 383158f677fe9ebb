import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, type SpawnCommand } from './node-command.js';

/** How much of the build's output an error keeps: its end, where tsc's errors are. */
const OUTPUT_TAIL_CHARS = 8_000;

/** pnpm as it started this process (`pnpm loadtest` sets `npm_execpath`), else the `pnpm` on PATH. */
export function pnpmCommand(env: NodeJS.ProcessEnv = process.env): SpawnCommand {
  const execPath = env.npm_execpath;
  if (execPath === undefined || !path.basename(execPath).startsWith('pnpm')) return { file: 'pnpm', args: [] };
  return /\.[cm]?js$/.test(execPath) ? { file: process.execPath, args: [execPath] } : { file: execPath, args: [] };
}

/**
 * Runs `pnpm build` in `root`, as the image's build stage does, so the API and workers run from
 * a `dist/` that matches the sources. Rejects with the end of the build's output when it fails.
 */
export async function buildWorkspace(root = REPO_ROOT, signal?: AbortSignal): Promise<void> {
  const pnpm = pnpmCommand();
  const child = spawn(pnpm.file, [...pnpm.args, 'build'], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  if (exit.code === 0) return;
  const why = exit.error ? exit.error.message : `exit code ${exit.code}`;
  throw new Error(`pnpm build failed (${why}): the API and workers run compiled, from its dist/ (--source runs them from source instead)\n${output.trimEnd()}`);
}
