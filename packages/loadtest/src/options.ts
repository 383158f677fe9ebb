import { parseArgs } from 'node:util';
import { MAX_UPLOADS, type LoadShape } from './load/apply-load.js';
import type { ScenarioName } from './report/report-types.js';
import { parseImageSpec, type ImageSpec } from './sample-images.js';

export const USAGE = `pnpm loadtest [options]

Starts its own system (an API, --workers worker processes and the embedded FastDFS dev server, on a
database and Redis prefix of its own, dropped afterwards) or loads a running one (--url), sends avatar
uploads, follows each through the events long poll to a terminal status, and reports throughput,
latency, errors and each process's peak RSS and CPU. With --baseline it also measures this machine's
limits on the same inputs and prints each figure as a ratio to its limit, with PASS/MISS per target.

Scenarios (--scenario a,b or all; default throughput)
  throughput   the whole system under load: closed loop (--concurrency N, --uploads M or
               --duration S) or open loop (--rate R --duration S), workers rendering while the
               uploads arrive; one run per --workers entry
  drain        the worker pool alone: a closed loop of 16 for 10 s (at most 3,000 uploads)
               accepted with no worker running (the accept figures), then --workers start and
               drain it; completed/s from the first processing event to the last terminal one.
               One run per --workers entry (the worker sweep); the completed-sets and accept
               targets read it. Not with --url
  light        one upload at a time through the whole pipeline (the next is sent once the last
               is done; 30 uploads): POST→done against one raw transform
  big-files    64 clients each streaming a ~10 MB JPEG (128 uploads): the API's RSS
  soak         5,000 uploads: worker RSS by completed jobs, first thousand against the last

Load
  --uploads M            uploads per scenario run (defaults above; throughput 300); given alone, it
                         also replaces drain's 10 s
  --concurrency N        connections of a closed loop (throughput and soak 16, big-files 64)
  --duration S           closed loop: stop sending after S s; open loop: how long to send
  --rate R               open loop for the throughput scenario: R uploads/s for --duration (30) s
  --max-in-flight K      open loop: arrivals finding K unanswered are skipped and counted (256)
  --image WxH            sample photo size (1600x1200); --distinct: how many different ones (8)
  --followers F          long polls held at once, oldest upload first (128)
  --timeout S            a run ends S s after its first send, finished or not (120 + uploads/4)
System
  --workers 1,2,4        worker processes, one throughput and one drain run each (1); others use 1
  --worker-concurrency C WORKER_CONCURRENCY of each worker (4)
  --fastdfs dev|real|TRACKERS
                         the storage of the tool's own system: the embedded dev server (dev, the
                         default), a real FastDFS it starts and measures (real: FDFS_REAL or
                         ../shared/fastdfs/fdfs-real), or one already running here (127.0.0.2:22122,…)
  --url URL              load a running system instead (loopback only; tokens signed with its
                         JWT_SECRET from this environment; --users 1,2,3 must exist there)
Baselines and output
  --baseline             also run the limits: raw sharp (1/2/4/8 sets in flight) and a bare
                         Fastify + multipart handler under the throughput/drain load; raw sharp
                         runs at the workers' niceness (10)
  --baseline-seconds S   raw sharp: seconds per in-flight level (10)
  --source               run the API and workers from source under tsx, as \`pnpm start\` does; by
                         default they run as the image does: plain node on dist/, after \`pnpm build\`
                         (which the tool runs first). --compiled, the default, is still accepted
  --out DIR              write DIR/report.json and DIR/report.html (one file, no network needed)
  --help`;

/** The drain's preset: a 10 s accept phase, at most this many uploads (one user each) for the pool to drain. */
const DRAIN_SECONDS = 10;
const DRAIN_MAX_UPLOADS = 3000;

export interface ScenarioPlan {
  name: ScenarioName;
  shape: LoadShape;
  /** Sends the ~10 MB JPEGs instead of the sample photos. */
  large: boolean;
  /** Worker processes of each run of this scenario (the sweep, for throughput). */
  workerCounts: number[];
  timeoutSeconds: number;
}

