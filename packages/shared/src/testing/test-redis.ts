import { randomBytes } from 'node:crypto';
import { deleteRedisPrefix } from '../queue/delete-redis-prefix.js';

export interface TestRedis {
  url: string;
  prefix: string;
  /** Deletes every key under the prefix and closes the helper connection. */
  cleanup(): Promise<void>;
}

/** A unique key prefix on the shared Redis per test file; BullMQ and the rate limiter use it. */
export function createTestRedis(): TestRedis {
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `avatar-test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  return {
    url,
    prefix,
    cleanup: () => deleteRedisPrefix(url, prefix),
  };
}
