import { afterEach, expect } from 'vitest';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { sparePort } from './support/processes.js';
import { itWithRealFastdfs } from './support/real-fastdfs.js';

const itReal = itWithRealFastdfs();

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

interface Ready {
  status: number;
  fastdfs: boolean | undefined;
  others: boolean[];
}

/** The API's /health/ready: `checks.<name>.ok`. */
async function apiReady(url: string): Promise<Ready> {
  const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
  const { fastdfs, ...others } = body.checks;
  return { status: response.status, fastdfs: fastdfs?.ok, others: Object.values(others).map((c) => c.ok) };
}

/** The worker's ops server /health/ready: `checks.<name>` booleans. */
async function workerReady(url: string): Promise<Ready> {
  const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { checks: Record<string, boolean> };
  const { fastdfs, ...others } = body.checks;
  return { status: response.status, fastdfs, others: Object.values(others) };
}

itReal('readiness: API and worker say not ready while the real tracker answers but has no ACTIVE storage, and ready once it is back', async () => {
  const s = await createFaultSystem({ fastdfs: 'real' });
  system = s;
  const opsPort = await sparePort();
  await s.startApi();
  await s.startWorker({ WORKER_METRICS_PORT: String(opsPort) });
  const workerUrl = `http://127.0.0.1:${opsPort}`;
  const upAndReady: Ready = { status: 200, fastdfs: true, others: [true, true] };
  const upWithoutStorage: Ready = { status: 503, fastdfs: false, others: [true, true] };

  expect(await apiReady(s.apiUrl)).toEqual(upAndReady);
  expect(await workerReady(workerUrl)).toEqual(upAndReady);

  // a clean stop: the tracker stays up and answers, with ENOENT to "where do I store"
  await s.realFastdfs.stopStorage();
  await expect(s.realFastdfs.tool('fdfs_monitor')).resolves.toMatch(/OFFLINE/);
  expect(await apiReady(s.apiUrl)).toEqual(upWithoutStorage);
  expect(await workerReady(workerUrl)).toEqual(upWithoutStorage);

  await s.realFastdfs.startStorage();
  expect(await apiReady(s.apiUrl)).toEqual(upAndReady);
  expect(await workerReady(workerUrl)).toEqual(upAndReady);
}, 90_000);
