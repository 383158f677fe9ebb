import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where the root package.json, its scripts and the `tsx` they import live. */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../../../', import.meta.url)));

/** The root script whose node flags the tool's own processes (storage, baselines) run with too. */
export const REFERENCE_SCRIPT = 'start:api';

export interface NodeCommand {
  /** Node's own flags, e.g. `--conditions=source --import tsx`. */
  nodeArgs: string[];
  /** The entry file, relative to the repository root as the script names it. */
  entry: string;
  args: string[];
}

/** Node flags whose value is the next word (`--import tsx`), not joined by `=`. */
const FLAGS_WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C', '--env-file']);

/**
 * Reads a root package.json script of the form `[exec] node <flags…> <entry> [args…]`.
 * The tool spawns the system's roles from these lines rather than from a copy of them, so a
 * change to how a role is started (a new node flag) reaches the load test too.
 */
export function parseNodeScript(script: string): NodeCommand {
  if (/["'`$;&|<>\\]/.test(script)) throw new Error(`cannot read "${script}": only a plain "[exec] node <flags> <entry>" script can be spawned directly`);
  const words = script.trim().split(/\s+/);
  if (words[0] === 'exec') words.shift();
  if (words.shift() !== 'node') throw new Error(`cannot read "${script}": it does not run node`);
  const nodeArgs: string[] = [];
  while (words.length > 0 && (words[0] as string).startsWith('-')) {
    const flag = words.shift() as string;
    nodeArgs.push(flag);
    if (FLAGS_WITH_VALUE.has(flag)) {
      const value = words.shift();
      if (value === undefined) throw new Error(`cannot read "${script}": ${flag} has no value`);
      nodeArgs.push(value);
    }
  }
  const entry = words.shift();
  if (entry === undefined) throw new Error(`cannot read "${script}": no entry file`);
  return { nodeArgs, entry, args: words };
}

export type RootScripts = Readonly<Record<string, string>>;

export async function readRootScripts(root = REPO_ROOT): Promise<RootScripts> {
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return manifest.scripts ?? {};
}

export interface SpawnCommand {
  file: string;
  args: string[];
}

function rootScript(scripts: RootScripts, name: string): NodeCommand {
  const script = scripts[name];
  if (script === undefined) throw new Error(`the root package.json has no "${name}" script`);
  return parseNodeScript(script);
}

/** What `pnpm <name>` runs, as a command for `spawn` (no pnpm or shell in between: the pid is node's). */
export function commandForScript(scripts: RootScripts, name: string, extraArgs: readonly string[] = []): SpawnCommand {
  const command = rootScript(scripts, name);
  return { file: process.execPath, args: [...command.nodeArgs, path.resolve(REPO_ROOT, command.entry), ...command.args, ...extraArgs] };
}

/** One of this package's own process entries, run with the same node flags as the system's roles. */
export function commandForEntry(scripts: RootScripts, entry: string): SpawnCommand {
  return { file: process.execPath, args: [...rootScript(scripts, REFERENCE_SCRIPT).nodeArgs, entry] };
}

/**
 * What the production image runs for `pnpm <name>`: plain node on the compiled entry
 * (`packages/<pkg>/dist/….js`, from `pnpm build`), without tsx or the `source` condition.
 */
export function compiledCommandForScript(scripts: RootScripts, name: string, root = REPO_ROOT): SpawnCommand {
  const command = rootScript(scripts, name);
  const compiled = command.entry.replace(/^(packages\/[^/]+)\/src\/(.+)\.ts$/, '$1/dist/$2.js');
  if (compiled === command.entry) throw new Error(`"${name}" runs ${command.entry}, which has no compiled counterpart under dist/`);
  const entry = path.resolve(root, compiled);
  if (!existsSync(entry)) throw new Error(`${compiled} is missing: \`pnpm build\` did not write it`);
  return { file: process.execPath, args: [entry, ...command.args] };
}
