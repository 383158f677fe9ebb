import path from 'node:path';
import { commandForScript, compiledCommandForScript } from './node-command.js';
import { NodeProcess } from './node-process.js';
import { freePort } from './free-port.js';
import { START_TIMEOUT_MS, STOP_TIMEOUT_MS, type RunEnvironment, type Workspace } from './run-environment.js';
import { workerThreadpoolSize } from './threadpool.js';

/**
 * The worker's niceness under `pnpm start` (scripts/start-all.ts): the API answers first. The raw
 * sharp baseline runs at it too, so on a busy machine both lose the same share to neighbours.
 */
export const WORKER_NICENESS = 10;

export interface SystemUnderTest {
  baseUrl: string;
  api: NodeProcess;
  /** The worker processes started so far (none until `startWorkers` with `deferWorkers`). */
  workers: NodeProcess[];
  /** Starts the `workers` processes if they are not running yet, and waits until each is ready. */
  startWorkers(): Promise<NodeProcess[]>;
  /** The API first (it drains), then the workers, as `pnpm start` stops them. */
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** A name for its log files. */
  runId: string;
  workers: number;
  /** Start only the API; the workers wait for `startWorkers()` (the drain scenario accepts with no worker running). */
  deferWorkers?: boolean;
  /** Variables on top of the run environment's (worker concurrency, upload limits). */
  env: NodeJS.ProcessEnv;
  /** Run the API and workers as the image does: plain node on `pnpm build`'s output. */
  compiled?: boolean;
}

/** Starts an API and `workers` worker processes the way `pnpm start:api` / `pnpm start:worker` do, and waits until each says it is ready. */
export async function startSystem(run: RunEnvironment, workspace: Workspace, options: SystemOptions): Promise<SystemUnderTest> {
  const port = await freePort();
  const env = { ...run.env, ...options.env, PORT: String(port) };
  const log = (name: string): string => path.join(workspace.logs, `${options.runId}-${name}.log`);
  const roleCommand = options.compiled ? compiledCommandForScript : commandForScript;
  const api = NodeProcess.start({ name: 'api', command: roleCommand(run.scripts, 'start:api'), env, logFile: log('api') });
  const workers: NodeProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of [api, ...workers]) await child.stop(STOP_TIMEOUT_MS);
  };
  const startWorkers = async (): Promise<NodeProcess[]> => {
    if (workers.length > 0) return workers;
    for (let i = 1; i <= options.workers; i++) {
      workers.push(
        NodeProcess.start({
          name: `worker-${i}`,
          command: roleCommand(run.scripts, 'start:worker'),
          env: { ...env, UV_THREADPOOL_SIZE: String(workerThreadpoolSize()) },
          logFile: log(`worker-${i}`),
          niceness: WORKER_NICENESS,
        }),
      );
    }
    await Promise.all(workers.map((child) => child.ready(START_TIMEOUT_MS)));
    return workers;
  };
  try {
    await Promise.all([api.ready(START_TIMEOUT_MS), options.deferWorkers ? undefined : startWorkers()]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl: `http://127.0.0.1:${port}`, api, workers, startWorkers, stop };
}
