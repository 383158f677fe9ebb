import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { SUPERVISOR_MESSAGES } from '@avatar/shared';
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

/** tsx's ESM loader, resolved once: children run `node --import tsx <entry>`, with no tsx wrapper process to relay signals twice. */
const tsxLoader = import.meta.resolve('tsx');

/**
 * One entry run as a child process: in the supervisor's process group (a terminal's Ctrl-C
 * reaches it directly too), output relayed with its label, an IPC channel for its "ready"
 * message and so it stops by itself if the supervisor disappears.
 */
export class SupervisedChild {
  /** Resolves on the child's ready message; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves once it has exited and its output has been relayed. */
  readonly exited: Promise<ChildExit>;
  /** Resolves when the child says it got a stop signal (from the process group, or from here). */
  private readonly stopping: Promise<void>;
  private stoppingNoticed = false;
  private terminated = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    this.stopping = new Promise((resolve) => {
      child.on('message', (message) => {
        if (message !== SUPERVISOR_MESSAGES.stopping) return;
        this.stoppingNoticed = true;
        resolve();
      });
    });
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (message) => message === SUPERVISOR_MESSAGES.ready && resolve());
      void this.exited.then((exit) => reject(new Error(`${name} exited before it was ready (${describeExit(exit)})`)));
    });
    // a rejection nobody awaits (the crash path reports it) must not take the supervisor down
    this.ready.catch(() => undefined);
  }

  static start(spec: ChildSpec, options: ChildOptions): SupervisedChild {
    const child = spawn(process.execPath, ['--import', tsxLoader, spec.entry], {
      cwd: options.cwd,
      env: options.env,
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
   * Makes sure the child is stopping. A terminal's Ctrl-C (or `kill -TERM -PGID`) reaches the
   * child directly; it says so, and then gets no signal from here, so one Ctrl-C counts once and
   * a third one still forces. Otherwise, once `noticeMs` has passed without that word, SIGTERM —
   * at most once (were the word merely late, that is the child's second signal: still clean).
   */
  async requestStop(noticeMs: number): Promise<void> {
    if (noticeMs > 0 && this.isRunning() && !this.stoppingNoticed) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, noticeMs);
      });
      await Promise.race([this.stopping, this.exited, timeout]).finally(() => clearTimeout(timer));
    }
    if (this.terminated || this.stoppingNoticed || !this.isRunning()) return;
    this.terminated = true;
    this.child.kill('SIGTERM');
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
