import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole =
  /** API side: commands fail at once while Redis is down, so requests answer 503 instead of hanging. */
  | 'producer'
  /** BullMQ workers: block and wait through outages, as BullMQ requires. */
  | 'worker';

export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000 };
  return new Redis(url, {
    ...options,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...extra,
  });
}
