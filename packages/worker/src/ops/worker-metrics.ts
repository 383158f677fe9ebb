import type { Job, Worker } from 'bullmq';
import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Job outcomes and durations by queue, fed from BullMQ's own events so that every job is
 * counted whatever the handler did.
 */
export function observeWorkers(workers: readonly Worker[], registry: Registry): void {
  const jobs = new Counter({ name: 'avatar_jobs_total', help: 'Jobs finished, by queue and outcome', labelNames: ['queue', 'outcome'], registers: [registry] });
  const duration = new Histogram({
    name: 'avatar_job_duration_seconds',
    help: 'Time from a job starting to it finishing',
    labelNames: ['queue', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const record = (queue: string, job: Job | undefined, outcome: string): void => {
    jobs.inc({ queue, outcome });
    if (job?.processedOn && job.finishedOn) duration.observe({ queue, outcome }, (job.finishedOn - job.processedOn) / 1000);
  };
  for (const worker of workers) {
    worker.on('completed', (job, result) => record(worker.name, job, typeof result === 'string' ? result : 'completed'));
    worker.on('failed', (job, error) => {
      // an UnrecoverableError ends the job whatever attempts remain
      const final = error.name === 'UnrecoverableError' || !job || job.attemptsMade >= (job.opts.attempts ?? 1);
      record(worker.name, job, final ? 'failed' : 'retry');
    });
    worker.on('stalled', () => jobs.inc({ queue: worker.name, outcome: 'stalled' }));
  }
}
