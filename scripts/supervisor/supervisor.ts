import type { Logger } from '@avatar/shared';
import { describeExit, type ChildExit, type SupervisedChild } from './supervised-child.js';

export interface SupervisorOptions {
  /** How long one child may take to stop before it is killed: longer than its own forced-exit timeout. */
  childStopTimeoutMs: number;
  /** A child exited while nothing asked it to: the caller stops the rest (see `pnpm start` in the README). */
  onUnexpectedExit: (name: string, exit: ChildExit) => void;
}

/**
 * Watches a set of child processes and stops them one after another, in the order given:
 * the API first (it stops taking uploads and drains), then the worker (it finishes its active
 * jobs), so that nothing a later one needs goes away early. The children leave signals to it,
 * so the order holds however the stop was asked for (Ctrl-C reaches the whole process group).
 */
export class Supervisor {
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly children: readonly SupervisedChild[],
    private readonly logger: Logger,
    private readonly options: SupervisorOptions,
  ) {
    for (const child of children) {
      void child.exited.then((exit) => {
        if (!this.stopping) options.onUnexpectedExit(child.name, exit);
      });
    }
  }

  /** Resolves once every child said it is ready; rejects when one exits first. */
  async ready(): Promise<void> {
    await Promise.all(this.children.map((child) => child.ready));
  }

  /** Stops the children in order, each told once; the same promise on every call. Rejects naming any child that did not exit 0. */
  stop(): Promise<void> {
    this.stopping ??= this.stopInOrder();
    return this.stopping;
  }

  /** The forced path: nothing is left running behind the supervisor. */
  killAll(): void {
    for (const child of this.children) child.kill();
  }

  private async stopInOrder(): Promise<void> {
    const unclean: string[] = [];
    for (const child of this.children) {
      child.requestStop();
      let exit = await child.waitForExit(this.options.childStopTimeoutMs);
      if (!exit) {
        this.logger.error({ child: child.name, timeoutMs: this.options.childStopTimeoutMs }, 'child did not stop in time; killing it');
        child.kill();
        exit = await child.exited;
      }
      if (exit.code === 0) this.logger.info({ child: child.name }, 'child stopped');
      else unclean.push(`${child.name} ${describeExit(exit)}`);
    }
    if (unclean.length > 0) throw new Error(`not every process stopped cleanly: ${unclean.join(', ')}`);
  }
}
