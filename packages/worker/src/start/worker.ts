// must run before anything touches the libuv threadpool: sharp's parallelism comes from it
import './threadpool.js';
import { FastdfsClient } from '@avatar/fastdfs';
import { ConfigError, createLogger, loadConfig } from '@avatar/shared';
import { startWorkerRuntime } from '../worker-runtime.js';

/** The worker process alone, as a deployment runs it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(','), poolSize: config.fastdfs.poolSize });
  const runtime = await startWorkerRuntime(config, logger, fastdfs);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.worker.shutdownGraceMs }, 'worker stopping: finishing active jobs');
    void runtime
      .close()
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