export interface Plan {
  url: URL | undefined;
  scenarios: ScenarioPlan[];
  workers: number[];
  workerConcurrency: number;
  /** The API and workers run compiled (`pnpm build`'s dist/, plain node), as in the image; false with --source. */
  compiled: boolean;
  baseline: boolean;
  baselineSeconds: number;
  image: ImageSpec;
  distinct: number;
  followers: number;
  /** Users to upload as against --url (they must exist there). */
  users: number[];
  /** The FastDFS the tool's own system stores to (see `StorageChoice`). */
  fastdfs: StorageChoice;
  out: string | undefined;
}

/**
 * `dev`: the embedded dev server, in a process of the tool's own (the default, as `pnpm start`).
 * `real`: a real FastDFS (tracker + storage) started from the launcher the project's tests use
 * (`FDFS_REAL`, or `../shared/fastdfs/fdfs-real`), its processes measured. `trackers`: a FastDFS
 * already running on this machine, not started nor measured by the tool.
 */
export type StorageChoice = { kind: 'dev' } | { kind: 'real' } | { kind: 'trackers'; trackers: string };

const SCENARIOS: readonly ScenarioName[] = ['throughput', 'drain', 'light', 'big-files', 'soak'];

const flags = {
  scenario: { type: 'string' },
  uploads: { type: 'string' },
  concurrency: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  'max-in-flight': { type: 'string' },
  image: { type: 'string' },
  distinct: { type: 'string' },
  followers: { type: 'string' },
  timeout: { type: 'string' },
  workers: { type: 'string' },
  'worker-concurrency': { type: 'string' },
  fastdfs: { type: 'string' },
  url: { type: 'string' },
  users: { type: 'string' },
  baseline: { type: 'boolean' },
  source: { type: 'boolean' },
  // the default since --source came; kept so that older command lines still run
  compiled: { type: 'boolean' },
  'baseline-seconds': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** An integer flag within bounds; every loop the tool runs is bounded by these. */
function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, not ${value}`);
  return n;
}

function intList(name: string, value: string, min: number, max: number, maxItems = 8): number[] {
  const items = value.split(',').map((part) => int(name, part.trim(), 0, min, max));
  if (items.length === 0 || items.length > maxItems) throw new Error(`--${name} takes 1 to ${maxItems} values`);
  return items;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `--fastdfs`: dev, real, or a tracker list on this machine (`127.0.0.2:22122,…`). */
function storageChoice(value: string | undefined): StorageChoice {
  if (value === undefined || value === 'dev') return { kind: 'dev' };
  if (value === 'real') return { kind: 'real' };
  const trackers = value.split(',').map((t) => t.trim());
  for (const tracker of trackers) {
    const match = /^(.+):(\d{1,5})$/.exec(tracker);
    if (!match || Number(match[2]) > 65535) throw new Error(`--fastdfs takes dev, real or trackers as host:port,…; not "${tracker}"`);
    if (!isLoopbackHost(match[1] as string)) throw new Error(`--fastdfs trackers must be on this machine (a loopback address), not ${match[1]}`);
  }
  return { kind: 'trackers', trackers: trackers.join(',') };
}

/** Load goes to this machine only: a loopback address. */
export function assertLoopback(url: URL): void {
  const host = url.hostname;
  if (!isLoopbackHost(host)) {
    throw new Error(`--url must point at this machine (a loopback address such as 127.0.0.1), not ${host}`);
  }
  if (url.protocol !== 'http:') throw new Error('--url must be http://');
}

export type ParsedCommand = { kind: 'help' } | { kind: 'run'; plan: Plan };

export function parseCommand(argv: readonly string[]): ParsedCommand {
  const { values: v } = parseArgs({ args: [...argv], options: flags, allowPositionals: false, strict: true });
  if (v.help) return { kind: 'help' };

  const url = v.url === undefined ? undefined : new URL(v.url);
  if (url) assertLoopback(url);
  if (url && v.workers !== undefined) throw new Error('--workers starts worker processes; a system at --url runs its own');
  // drain starts and stops its own workers: `all` against --url leaves it out
  const names = v.scenario === undefined ? ['throughput'] : v.scenario === 'all' ? SCENARIOS.filter((s) => !(url && s === 'drain')) : v.scenario.split(',').map((s) => s.trim());
  for (const name of names) if (!SCENARIOS.includes(name as ScenarioName)) throw new Error(`--scenario: unknown "${name}" (${SCENARIOS.join(', ')} or all)`);
  if (url && names.includes('drain')) throw new Error('--scenario drain starts the workers itself once every upload is accepted; a system at --url runs its own');
  if (url && v.fastdfs !== undefined) throw new Error('--fastdfs chooses the storage of the system the tool starts; a system at --url has its own');
  if (v.source && v.compiled) throw new Error('--source and --compiled contradict each other: pick one (compiled is the default)');
  if (v.rate !== undefined && !names.includes('throughput')) throw new Error('--rate makes the throughput scenario an open loop; select it');

  const uploads = v.uploads === undefined ? undefined : int('uploads', v.uploads, 0, 1, MAX_UPLOADS);
  const concurrency = v.concurrency === undefined ? undefined : int('concurrency', v.concurrency, 0, 1, 512);
  const duration = v.duration === undefined ? undefined : int('duration', v.duration, 0, 1, 3600);
  const timeout = v.timeout === undefined ? undefined : int('timeout', v.timeout, 0, 10, 7200);
  const workers = v.workers === undefined ? [1] : intList('workers', v.workers, 1, 16);

  const closed = (defaultConcurrency: number, defaultUploads: number, defaultDuration?: number): LoadShape => ({
    kind: 'closed',
    concurrency: concurrency ?? defaultConcurrency,
    // with --duration alone, time bounds the run (and MAX_UPLOADS the count)
    uploads: uploads ?? (duration === undefined ? defaultUploads : MAX_UPLOADS),
    // a preset's own duration only while neither bound was given
    durationSeconds: duration ?? (uploads === undefined ? defaultDuration : undefined),
    waitForFinish: false,
  });
  const scenario = (name: ScenarioName): ScenarioPlan => {
    let shape: LoadShape;
    switch (name) {
      case 'throughput':
        shape =
          v.rate === undefined
            ? closed(16, 300)
            : { kind: 'open', ratePerSecond: int('rate', v.rate, 0, 1, 500), durationSeconds: duration ?? 30, maxInFlight: int('max-in-flight', v['max-in-flight'], 256, 1, 4096) };
        break;
      case 'drain':
        // the accept measurement: 16 connections for 10 s. A few hundred uploads last
        // 1–4 s, most of it a fresh API compiling its hot code, which the bare handler has little of
        shape = closed(16, DRAIN_MAX_UPLOADS, DRAIN_SECONDS);
        break;
      case 'light':
        shape = { kind: 'closed', concurrency: 1, uploads: uploads ?? (duration === undefined ? 30 : MAX_UPLOADS), durationSeconds: duration, waitForFinish: true };
        break;
      case 'big-files':
        shape = closed(64, 128);
        break;
      case 'soak':
        shape = closed(16, 5000);
        break;
    }
    // a closed loop bounded by time is expected to answer at most 300 uploads a second (this machine: 100–280)
    const expected = shape.kind === 'open' ? shape.ratePerSecond * shape.durationSeconds : Math.min(shape.uploads, (shape.durationSeconds ?? Infinity) * 300);
    return {
      name,
      shape,
      large: name === 'big-files',
      workerCounts: name === 'throughput' || name === 'drain' ? workers : [1],
      // a run's sends and follows end this long after its first send, finished or not
      timeoutSeconds: timeout ?? Math.min(7200, Math.ceil(120 + expected / 4 + (shape.durationSeconds ?? 0))),
    };
  };

  return {
    kind: 'run',
    plan: {
      url,
      scenarios: names.map((n) => scenario(n as ScenarioName)),
      workers,
      workerConcurrency: int('worker-concurrency', v['worker-concurrency'], 4, 1, 64),
      compiled: !v.source,
      baseline: v.baseline ?? false,
      baselineSeconds: int('baseline-seconds', v['baseline-seconds'], 10, 1, 120),
      image: parseImageSpec(v.image ?? '1600x1200'),
      distinct: int('distinct', v.distinct, 8, 1, 64),
      followers: int('followers', v.followers, 128, 1, 1024),
      users: v.users === undefined ? [1, 2, 3] : intList('users', v.users, 1, Number.MAX_SAFE_INTEGER, 1000),
      fastdfs: storageChoice(v.fastdfs),
      out: v.out,
    },
  };
}
