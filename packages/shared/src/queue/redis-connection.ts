import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisRole =
  /** API side: commands fail at once while Redis is down, so requests answer 503 instead of hanging. */
  | 'producer'
  /** BullMQ workers: block and wait through outages, as BullMQ requires. */
  | 'worker';

/** One server or a cluster; both speak the same commands, and BullMQ and the rate limiter take either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: `config.redis`. */
export interface RedisTarget {
  url: string;
  /** seed nodes of a Redis Cluster; when set, `url` is not used */
  cluster?: Array<{ host: string; port: number }> | undefined;
}

const retryStrategy = (times: number): number => Math.min(times * 200, 2_000);

/** Per-connection options by role, the same for a server and for each node of a cluster. */
function roleOptions(role: RedisRole): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000 };
}

export function createRedis(target: RedisTarget, role: RedisRole, extra: RedisOptions = {}): RedisClient {
  if (target.cluster) return createCluster(target.cluster, role, extra);
  return new Redis(target.url, { ...roleOptions(role), retryStrategy, ...extra });
}

function createCluster(nodes: Array<{ host: string; port: number }>, role: RedisRole, extra: RedisOptions): Cluster {
  // the cluster client owns the offline queue and reconnection; each node connection takes the rest
  const { enableOfflineQueue, enableReadyCheck, ...redisOptions } = { ...roleOptions(role), ...extra };
  const options: ClusterOptions = {
    redisOptions,
    clusterRetryStrategy: retryStrategy,
    // a producer refuses commands while no node is reachable (503) instead of queueing them
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: enableReadyCheck ?? true,
    slotsRefreshTimeout: 2_000,
  };
  return new Cluster(nodes, options);
}
