import { ConfigError } from '../config/load-config.js';
import type { Logger } from '../logger.js';

/**
 * Calls `stop` once on the first SIGTERM or SIGINT, then exits 0 (1 if stopping failed).
 * Every entry file stops this way, so a deployment's signal means the same everywhere.
 */
export function stopOnSignal(logger: Logger, what: string, stop: () => Promise<unknown>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${what} stopping`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** For `main().catch(...)`: a bad configuration prints just its message; anything else in full. */
export function exitOnStartupError(error: unknown): never {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
