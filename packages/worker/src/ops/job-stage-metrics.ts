import { Histogram, type Registry } from 'prom-client';

/**
 * The stages of a `process-avatar` job, each timed on its own: the image work (`decode`,
 * `encode`), the I/O around it (`read_staged`, `store`, `delete_replaced`, `remove_staged`)
 * and every database or queue round trip the workflow waits on.
 */
export const jobStages = [
  'db_claim',
  'db_newer_check',
  'read_staged',
  'decode',
  'encode',
  'store',
  'db_master',
  'db_stored',
  'db_commit',
  'delete_replaced',
  'db_files_deleted',
  'schedule_deletion',
  'remove_staged',
  'db_cleanup',
] as const;

export type JobStage = (typeof jobStages)[number];

/** Where the workflow reports how long each stage took. */
export interface JobStageTimer {
  /** Runs `work` and records its wall time under `stage`, whether it succeeds or throws. */
  time<T>(stage: JobStage, work: () => Promise<T>): Promise<T>;
  /** Records a duration measured elsewhere (the renderer's decode and encode). */
  observe(stage: JobStage, seconds: number): void;
}

/** Times nothing: a workflow built without a metrics registry. */
export const untimedStages: JobStageTimer = {
  time: (_stage, work) => work(),
  observe: () => undefined,
};

/** `avatar_job_stage_seconds{stage}` on `registry`: where a job's wall time goes. */
export function jobStageMetrics(registry: Registry): JobStageTimer {
  const histogram = new Histogram({
    name: 'avatar_job_stage_seconds',
    help: 'Wall time of each stage of a process-avatar job',
    labelNames: ['stage'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  // a series per stage from the start, so a dashboard shows every stage even before it ran
  for (const stage of jobStages) histogram.zero({ stage });
  return {
    async time(stage, work) {
      const end = histogram.startTimer({ stage });
      try {
        return await work();
      } finally {
        end();
      }
    },
    observe(stage, seconds) {
      histogram.observe({ stage }, seconds);
    },
  };
}
