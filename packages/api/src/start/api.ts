import { FastdfsClient } from '@avatar/fastdfs';
import { announceReady, createLogger, exitOnStartupError, loadConfig, shutdownTimeoutMs, stopOnSignal } from '@avatar/shared';
import { startApiRuntime } from '../api-runtime.js';

/** The API process alone, as a deployment runs it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'api' });
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(','), poolSize: config.fastdfs.poolSize });
  const api = await startApiRuntime(config, logger, fastdfs);
  logger.info({ url: api.url }, 'api listening');
  stopOnSignal(logger, 'api', async () => {
    // stop taking uploads, let those in flight finish, then close connections
    await api.close();
    await fastdfs.close();
  }, { timeoutMs: shutdownTimeoutMs(config) });
  announceReady();
}

main().catch(exitOnStartupError);
