import { FastdfsClient } from '@avatar/fastdfs';
import { ConfigError, createLogger, loadConfig } from '@avatar/shared';
import { startApiRuntime } from '../api-runtime.js';

/** The API process alone, as a deployment runs it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'api' });
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(','), poolSize: config.fastdfs.poolSize });
  const api = await startApiRuntime(config, logger, fastdfs);
  logger.info({ url: api.url }, 'api listening');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'api stopping: draining requests in flight');
    void api
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
