import { ConfigError } from '../config/load-config.js';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../logger.js';

/** Room beyond SHUTDOWN_GRACE_MS for the API's drain (15 s at most) and for closing Redis, PostgreSQL and FastDFS. */
const SHUTDOWN_MARGIN_MS = 20_000;

/** The signal count that stops waiting: the first starts the stop, the second is only noted. */
const FORCING_SIGNAL = 3;

/** What an entry's stop is allowed: SHUTDOWN_GRACE_MS for active jobs plus a margin for the rest. */
export function shutdownTimeoutMs(config: Pick<Config, 'worker'>): number {
  return config.worker.shutdownGraceMs + SHUTDOWN_MARGIN_MS;
}

export type SignalAction = 'stop' | 'ignore' | 'force';

/**
 * What the `count`th stop signal means. A second one is expected and harmless: a process
 * group's signal reaches a child both directly and through its parent (pnpm, tsx or the
 * `pnpm start` supervisor passes it on). Only a third is a person insisting.
 */
export function signalAction(count: number): SignalAction {
  if (count === 1) return 'stop';
  return count >= FORCING_SIGNAL ? 'force' : 'ignore';
}

export interface StopOnSignalOptions {
  /** A stop still running after this long is abandoned: the process exits 1. */
  timeoutMs: number;
  /** Runs just before a forced exit (third signal or timeout), e.g. to kill what the process started. */
  onForce?: () => void;
}

/**
 * Calls `stop` once on the first SIGTERM or SIGINT, then exits 0 (1 if stopping failed).
 * A second signal during the stop is logged and ignored; a third one, or a stop that outlasts
 * `timeoutMs`, forces exit 1. Under a supervisor (an IPC channel), the channel closing — the
 * supervisor is gone — stops the process too, so it is never left orphaned.
 * Every entry file stops this way, so a deployment's signal means the same everywhere.
 */
export function stopOnSignal(logger: Logger, what: string, stop: () => Promise<unknown>, options: StopOnSignalOptions): void {
  let received = 0;
  const forceExit = (reason: string): void => {
    logger.error({ reason }, `${what} forced to exit before it stopped cleanly`);
    options.onForce?.();
    process.exit(1);
  };
  const onSignal = (signal: NodeJS.Signals | 'disconnect'): void => {
    received += 1;
    const action = signalAction(received);
    if (action === 'ignore') {
      logger.info({ signal }, `${what} is already stopping; a third signal forces exit`);
      return;
    }
    if (action === 'force') {
      forceExit(`${signal} received ${received} times`);
      return;
    }
    logger.info({ signal }, `${what} stopping`);
    // a supervisor that sees this does not signal again what the process group already told it
    if (process.connected) process.send?.(SUPERVISOR_MESSAGES.stopping);
    setTimeout(() => forceExit(`still stopping after ${options.timeoutMs} ms`), options.timeoutMs);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // a supervisor that is itself stopping closes the channel only after this process exited
  if (process.connected) process.once('disconnect', () => received === 0 && onSignal('disconnect'));
}

/** What a supervised entry tells its supervisor (`pnpm start`) over the IPC channel. */
export const SUPERVISOR_MESSAGES = {
  /** it serves */
  ready: 'ready',
  /** it got its first stop signal and is stopping */
  stopping: 'stopping',
} as const;

/**
 * Tells a supervisor (`pnpm start`) over its IPC channel that this process serves; a no-op
 * when run on its own. An explicit message, because log lines may be filtered by LOG_LEVEL.
 */
export function announceReady(): void {
  if (process.connected) process.send?.(SUPERVISOR_MESSAGES.ready);
}

/** For `main().catch(...)`: a bad configuration prints just its message; anything else in full. */
export function exitOnStartupError(error: unknown): never {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
