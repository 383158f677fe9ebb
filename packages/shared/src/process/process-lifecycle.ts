import { ConfigError } from '../config/load-config.js';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../logger.js';

/** Room beyond SHUTDOWN_GRACE_MS for the API's drain (15 s at most) and for closing Redis, PostgreSQL and FastDFS. */
const SHUTDOWN_MARGIN_MS = 20_000;

/** The stop request that stops waiting: the first starts the stop, the second is only noted. */
const FORCING_REQUEST = 3;

/**
 * Signals this close together are one request to stop. One Ctrl-C arrives twice: the terminal
 * signals the whole process group (this process directly), and pnpm passes its own copy on
 * (SIGINT on the first press, SIGTERM on the second) a few milliseconds later. A person does
 * not press twice within it on purpose; a third press still forces.
 */
export const SAME_REQUEST_WINDOW_MS = 300;

/** What an entry's stop is allowed: SHUTDOWN_GRACE_MS for active jobs plus a margin for the rest. */
export function shutdownTimeoutMs(config: Pick<Config, 'worker'>): number {
  return config.worker.shutdownGraceMs + SHUTDOWN_MARGIN_MS;
}

export type SignalAction = 'stop' | 'ignore' | 'force';

/** What the `count`th stop request means: the first stops, a second is noted (the stop is under way), a third is a person insisting. */
export function signalAction(count: number): SignalAction {
  if (count === 1) return 'stop';
  return count >= FORCING_REQUEST ? 'force' : 'ignore';
}

/** Whether a signal at `at` repeats the request counted at `previousAt` (see SAME_REQUEST_WINDOW_MS). */
export function isSameRequest(previousAt: number | undefined, at: number): boolean {
  return previousAt !== undefined && at - previousAt < SAME_REQUEST_WINDOW_MS;
}

export interface StopOnSignalOptions {
  /** A stop still running after this long is abandoned: the process exits 1. */
  timeoutMs: number;
  /** Runs just before a forced exit (third request or timeout), e.g. to kill what the process started. */
  onForce?: () => void;
}

/** What a supervised entry and its supervisor (`pnpm start`) say over the IPC channel. */
export const SUPERVISOR_MESSAGES = {
  /** entry → supervisor: it serves */
  ready: 'ready',
  /** supervisor → entry: stop now, it is this process's turn */
  stop: 'stop',
} as const;

/**
 * Set by `pnpm start`'s supervisor on its children. An IPC channel alone is not enough to
 * hand shutdown to the parent: process managers that fork with one (PM2's fork mode) stop a
 * process with SIGINT and expect it to act on it.
 */
export const SUPERVISED_ENV = 'AVATAR_SUPERVISED';

/** Under `pnpm start`'s supervisor while the IPC channel it opened is open. */
function isSupervised(): boolean {
  return process.connected === true && process.env[SUPERVISED_ENV] === '1';
}

/**
 * Calls `stop` once on the first stop request, then exits 0 (1 if stopping failed). A second
 * request during the stop is logged and ignored; a third one, or a stop that outlasts
 * `timeoutMs`, forces exit 1. Signals within SAME_REQUEST_WINDOW_MS of each other count as
 * one request. Every entry file stops this way, so a deployment's signal means the same everywhere.
 *
 * Under a supervisor (an IPC channel) the supervisor owns the shutdown: it stops its children
 * one by one, in order, with a `stop` message, so SIGINT/SIGTERM — a terminal's Ctrl-C reaches
 * the whole process group — are only logged here. If the channel closes, the supervisor is
 * gone: the process stops by itself, and from then on signals count as above.
 */
export function stopOnSignal(logger: Logger, what: string, stop: () => Promise<unknown>, options: StopOnSignalOptions): void {
  let requests = 0;
  let lastSignalAt: number | undefined;
  const forceExit = (reason: string): void => {
    logger.error({ reason }, `${what} forced to exit before it stopped cleanly`);
    options.onForce?.();
    process.exit(1);
  };
  const onRequest = (trigger: string): void => {
    requests += 1;
    const action = signalAction(requests);
    if (action === 'ignore') {
      logger.info({ trigger }, `${what} is already stopping; a third signal forces exit`);
      return;
    }
    if (action === 'force') {
      forceExit(`stop requested ${requests} times (last: ${trigger})`);
      return;
    }
    logger.info({ trigger }, `${what} stopping`);
    setTimeout(() => forceExit(`still stopping after ${options.timeoutMs} ms`), options.timeoutMs);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (isSupervised()) {
      logger.info({ signal }, `${what} got ${signal}; its supervisor stops it in turn`);
      return;
    }
    const at = Date.now();
    if (isSameRequest(lastSignalAt, at)) return;
    lastSignalAt = at;
    onRequest(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (isSupervised()) {
    process.on('message', (message) => {
      if (message === SUPERVISOR_MESSAGES.stop && requests === 0) onRequest('supervisor');
    });
    // a supervisor that is itself stopping closes the channel only after this process exited
    process.once('disconnect', () => requests === 0 && onRequest('supervisor gone'));
  }
}

/**
 * Tells a supervisor (`pnpm start`) over its IPC channel that this process serves; a no-op
 * when run on its own. An explicit message, because log lines may be filtered by LOG_LEVEL.
 */
export function announceReady(): void {
  if (isSupervised()) process.send?.(SUPERVISOR_MESSAGES.ready);
}

/** For `main().catch(...)`: a bad configuration prints just its message; anything else in full. */
export function exitOnStartupError(error: unknown): never {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
