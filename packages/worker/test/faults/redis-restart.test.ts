import { afterEach, expect, it } from 'vitest';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { waitFor } from './support/processes.js';
import { UploadLedger, printFigures, sendBatch, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

it('Redis (AOF, appendfsync always) restarted during a batch: nothing acknowledged is lost, uploads meanwhile get 503 at once', async () => {
  const total = 60;
  system = await createFaultSystem({ users: total, ownRedis: true, env: { RATE_LIMIT_UPLOADS_PER_USER: '1000', RATE_LIMIT_UPLOADS_PER_IP: '100000' } });
  const s = system;
  let redis = await s.startRedis();
  await s.startStorage();
  await s.startApi();
  await s.startWorker();
  const ledger = new UploadLedger();
  let sentWhileDown = 0;
  let refusedWhileDown: Array<{ status: number; code: string }> = [];
  let readyWhileDown: { status: number; body: { checks: { redis: { ok: boolean } } } } | undefined;

  const restart = (async () => {
    await waitFor('the first uploads', 60_000, async () => ledger.results.length >= 20, 20);
    redis.signal('SIGTERM');
    expect((await redis.waitForExit(10_000))?.code).toBe(0);
    const before = ledger.results.length;
    // while it is down, the clients keep sending: each must be refused quickly, not hang
    await waitFor('uploads sent while Redis is down', 30_000, async () => ledger.results.length >= before + 6, 20);
    const during = ledger.results.slice(before);
    sentWhileDown = during.length;
    refusedWhileDown = during.flatMap((r) => (r.kind === 'refused' ? [{ status: r.status, code: r.code }] : []));
    const ready = await fetch(`${s.apiUrl}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    readyWhileDown = { status: ready.status, body: (await ready.json()) as { checks: { redis: { ok: boolean } } } };
    redis = await s.startRedis();
  })();
  await sendBatch(() => s.apiUrl, s.token, ledger, await smallJpegs(6), { total, clients: 2, pauseMs: 50, userOf: (i) => i + 1 });
  await restart;

  const figures = await ledger.settle(s.db, 150_000);
  printFigures('Redis restarted', figures, `sent while down ${sentWhileDown}, refused 503 while down ${refusedWhileDown.length}`);
  expect(figures.hung).toBe(0);
  expect(figures.noAnswer).toBe(0);
  expect(sentWhileDown).toBeGreaterThanOrEqual(6);
  expect(readyWhileDown?.status).toBe(503);
  expect(readyWhileDown?.body.checks.redis.ok).toBe(false);
  expect(refusedWhileDown.length).toBeGreaterThanOrEqual(4);
  expect(refusedWhileDown.every((r) => r.status === 503 && r.code === 'service_unavailable')).toBe(true);
  expect(ledger.refused.every((r) => r.status === 503)).toBe(true);
  expect(figures.accepted).toBeGreaterThan(total / 2);
  expect(figures.lost).toBe(0);
  expect(figures.done).toBe(figures.accepted);
  // nothing refused left a row behind: every row is an upload some client saw accepted
  const [rows] = await s.db('uploads').count<Array<{ count: string }>>({ count: '*' });
  expect(Number(rows?.count)).toBe(figures.accepted);
}, 200_000);
