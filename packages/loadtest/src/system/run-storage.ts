import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { startRealFastdfs } from '@avatar/fastdfs/testing';
import type { StorageChoice } from '../options.js';
import type { RootScripts } from './node-command.js';
import { messageOfType, START_TIMEOUT_MS, startOwnProcess, STOP_TIMEOUT_MS, type Workspace } from './run-environment.js';

/** The FastDFS a run's system stores to. */
export interface RunStorage {
  /** FDFS_TRACKERS for the API and the workers. */
  trackers: string;
  /** FDFS_PUBLIC_URL: the prefix of the variants' URLs. */
  publicUrl: string;
  /** Its processes on this machine, measured with the system's (none for a FastDFS the tool did not start). */
  processes: Array<{ name: string; pid: number }>;
  /** What it is, for the report. */
  description: string;
  stop(): Promise<void>;
}

/**
 * A real FastDFS serves files through a web server of its own (nginx with fastdfs-nginx-module,
 * on 8888 by custom); the load test never fetches a variant, so the URLs only need to be well formed.
 */
const REAL_FASTDFS_PUBLIC_URL = 'http://127.0.0.1:8888/';

/** Starts (or names) the run's storage, as `--fastdfs` chose. */
export async function startRunStorage(choice: StorageChoice, scripts: RootScripts, workspace: Workspace): Promise<RunStorage> {
  switch (choice.kind) {
    case 'trackers':
      return { trackers: choice.trackers, publicUrl: REAL_FASTDFS_PUBLIC_URL, processes: [], description: `FastDFS at ${choice.trackers} (not started nor measured by the tool)`, stop: async () => undefined };
    case 'real':
      return startRealStorage();
    case 'dev':
      return startDevStorage(scripts, workspace);
  }
}

/**
 * A real FastDFS tracker and storage from the launcher the project's tests use, with their files
 * in memory where there is such a folder, for the reason the dev server's are (`memoryFolder`).
 */
async function startRealStorage(): Promise<RunStorage> {
  const real = await startRealFastdfs({ parentDir: await memoryFolder() });
  try {
    const pids = await real.pids();
    return {
      trackers: real.trackers,
      publicUrl: REAL_FASTDFS_PUBLIC_URL,
      processes: [
        { name: 'fdfs-tracker', pid: pids.tracker },
        { name: 'fdfs-storage', pid: pids.storage },
      ],
      description: `real FastDFS (fdfs_trackerd + fdfs_storaged at ${real.trackers}), files in ${path.dirname(real.dir)}`,
      stop: () => real.close(),
    };
  } catch (error) {
    await real.close();
    throw error;
  }
}

/** The embedded dev server (the same `startDevServer` as `pnpm start`) in a process of its own. */
async function startDevStorage(scripts: RootScripts, workspace: Workspace): Promise<RunStorage> {
  const memory = await memoryFolder();
  const dataDir = memory ? await mkdtemp(path.join(memory, 'avatar-loadtest-fastdfs-')) : path.join(workspace.root, 'fastdfs');
  const storage = startOwnProcess(scripts, workspace, 'storage', 'storage-process', { dataDir });
  const stop = async (): Promise<void> => {
    await storage.stop(STOP_TIMEOUT_MS);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const { trackers, publicUrl } = await storage.waitForMessage(messageOfType('storage'), START_TIMEOUT_MS);
    return { trackers, publicUrl, processes: storage.pid === undefined ? [] : [{ name: 'storage', pid: storage.pid }], description: `embedded dev server, files in ${path.dirname(dataDir)}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * `/dev/shm` when it is writable. The storage stands in for FastDFS storage servers, which run on
 * machines of their own; on a disk shared with the staging folder its file creation would charge
 * this machine's cores with the filesystem's work (on a journal-less ext4, a scan past every
 * recently deleted file slot: 1–3 ms of CPU per set here), which no worker host pays.
 */
async function memoryFolder(): Promise<string | undefined> {
  try {
    await access('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
}
