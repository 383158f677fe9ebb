// must run before anything touches the libuv threadpool: the worker's sharp needs it
import '../packages/worker/src/start/threadpool.js';
import { processMetricsRegistry, startApiRuntime } from '@avatar/api';
import { FastdfsClient, startDevServer, type DevServer } from '@avatar/fastdfs';
import { createDb, createLogger, demoUsers, exitOnStartupError, loadConfig, migrateToLatest, stopOnSignal, UserDetailRepository } from '@avatar/shared';
import { startWorkerRuntime } from '@avatar/worker';

/**
 * `pnpm start`: the whole system in one process for one machine — migrations, demo users
 * (outside production), the embedded FastDFS dev server when FDFS_TRACKERS is unset, the API
 * and a worker. SIGINT/SIGTERM stop everything in order: API, worker, storage.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'avatar' });

  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: 2 });
  try {
    await ensureDatabaseExists(config.databaseUrl);
    await migrateToLatest(db, config.tables);
    if (config.env !== 'production') await new UserDetailRepository(db, config.tables).ensureUsers(demoUsers);
  } finally {
    await db.destroy();
  }

  let devServer: DevServer | undefined;
  if (config.fastdfs.embedded) {
    devServer = await startDevServer({
      trackerPort: config.fastdfs.dev.trackerPort,
      storagePort: config.fastdfs.dev.storagePort,
      httpPort: config.fastdfs.dev.httpPort,
      dataDir: config.fastdfs.dev.dataDir,
    });
  }
  const fastdfs = new FastdfsClient({ trackers: devServer?.trackers ?? config.fastdfs.trackers.join(','), poolSize: config.fastdfs.poolSize });
  // one registry: the API's /metrics shows the worker's job metrics too
  const metrics = processMetricsRegistry();
  const worker = await startWorkerRuntime(config, logger, fastdfs, { metrics });
  const api = await startApiRuntime(config, logger, fastdfs, { metrics });

  console.log(
    [
      '',
      `  API        ${api.url}   (docs: ${api.url}/docs, dashboard: ${api.url}/admin/queues)`,
      devServer
        ? `  FastDFS    embedded dev server: tracker ${devServer.trackers}, storage :${devServer.storagePort}, files ${devServer.publicUrl}`
        : `  FastDFS    trackers ${config.fastdfs.trackers.join(', ')}, files ${config.fastdfs.publicUrl}`,
      `  Worker     concurrency ${config.worker.concurrency}, formats ${config.avatar.format} ${config.avatar.sizes.join('/')}`,
      config.env !== 'production' ? `  Demo users ${demoUsers.map((u) => u.id).join(', ')} — get a token with: pnpm token 1` : '',
      '',
    ].join('\n'),
  );

  stopOnSignal(logger, 'system', async () => {
    await api.close();
    await worker.close();
    await fastdfs.close();
    await devServer?.close();
  });
}

/** One-machine convenience: the default database is created if the server does not have it yet. */
async function ensureDatabaseExists(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const db = createDb({ databaseUrl: admin.toString(), poolMax: 1 });
  try {
    const found = await db.raw<{ rows: unknown[] }>('select 1 from pg_database where datname = ?', [name]);
    if (found.rows.length === 0) await db.raw('create database ??', [name]);
  } catch {
    // no rights on the maintenance database: the migration step reports a missing database clearly
  } finally {
    await db.destroy();
  }
}

main().catch(exitOnStartupError);
