import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (where pnpm-workspace.yaml is); `../shared` sits beside it in CI and for developers. */
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Where the real FastDFS launcher is: `FDFS_REAL` if set, else `../shared/fastdfs/fdfs-real`
 * beside the checkout. Undefined when neither exists.
 */
export function findRealFastdfs(): string | undefined {
  const candidates = [process.env.FDFS_REAL, path.resolve(repoRoot, '../shared/fastdfs/fdfs-real')];
  return candidates.find((candidate): candidate is string => candidate !== undefined && candidate !== '' && existsSync(candidate));
}

export interface RealFastdfsOptions {
  /** `ipv6`: the tracker answers with 45-byte IP fields (`response_ip_addr_size = IPv6`). Default `ipv4` (15 bytes). */
  ipFieldSize?: 'ipv4' | 'ipv6';
  /**
   * The tracker's `reserved_storage_space` (default `1%`). Set above the disk's free share
   * (e.g. `99.9%`) and the tracker answers store queries with ENOSPC.
   */
  reservedStorageSpace?: string;
  /** The folder the instance's own folder is made in (default the OS temp folder), e.g. `/dev/shm` for a load test. */
  parentDir?: string;
}

/** A real FastDFS 6.16 tracker + one storage server on loopback, in a folder of its own. */
export interface RealFastdfs {
  dir: string;
  /** `127.0.0.2:<port>`: the tracker binds 127.0.0.2 (a storage server refuses a tracker on its own address). */
  trackers: string;
  trackerPort: number;
  storagePort: number;
  /** Clean stop: the tracker marks the storage OFFLINE at once. */
  stopStorage(): Promise<void>;
  /** Starts the storage again and waits until the tracker sees it ACTIVE. */
  startStorage(): Promise<void>;
  /**
   * SIGKILL. The kernel closes the dead storage's connection to the tracker, so the tracker
   * marks it OFFLINE at once, as after a clean stop (measured: the next store query is ENOENT).
   */
  killStorage(): Promise<void>;
  /**
   * SIGSTOP: the process is frozen with its connections open, so the tracker keeps it ACTIVE
   * until its heartbeat check (120 s here) while clients time out. `thawStorage` = SIGCONT.
   */
  freezeStorage(): Promise<void>;
  thawStorage(): Promise<void>;
  stopTracker(): Promise<void>;
  /** Starts the tracker again and waits until the storage has joined it and is ACTIVE. */
  startTracker(): Promise<void>;
  /** The daemons' process ids, from their pid files (a load test measures their CPU). */
  pids(): Promise<{ tracker: number; storage: number }>;
  /** Runs one of the official C tools with this instance's client.conf; resolves with its stdout. */
  tool(name: string, ...args: string[]): Promise<string>;
  /** Stops both servers and removes the folder. */
  close(): Promise<void>;
}

/** True when every thread of `pid` is stopped (state `T`, or `t` when traced), per /proc. */
async function allThreadsStopped(pid: number): Promise<boolean> {
  const threads = await readdir(`/proc/${pid}/task`);
  const states = await Promise.all(threads.map(async (tid) => {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // the state follows the command name, which is in parentheses and may contain spaces
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  }));
  return states.every((state) => state === 'T' || state === 't');
}

async function sparePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a real FastDFS instance with spare ports; throws when the launcher is not found. */
export async function startRealFastdfs(options: RealFastdfsOptions = {}): Promise<RealFastdfs> {
  const launcher = findRealFastdfs();
  if (!launcher) throw new Error('the real FastDFS launcher was not found: set FDFS_REAL or put shared/fastdfs beside the checkout');
  const home = path.dirname(launcher);
  const env = { ...process.env, LD_LIBRARY_PATH: [path.join(home, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const dir = await mkdtemp(path.join(options.parentDir ?? tmpdir(), 'fdfs-real-'));
  const [trackerPort, storagePort] = [await sparePort('127.0.0.2'), await sparePort('127.0.0.1')];
  const launch = async (...args: string[]): Promise<string> => (await run(launcher, args, { env, timeout: 90_000 })).stdout.trim();
  const daemon = (name: 'fdfs_trackerd' | 'fdfs_storaged', conf: string, action: 'start' | 'stop'): Promise<unknown> =>
    run(path.join(home, 'bin', name), [path.join(dir, conf), action], { env, timeout: 60_000 });
  const waitActive = async (): Promise<void> => {
    for (let i = 0; i < 240; i++) {
      const monitor = await launch('tool', dir, 'fdfs_monitor').catch(() => '');
      if (/ACTIVE/.test(monitor)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`real FastDFS storage did not become ACTIVE; logs in ${dir}`);
  };

  const pidOf = async (file: string): Promise<number> => Number((await readFile(path.join(dir, file), 'utf8')).trim());
  const storagePid = (): Promise<number> => pidOf('storage/data/fdfs_storaged.pid');
  const freeze = async (): Promise<void> => {
    const pid = await storagePid();
    process.kill(pid, 'SIGSTOP');
    // Each thread stops only when it next runs: on a loaded machine a network thread can still
    // answer a request sent right after the signal. Frozen means every thread shows state T.
    for (let i = 0; i < 200; i++) {
      if (await allThreadsStopped(pid)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`real FastDFS storage ${pid} did not stop within 5 s of SIGSTOP`);
  };

  try {
    await launch('start', dir, String(trackerPort), String(storagePort));
    if (options.ipFieldSize === 'ipv6' || options.reservedStorageSpace !== undefined) {
      // the launcher writes a fixed tracker.conf: change it and restart the tracker alone
      await daemon('fdfs_trackerd', 'tracker.conf', 'stop');
      const conf = path.join(dir, 'tracker.conf');
      let text = await readFile(conf, 'utf8');
      if (options.reservedStorageSpace !== undefined) text = text.replace(/^reserved_storage_space = .*$/m, `reserved_storage_space = ${options.reservedStorageSpace}`);
      if (options.ipFieldSize === 'ipv6') text += 'response_ip_addr_size = IPv6\n';
      await writeFile(conf, text);
      await daemon('fdfs_trackerd', 'tracker.conf', 'start');
      await waitActive();
    }
  } catch (error) {
    await launch('stop', dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    dir,
    trackers: `127.0.0.2:${trackerPort}`,
    trackerPort,
    storagePort,
    stopStorage: async () => void (await launch('storage-stop', dir)),
    startStorage: async () => void (await launch('storage-start', dir)),
    killStorage: async () => void (await launch('storage-kill', dir)),
    freezeStorage: freeze,
    thawStorage: async () => void process.kill(await storagePid(), 'SIGCONT'),
    stopTracker: async () => void (await daemon('fdfs_trackerd', 'tracker.conf', 'stop')),
    startTracker: async () => {
      await daemon('fdfs_trackerd', 'tracker.conf', 'start');
      await waitActive();
    },
    pids: async () => ({ tracker: await pidOf('tracker/data/fdfs_trackerd.pid'), storage: await storagePid() }),
    tool: (name, ...args) => launch('tool', dir, name, ...args),
    close: async () => {
      // a frozen storage would sit on the stop signal until the launcher gives up
      await storagePid().then((pid) => process.kill(pid, 'SIGCONT')).catch(() => undefined);
      await launch('stop', dir).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
