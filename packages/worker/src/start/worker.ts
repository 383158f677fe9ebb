// must run before anything touches the libuv threadpool: sharp's parallelism comes from it
import './threadpool.js';
import { FastdfsClient } from '@avatar/fastdfs';
import { announceReady, createLogger, exitOnStartupError, loadConfig, shutdownTimeoutMs, stopOnSignal } from '@avatar/shared';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startOpsServer } from '../ops/ops-server.js';
import { startWorkerRuntime } from '../runtime/worker-runtime.js';

/** The worker process alone, as a deployment runs it: the composition root (config, clients, runtime, ops port) and the signal handling. */
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
  stopOnSignal(logger, 'worker', async () => {
    // active jobs finish within SHUTDOWN_GRACE_MS; the rest are handed back to the queue
    await runtime.close();
    await ops?.close();
    await fastdfs.close();
  }, { timeoutMs: shutdownTimeoutMs(config) });
  announceReady();
}

main().catch(exitOnStartupError);
