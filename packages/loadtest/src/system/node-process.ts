import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import os from 'node:os';
import { SUPERVISED_ENV, SUPERVISOR_MESSAGES } from '@avatar/shared';
import { REPO_ROOT, type SpawnCommand } from './node-command.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcessOptions {
  /** Its name in the report (`api`, `worker-1`, `raw-sharp`…). */
  name: string;
  command: SpawnCommand;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr go here, never to the terminal (the progress bar owns it). */
  logFile: string;
  /** CPU niceness, as `pnpm start` gives its worker. */
  niceness?: number;
}

/**
 * A child node process with an IPC channel, started the way `pnpm start`'s supervisor starts
 * its children (`AVATAR_SUPERVISED=1`): it leaves Ctrl-C to this process, stops when told to
 * over the channel, and stops by itself if the channel closes because the load test died.
 */
export class NodeProcess {
  readonly exited: Promise<ProcessExit>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(options: NodeProcessOptions): NodeProcess {
    const log = openSync(options.logFile, 'a');
    try {
      const child = spawn(options.command.file, options.command.args, {
        cwd: REPO_ROOT,
        env: { ...options.env, [SUPERVISED_ENV]: '1' },
        stdio: ['ignore', log, log, 'ipc'],
      });
      // a spawn failure (ENOENT) is reported by `exited`
      child.on('error', () => undefined);
      if (options.niceness && child.pid !== undefined) {
        try {
          os.setPriority(child.pid, options.niceness);
        } catch {
          // one that cannot be reniced still runs
        }
      }
      return new NodeProcess(options.name, child, options.logFile);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first IPC message `accept` maps to a value; rejects if the process exits first or after `timeoutMs`. */
  waitForMessage<T>(accept: (message: unknown) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.name} did not answer within ${timeoutMs} ms (log: ${this.logFile})`))), timeoutMs);
      const onMessage = (message: unknown): void => {
        const value = accept(message);
        if (value !== undefined) finish(() => resolve(value));
      };
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        settle();
      };
      this.child.on('message', onMessage);
      void this.exited.then((exit) => finish(() => reject(new Error(`${this.name} exited (${describeExit(exit)}) before it was ready; its log: ${this.logFile}`))));
    });
  }

  /** Resolves on the `ready` message an entry sends once it serves (`announceReady`). */
  ready(timeoutMs: number): Promise<void> {
    return this.waitForMessage((m) => (m === SUPERVISOR_MESSAGES.ready ? true : undefined), timeoutMs).then(() => undefined);
  }

  /** Asks it to stop over the channel (the supervisor's way), and kills it if it has not exited after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<ProcessExit> {
    if (!this.isRunning()) return this.exited;
    if (this.child.connected) this.child.send(SUPERVISOR_MESSAGES.stop, () => undefined);
    else this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const exit = await Promise.race([this.exited, late]).finally(() => clearTimeout(timer));
    if (exit) return exit;
    this.kill();
    return this.exited;
  }

  kill(): void {
    if (this.isRunning()) this.child.kill('SIGKILL');
  }
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}
