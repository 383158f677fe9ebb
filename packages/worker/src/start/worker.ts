// must run before anything touches the libuv threadpool: sharp's parallelism comes from it
import './threadpool.js';
import { FastdfsClient } from '@avatar/fastdfs';
import { ConfigError, createLogger, loadConfig } from '@avatar/shared';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startOpsServer } from '../ops/ops-server.js';
import { startWorkerRuntime } from '../worker-runtime.js';

/** The worker process alone, as a deployment runs it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(','), poolSize: config.fastdfs.poolSize });
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const runtime = await startWorkerRuntime(config, logger, fastdfs, { metrics });
  const ops =
    config.worker.metricsPort === undefined
      ? undefined
      : await startOpsServer({ host: config.http.host, port: config.worker.metricsPort, registry: metrics, ready: () => runtime.ready() });
  if (ops) logger.info({ port: ops.port }, 'worker health and metrics listening');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.worker.shutdownGraceMs }, 'worker stopping: finishing active jobs');
    void runtime
      .close()
      .then(() => ops?.close())
      .then(() => fastdfs.close())
      .then(() => process.exit(0), (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
