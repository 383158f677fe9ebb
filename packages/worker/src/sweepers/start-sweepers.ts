import type { WorkerContext } from '../runtime/build-worker-context.js';
import { OutboxSweeper } from './outbox-sweeper.js';
import { runPeriodically } from './run-periodically.js';
import { StagingSweeper } from './staging-sweeper.js';
import { StoredFilesSweeper } from './stored-files-sweeper.js';

export interface Sweepers {
  /** Stops the timers and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** The repair sweeps, each every SWEEP_INTERVAL_MS and never overlapping itself; each repair goes through the workflow. */
export function startSweepers(context: Pick<WorkerContext, 'config' | 'logger' | 'repos' | 'queues' | 'adapters' | 'workflow'>): Sweepers {
  const { config, logger, repos, workflow } = context;
  const outbox = new OutboxSweeper({ uploads: repos.uploads, queue: context.queues.avatar, workflow, logger }, { olderThanMs: config.sweeper.outboxGraceMs });
  const staging = new StagingSweeper(
    { uploads: repos.uploads, staged: context.adapters.staged, workflow, logger },
    { graceMs: config.sweeper.graceMs, failedRetentionMs: config.failedOriginalRetentionMs },
  );
  const storedFiles = new StoredFilesSweeper({ uploads: repos.uploads, workflow }, { graceMs: config.sweeper.graceMs });
  const running = [
    runPeriodically('outbox', config.sweeper.intervalMs, () => outbox.sweep(), logger),
    runPeriodically('staging', config.sweeper.intervalMs, () => staging.sweep(), logger),
    runPeriodically('stored-files', config.sweeper.intervalMs, () => storedFiles.sweep(), logger),
  ];
  return {
    async stop() {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}
