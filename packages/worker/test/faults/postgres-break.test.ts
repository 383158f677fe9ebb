import knex from 'knex';
import { afterEach, expect, it } from 'vitest';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { waitFor } from './support/processes.js';
import { UploadLedger, printFigures, sendBatch, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

it("PostgreSQL connections broken (pg_terminate_backend) several times during a batch: uploads resume and every accepted one ends done", async () => {
  const total = 60;
  system = await createFaultSystem({ users: total });
  const s = system;
  await s.startStorage();
  await s.startApi();
  await s.startWorker();
  const ledger = new UploadLedger();
  // a separate connection to the maintenance database: it survives the terminations
  const admin = knex({ client: 'pg', connection: process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', pool: { min: 0, max: 1 } });
  let terminated = 0;
  try {
    const breaker = (async () => {
      for (const after of [10, 25, 40]) {
        await waitFor(`${after} uploads sent`, 60_000, async () => ledger.results.length >= after, 20);
        const result = await admin.raw<{ rows: unknown[] }>(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()',
          [s.dbName],
        );
        terminated += result.rows.length;
      }
    })();
    await sendBatch(() => s.apiUrl, s.token, ledger, await smallJpegs(6), { total, clients: 2, pauseMs: 60, userOf: (i) => i + 1 });
    await breaker;
  } finally {
    await admin.destroy();
  }

  const figures = await ledger.settle(s.db, 120_000);
  printFigures('PostgreSQL connections terminated 3×', figures, `backends terminated ${terminated}`);
  expect(terminated).toBeGreaterThan(0);
  expect(figures.hung).toBe(0);
  expect(figures.noAnswer).toBe(0);
  // refused uploads (connection lost mid-request) are 503s: nothing was promised
  expect(ledger.refused.every((r) => r.status === 503)).toBe(true);
  expect(figures.accepted).toBeGreaterThan(total / 2);
  expect(figures.lost).toBe(0);
  expect(figures.done).toBe(figures.accepted);
  // the API still answers after the storm
  const ready = await fetch(`${s.apiUrl}/health/ready`);
  expect(ready.status).toBe(200);
}, 180_000);
