import { fileURLToPath } from 'node:url';
import { startDevServer, type DevServer } from '@avatar/fastdfs';
import { createLogger, demoUsers, exitOnStartupError, loadConfig, shutdownTimeoutMs, stopOnSignal, type Config } from '@avatar/shared';
import { labelFor, labelledDestination } from './supervisor/labelled-output.js';
import { prepareDatabase } from './supervisor/prepare-database.js';
import { SupervisedChild, describeExit } from './supervisor/supervised-child.js';
import { Supervisor } from './supervisor/supervisor.js';

/** Time a child gets beyond its own forced-exit timeout before the supervisor kills it. */
const KILL_MARGIN_MS = 5_000;

/** The worker's CPU niceness under `pnpm start`: rendering is batch work, answering an upload is not. */
const WORKER_NICENESS = 10;

const entry = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * `pnpm start`: the whole system on one machine. This process prepares the database once,
 * runs the embedded FastDFS dev server itself (when FDFS_TRACKERS is unset), and supervises
 * the API and a worker as child processes — each with its own event loop and libuv
 * threadpool, so sharp never holds up the API's staging writes. This process owns the
 * shutdown: SIGINT/SIGTERM (to it or to its whole group; the children leave them to it) stop
 * the API, then the worker, then storage; a child that dies on its own stops the rest, exit 1.
 */
async function main(): Promise<void> {
  // a closed stdout (a pipe whose reader left) must not take the supervisor down and orphan its children
  process.stdout.on('error', () => undefined);
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'supervisor', destination: labelledDestination(labelFor('supervisor'), process.stdout) });
  await prepareDatabase(config);

  // Storage lives in this process, not in a child: it must outlive the worker's last uploads,
  // and this process is the last to stop.
  const devServer = config.fastdfs.embedded
    ? await startDevServer({ trackerPort: config.fastdfs.dev.trackerPort, storagePort: config.fastdfs.dev.storagePort, httpPort: config.fastdfs.dev.httpPort, dataDir: config.fastdfs.dev.dataDir })
    : undefined;
  const env = devServer ? { ...process.env, FDFS_TRACKERS: devServer.trackers, FDFS_PUBLIC_URL: devServer.publicUrl } : process.env;

  // stop order: the API stops taking uploads first, then the worker finishes its jobs.
  // The worker yields the CPU to the API: on one machine an upload waits on nobody's render.
  const children = [
    SupervisedChild.start({ name: 'api', entry: entry('packages/api/src/start/api.ts') }, { cwd: process.cwd(), env }),
    SupervisedChild.start({ name: 'worker', entry: entry('packages/worker/src/start/worker.ts'), niceness: WORKER_NICENESS }, { cwd: process.cwd(), env }),
  ];
  const childStopTimeoutMs = shutdownTimeoutMs(config) + KILL_MARGIN_MS;
  let stopped: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopped ??= (async () => {
      try {
        await supervisor.stop();
      } finally {
        await devServer?.close();
      }
    })());
  const supervisor = new Supervisor(children, logger, {
    childStopTimeoutMs,
    onUnexpectedExit(name, exit) {
      logger.error({ child: name, exit: describeExit(exit) }, `${name} exited unexpectedly; stopping the rest`);
      void stopAll().finally(() => process.exit(1));
    },
  });
  stopOnSignal(logger, 'system', stopAll, {
    timeoutMs: children.length * childStopTimeoutMs + KILL_MARGIN_MS,
    onForce: () => supervisor.killAll(),
  });
  logger.info({ pids: Object.fromEntries(children.map((c) => [c.name, c.pid])) }, 'processes started');

  // a child that exits before it is ready has already set off the stop above
  if (await supervisor.ready().then(() => true, () => false)) console.log(banner(config, devServer));
}

function banner(config: Config, devServer: DevServer | undefined): string {
  const url = `http://${config.http.host}:${config.http.port}`;
  return [
    '',
    `  API        ${url}   (docs: ${url}/docs, dashboard: ${url}/admin/queues)`,
    `  Try it     ${url}/ — paste a token from: pnpm token 1`,
    devServer
      ? `  FastDFS    embedded dev server: tracker ${devServer.trackers}, storage :${devServer.storagePort}, files ${devServer.publicUrl}`
      : `  FastDFS    trackers ${config.fastdfs.trackers.join(', ')}, files ${config.fastdfs.publicUrl}`,
    `  Worker     1 process, concurrency ${config.worker.concurrency}, formats ${config.avatar.format} ${config.avatar.sizes.join('/')}`,
    config.env !== 'production' ? `  Demo users ${demoUsers.map((u) => u.id).join(', ')} — get a token with: pnpm token 1` : '',
    `  Logs       each line labelled by process: ${['supervisor', 'api', 'worker'].join(', ')}; Ctrl-C stops everything`,
    '',
  ].join('\n');
}

main().catch(exitOnStartupError);
