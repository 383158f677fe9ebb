import { afterEach, expect, it } from 'vitest';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { waitFor, type Exit } from './support/processes.js';
import { UploadLedger, printFigures, sendUpload, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

it('SIGTERM to the API and the worker under load: every 202 ends terminal, refusals are 503, no job is left active, both exit 0', async () => {
  const users = 40;
  system = await createFaultSystem({ users, env: { SHUTDOWN_GRACE_MS: '10000' } });
  const s = system;
  await s.startStorage();
  const api = await s.startApi();
  const worker = await s.startWorker();
  const images = await smallJpegs(6);
  const ledger = new UploadLedger();

  let sending = true;
  let i = 0;
  const clients = Array.from({ length: 3 }, async () => {
    while (sending) {
      const userId = 1 + (i++ % users);
      const result = ledger.record(userId, await sendUpload(s.apiUrl, userId, s.token(userId), images[i % images.length] as Buffer));
      // while no API listens, do not spin on refused connections
      if (result.kind === 'no_answer') await new Promise((r) => setTimeout(r, 100));
    }
  });

  await waitFor('uploads accepted before the API stops', 60_000, async () => ledger.accepted.length >= 20, 20);
  api.signal('SIGTERM');
  const apiExit: Exit | undefined = await api.waitForExit(20_000);
  const acceptedBeforeRestart = ledger.accepted.length;

  // the worker is stopped while it has jobs in hand
  await waitFor('an active job', 60_000, async () => (await s.jobCounts()).active > 0, 20).catch(() => undefined);
  worker.signal('SIGTERM');
  const workerExit: Exit | undefined = await worker.waitForExit(20_000);

  await s.startApi();
  await s.startWorker();
  await waitFor('uploads accepted by the new API', 60_000, async () => ledger.accepted.length >= acceptedBeforeRestart + 10, 20);
  sending = false;
  await Promise.all(clients);

  const figures = await ledger.settle(s.db, 120_000);
  const counts = await waitFor('no active job', 60_000, async () => {
    const c = await s.jobCounts();
    return c.active === 0 && c.waiting === 0 ? c : undefined;
  }).catch(() => s.jobCounts());
  const refusedCodes = [...new Set(ledger.refused.map((r) => `${r.status} ${r.code}`))];
  const noAnswers = ledger.results.flatMap((r) => (r.kind === 'no_answer' ? [r.message] : []));
  printFigures('SIGTERM API + worker', figures, `api exit ${apiExit?.code}, worker exit ${workerExit?.code}, refused as ${refusedCodes.join(', ') || 'none'}, no answer ${noAnswers.length} (${[...new Set(noAnswers.map((m) => m.replace(/127\.0\.0\.1:\d+/, 'api')))].join(' | ')})`);

  expect(apiExit).toEqual({ code: 0, signal: null });
  expect(workerExit).toEqual({ code: 0, signal: null });
  expect(figures.hung).toBe(0);
  expect(refusedCodes.every((c) => c === '503 shutting_down')).toBe(true);
  // a request that got no answer was not accepted either: every recorded upload is one a client saw answered 202
  const [rows] = await s.db('uploads').count<Array<{ count: string }>>({ count: '*' });
  expect(Number(rows?.count)).toBe(figures.accepted);
  expect(figures.lost).toBe(0);
  expect(figures.failed).toBe(0);
  expect(counts.active).toBe(0);
}, 200_000);
