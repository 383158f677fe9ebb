import { afterEach, expect, it } from 'vitest';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { waitFor } from './support/processes.js';
import { UploadLedger, printFigures, retryingEvents, sendBatch, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

// The whole dev server (tracker and storage in one process) stops, so clients get connection
// refused. A storage server stopped behind a running tracker answers differently: that is
// real-fastdfs-outage.test.ts, against the real server.
it('FastDFS dev server stopped for a while during a batch: jobs retry (retrying events) and every upload ends done', async () => {
  const total = 60;
  // one user per upload, so "done" is the only right ending
  system = await createFaultSystem({ users: total });
  const s = system;
  let storage = await s.startStorage();
  await s.startApi();
  await s.startWorker();
  const ledger = new UploadLedger();

  const outage = (async () => {
    await waitFor('the first uploads', 60_000, async () => ledger.results.length >= 15, 20);
    storage.signal('SIGTERM');
    const exit = await storage.waitForExit(10_000);
    expect(exit?.code).toBe(0);
    // long enough for jobs to fail against it and be retried with backoff
    await waitFor('retrying events while storage is down', 30_000, async () => (await retryingEvents(s.db)).count >= 3, 250);
    await new Promise((r) => setTimeout(r, 3_000));
    storage = await s.startStorage();
  })();
  await sendBatch(() => s.apiUrl, s.token, ledger, await smallJpegs(6), { total, clients: 2, pauseMs: 100, userOf: (i) => i + 1 });
  await outage;

  const figures = await ledger.settle(s.db, 120_000);
  const retries = await retryingEvents(s.db);
  printFigures('FastDFS dev server stopped', figures, `retrying events ${retries.count}`);
  expect(figures.accepted).toBe(total);
  expect(figures.lost).toBe(0);
  expect(figures.done).toBe(total);
  expect(retries.count).toBeGreaterThanOrEqual(3);
  expect(retries.codes).toEqual(new Set(['storage_unavailable']));
}, 180_000);
