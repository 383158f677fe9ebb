import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { SUPERVISED_ENV, SUPERVISOR_MESSAGES } from '@avatar/shared';
import { labelFor, relayLines } from './labelled-output.js';

export interface ChildSpec {
  /** Its log label. */
  name: string;
  /** Absolute path of its TypeScript entry, the one `pnpm start:<name>` runs. */
  entry: string;
  /** Its CPU niceness (0 = as the supervisor, higher yields the CPU sooner). */
  niceness?: number;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * How a child runs its TypeScript entry, as `pnpm start:<name>` does: workspace packages from
 * their sources (the "source" export condition; plain `node` on a build reads dist/), through
 * tsx's ESM loader, resolved once: `node --import tsx`, with no tsx wrapper process to relay signals twice.
 */
const sourceNodeArgs = ['--conditions=source', '--import', import.meta.resolve('tsx')];

/**
 * One entry run as a child process: in the supervisor's process group (so a SIGKILL to the
 * group leaves nothing behind), output relayed with its label, and an IPC channel for its
 * "ready", for the supervisor's "stop" and so it stops by itself if the supervisor disappears.
 * While the channel is open it leaves SIGINT/SIGTERM to the supervisor (see `stopOnSignal`).
 */
export class SupervisedChild {
  /** Resolves on the child's ready message; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves once it has exited and its output has been relayed. */
  readonly exited: Promise<ChildExit>;
  private isReady = false;
  private stopRequested = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (message) => {
        if (message !== SUPERVISOR_MESSAGES.ready) return;
        this.isReady = true;
        resolve();
      });
      void this.exited.then((exit) => reject(new Error(`${name} exited before it was ready (${describeExit(exit)})`)));
    });
    // a rejection nobody awaits (the crash path reports it) must not take the supervisor down
    this.ready.catch(() => undefined);
  }

  static start(spec: ChildSpec, options: ChildOptions): SupervisedChild {
    const child = spawn(process.execPath, [...sourceNodeArgs, spec.entry], {
      cwd: options.cwd,
      env: { ...options.env, [SUPERVISED_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    if (spec.niceness && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, spec.niceness);
      } catch {
        // a child that cannot be reniced still runs; one that already exited is reported by `exited`
      }
    }
    const label = labelFor(spec.name);
    if (child.stdout) relayLines(child.stdout, process.stdout, label);
    if (child.stderr) relayLines(child.stderr, process.stderr, label);
    return new SupervisedChild(spec.name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Tells the child to stop, at most once. Over the channel, not with a signal: a supervised
   * child cannot tell the supervisor's SIGTERM from a terminal's Ctrl-C to the whole group, and
   * ignores both. A child whose channel is already closed is stopping by itself.
   */
  requestStop(): void {
    if (this.stopRequested || !this.isRunning()) return;
    this.stopRequested = true;
    if (this.isReady) {
      this.sendStop();
      return;
    }
    // still starting, with no stop handler yet (it sends "ready" right after installing one):
    // SIGTERM's default action ends it, as nothing is in flight; if it was ready after all, it
    // ignored the signal and gets the message once its "ready" arrives
    this.child.kill('SIGTERM');
    void this.ready.then(() => this.sendStop(), () => undefined);
  }

  private sendStop(): void {
    // a channel that closes meanwhile means the child is exiting: `exited` reports it
    if (this.isRunning() && this.child.connected) this.child.send(SUPERVISOR_MESSAGES.stop, () => undefined);
  }

  kill(): void {
    if (this.isRunning()) this.child.kill('SIGKILL');
  }

  /** The exit, or undefined when it is still running after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<ChildExit | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
