import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deleteRedisPrefix, loadConfig } from '@avatar/shared';
import { CHILD_OPTIONS_ENV, type ChildMessage } from '../processes/child-channel.js';
import { readRootScripts, commandForEntry, type RootScripts } from './node-command.js';
import { NodeProcess } from './node-process.js';
import { ownEntry } from './own-entries.js';
import type { StorageChoice } from '../options.js';
import { createRunDatabase, type RunDatabase } from './run-database.js';
import { startRunStorage, type RunStorage } from './run-storage.js';

/** How long a child may take to start (tsx compiles on first run; the machine may be busy). */
export const START_TIMEOUT_MS = 120_000;
/** How long a child may take to stop when told, before it is killed. */
export const STOP_TIMEOUT_MS = 60_000;

export interface Workspace {
  root: string;
  logs: string;
  /** Removes everything but the logs when `keepLogs` (a failed run), else everything. */
  remove(keepLogs: boolean): Promise<void>;
}

/** A temporary folder for one invocation: logs, staging, the dev server's files, the baseline's uploads. */
export async function createWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(path.join(tmpdir(), 'avatar-loadtest-'));
  const logs = path.join(root, 'logs');
  await mkdir(logs);
  return {
    root,
    logs,
    async remove(keepLogs) {
      if (!keepLogs) return rm(root, { recursive: true, force: true });
      for (const dir of ['staging', 'fastdfs', 'bare-handler', 'images']) await rm(path.join(root, dir), { recursive: true, force: true });
    },
  };
}

/** Environment every child starts from: only what a process needs to run, never the developer's configuration. */
export function baseProcessEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

/** Spawns one of this package's own entries with its options. */
export function startOwnProcess(scripts: RootScripts, workspace: Workspace, name: string, entry: Parameters<typeof ownEntry>[0], options: unknown, env: NodeJS.ProcessEnv = {}, niceness?: number): NodeProcess {
  return NodeProcess.start({
    name,
    niceness,
    command: commandForEntry(scripts, ownEntry(entry)),
    env: { ...baseProcessEnv(), ...env, [CHILD_OPTIONS_ENV]: JSON.stringify(options) },
    logFile: path.join(workspace.logs, `${name}.log`),
  });
}

export function messageOfType<T extends ChildMessage['type']>(type: T): (message: unknown) => Extract<ChildMessage, { type: T }> | undefined {
  return (message) => ((message as { type?: unknown } | null)?.type === type ? (message as Extract<ChildMessage, { type: T }>) : undefined);
}

/**
 * What the tool's own system runs on: its own database (with `userCount` users), its own Redis
 * prefix, its own staging folder and its FastDFS (`--fastdfs`; by default an embedded dev server of its own), and a random JWT
 * secret. `env` is the configuration every API and worker process of the run starts from.
 */
export interface RunEnvironment {
  scripts: RootScripts;
  env: NodeJS.ProcessEnv;
  jwtSecret: string;
  storage: RunStorage;
  dispose(): Promise<void>;
}

export async function prepareRunEnvironment(workspace: Workspace, userCount: number, fastdfs: StorageChoice): Promise<RunEnvironment> {
  const scripts = await readRootScripts();
  // the developer's servers (PostgreSQL, Redis), from the same variables the system reads
  const developer = loadConfig();
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const redisPrefix = `avatar-loadtest-${id}`;
  const undo: Array<() => Promise<unknown>> = [];
  const dispose = async (): Promise<void> => {
    for (const step of undo.reverse()) await step().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
  };
  try {
    const database: RunDatabase = await createRunDatabase(developer.databaseUrl, `avatar_loadtest_${id}`, developer.tables, userCount);
    undo.push(() => database.drop());
    undo.push(() => deleteRedisPrefix(developer.redis.url, redisPrefix));
    const storage = await startRunStorage(fastdfs, scripts, workspace);
    undo.push(() => storage.stop());
    const jwtSecret = randomBytes(24).toString('hex');
    const env: NodeJS.ProcessEnv = {
      ...baseProcessEnv(),
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: developer.redis.url,
      REDIS_PREFIX: redisPrefix,
      FDFS_TRACKERS: storage.trackers,
      FDFS_PUBLIC_URL: storage.publicUrl,
      STAGING_DIR: path.join(workspace.root, 'staging'),
      JWT_SECRET: jwtSecret,
      ADMIN_PASSWORD: randomBytes(12).toString('hex'),
      // the load test is one address and a few thousand users sending as fast as they can
      // and holding a long poll each: the abuse limits would measure themselves
      RATE_LIMIT_UPLOADS_PER_USER: '0',
      RATE_LIMIT_UPLOADS_PER_IP: '0',
      RATE_LIMIT_AUTH_FAILURES_PER_IP: '0',
      HELD_CONNECTIONS_PER_USER: '0',
      HELD_CONNECTIONS_PER_UPLOAD_TOKEN: '0',
    };
    // refuse a bad combination here, with the variable's name, rather than in a child's log
    loadConfig({ ...env, PORT: '0' });
    return { scripts, env, jwtSecret, storage, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
