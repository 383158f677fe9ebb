import { isInfrastructureError, type Logger } from '@avatar/shared';

/**
 * Runs `step` for each item so that one bad item (say, a row naming a path outside the
 * staging folder) is logged and skipped instead of aborting every sweep on every tick.
 * An outage still aborts the sweep: the next tick tries again.
 */
export async function forEachIsolated<T>(items: Iterable<T>, logger: Logger, sweep: string, describe: (item: T) => string, step: (item: T) => Promise<void>): Promise<void> {
  for (const item of items) {
    try {
      await step(item);
    } catch (error) {
      if (isInfrastructureError(error)) throw error;
      logger.warn({ err: error, sweep, item: describe(item) }, 'sweep skipped an item');
    }
  }
}
