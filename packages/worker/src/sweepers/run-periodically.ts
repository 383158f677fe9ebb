import type { Logger } from '@avatar/shared';

/** Runs `task` every `intervalMs`, never overlapping itself; errors are logged, and the next tick tries again. */
export function runPeriodically(name: string, intervalMs: number, task: () => Promise<unknown>, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const tick = (): void => {
    if (running) return;
    running = task()
      .catch((error: unknown) => logger.warn({ err: error, sweeper: name }, 'sweep failed; will retry'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
