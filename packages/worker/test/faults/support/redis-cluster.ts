import { execFileSync } from 'node:child_process';
import { it } from 'vitest';

/**
 * `it` for tests that run a real Redis Cluster (`redisCluster: true`). Without redis-server on
 * PATH they are skipped, saying why, except under CI, where they run and fail.
 */
export function itWithRedisCluster(): ReturnType<typeof it.skipIf> {
  const skip = !hasRedisServer() && !process.env.CI;
  if (skip) process.stdout.write('[fault] skipped: redis-server was not found on PATH (a Redis Cluster needs it)\n');
  return it.skipIf(skip);
}

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}
