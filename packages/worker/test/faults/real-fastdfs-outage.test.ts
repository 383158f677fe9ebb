import { afterEach, expect } from 'vitest';
import type { RealFastdfs } from '@avatar/fastdfs/testing';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { waitFor } from './support/processes.js';
import { checkStoredAvatars, itWithRealFastdfs } from './support/real-fastdfs.js';
import { UploadLedger, printFigures, retryingEvents, sendBatch, smallJpegs, type BatchOptions } from './support/uploads.js';

// Storage faults against a real FastDFS 6.16 (tracker + one storage), whose answers the dev
// server only imitates: e.g. a tracker with no ACTIVE storage answers a store query with ENOENT.

const itReal = itWithRealFastdfs();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Runs one step of an outage and notes how long it took, for the printed figures. */
type Step = (name: string, action: () => Promise<void>) => Promise<void>;

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

/**
 * 40 uploads for 40 users (so `done` is the only right ending), with `outage` run once the
 * 10th is accepted; the rest arrive during it. Every upload must end `done` with its files
 * on the real storage, and every retry must be for `storage_unavailable`.
 */
async function batchThroughOutage(
  fault: string,
  outage: (real: RealFastdfs, step: Step) => Promise<void>,
  pace: Pick<BatchOptions, 'clients' | 'pauseMs'> = { clients: 2, pauseMs: 100 },
): Promise<void> {
  const total = 40;
  // backoff 300 ms doubling: 10 attempts wait out ~150 s of outage (a clean stop itself took
  // up to ~30 s once), while a job retried after a short one is not left waiting long
  const s = await createFaultSystem({ users: total, fastdfs: 'real', env: { JOB_BACKOFF_MS: '300', JOB_ATTEMPTS: '10' } });
  system = s;
  await s.startApi();
  await s.startWorker();
  const ledger = new UploadLedger();
  const steps: string[] = [];
  const step: Step = async (name, action) => {
    const started = Date.now();
    await action();
    steps.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  const during = (async () => {
    await waitFor('the 10th accepted upload', 60_000, async () => ledger.accepted.length >= 10, 20);
    await outage(s.realFastdfs, step);
  })();
  await sendBatch(() => s.apiUrl, s.token, ledger, await smallJpegs(8), { total, ...pace, userOf: (i) => i + 1 });
  await during;

  const figures = await ledger.settle(s.db, 60_000);
  const retries = await retryingEvents(s.db);
  const stored = await checkStoredAvatars(s.db, s.realFastdfs.trackers);
  const [failedRows] = await s.db('uploads').where({ status: 'failed' }).count<Array<{ count: string }>>({ count: '*' });
  printFigures(
    fault,
    figures,
    `${steps.join(', ')}; retrying events ${retries.count} (${[...retries.codes].join(', ')}), ${stored.files} variant files read back for ${stored.users} users`,
  );
  expect(figures.accepted).toBe(total);
  expect(figures.lost).toBe(0);
  expect(figures.done).toBe(total);
  expect(Number(failedRows?.count)).toBe(0);
  // the fault was felt, and only ever as an outage to wait out
  expect(retries.count).toBeGreaterThan(0);
  expect(retries.codes).toEqual(new Set(['storage_unavailable']));
  expect(stored.bad).toEqual([]);
  expect(stored.users).toBe(total);
  expect(stored.files).toBe(total * 3);
}

itReal('real FastDFS storage stopped cleanly for 10 s mid-batch: uploads retry and all 40 end done', async () => {
  await batchThroughOutage('real FastDFS storage stopped', async (real, step) => {
    // the tracker marks it OFFLINE at once and answers store queries with ENOENT
    await step('stop', () => real.stopStorage());
    await step('down', () => sleep(10_000));
    await step('start until ACTIVE', () => real.startStorage());
  });
}, 120_000);

itReal('real FastDFS storage SIGKILLed mid-batch and started 5 s later: uploads retry and all 40 end done', async () => {
  await batchThroughOutage('real FastDFS storage SIGKILL', async (real, step) => {
    // its connection to the tracker drops with it, so the tracker marks it OFFLINE at once: store
    // queries answer ENOENT (and uploads in flight see the connection reset) until it is back
    await step('kill', () => real.killStorage());
    await step('down', () => sleep(5_000));
    await step('start until ACTIVE', () => real.startStorage());
  });
}, 120_000);

itReal('real FastDFS tracker restarted mid-batch, uploads spaced out: uploads retry and all 40 end done', async () => {
  // The client reuses a tracker's "store here" answer for 1 s, so within that second uploads do
  // not ask the tracker. Spaced beyond it, each upload asks, and those arriving while the
  // tracker is down must retry: that is the path under test.
  await batchThroughOutage(
    'real FastDFS tracker restarted',
    async (real, step) => {
      await step('stop', () => real.stopTracker());
      await step('down', () => sleep(5_000));
      await step('start until the storage is ACTIVE', () => real.startTracker());
    },
    { clients: 1, pauseMs: 1_100 },
  );
}, 120_000);
