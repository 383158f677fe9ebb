import { SUPERVISOR_MESSAGES } from '@avatar/shared';

/** What this package's own child processes tell the load test over IPC. */
export type ChildMessage =
  | { type: 'storage'; trackers: string; publicUrl: string }
  | { type: 'listening'; port: number }
  | { type: 'result'; result: unknown };

/** The environment variable a child entry reads its options from (JSON). */
export const CHILD_OPTIONS_ENV = 'LOADTEST_CHILD_OPTIONS';

export function readChildOptions<T>(): T {
  const raw = process.env[CHILD_OPTIONS_ENV];
  if (!raw) throw new Error(`${CHILD_OPTIONS_ENV} is not set: this entry is started by the load test`);
  return JSON.parse(raw) as T;
}

export function sendToParent(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * The child side of the channel: stop when the load test says so, or when it disappears (the
 * channel closes), so nothing is left running behind a load test that died. Ctrl-C reaches the
 * whole process group; the load test stops its children in its own order, so it is ignored here.
 */
export function stopWhenParentSays(stop: () => Promise<unknown> | void): void {
  let stopping = false;
  const run = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    Promise.resolve(stop()).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('message', (message) => {
    if (message === SUPERVISOR_MESSAGES.stop) run();
  });
  process.once('disconnect', run);
  if (process.connected) process.on('SIGINT', () => undefined);
}
