import { availableParallelism } from 'node:os';

/**
 * The libuv threadpool sharp runs in, sized as the worker sizes it by default
 * (packages/worker/src/start/threadpool.ts, which keeps a UV_THREADPOOL_SIZE it is given).
 * The tool hands this one value to the workers it starts and to the raw sharp baseline, so
 * the two are compared on equal threads even if the worker's default changes.
 */
export function workerThreadpoolSize(): number {
  return Math.max(4, availableParallelism() * 2);
}
