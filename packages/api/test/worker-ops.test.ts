import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '@avatar/shared';
import { startOpsServer, startWorkerRuntime, type OpsServer, type WorkerRuntime } from '@avatar/worker';
import { postAvatar, waitForTerminal } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

let system: TestSystem;
let worker: WorkerRuntime;
let ops: OpsServer;
const registry = new Registry();

beforeAll(async () => {
  system = await startTestSystem({ worker: false });
  worker = await startWorkerRuntime(system.config, createLogger({ level: 'silent', name: 'worker' }), system.fastdfs, { metrics: registry });
  ops = await startOpsServer({ host: '127.0.0.1', port: 0, registry, ready: () => worker.ready() });
});
afterAll(async () => {
  await ops?.close();
  await worker?.close(5_000);
  await system?.close();
});

it('serves worker health and counts finished jobs by outcome on /metrics', async () => {
  const base = `http://127.0.0.1:${ops.port}`;
  expect((await fetch(`${base}/health/live`)).status).toBe(200);
  expect((await fetch(`${base}/health/ready`)).status).toBe(200);

  const accepted = await postAvatar(system.url, 1, system.token(1), await solidJpeg(120, 120, { r: 1, g: 100, b: 1 }));
  expect((await waitForTerminal(system.url, accepted.body.uploadId as string, system.token(1))).status).toBe('done');
  let text = '';
  for (let i = 0; i < 50 && !text.includes('outcome="done"'); i++) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (!text.includes('outcome="done"')) await new Promise((r) => setTimeout(r, 100));
  }
  expect(text).toMatch(/avatar_jobs_total\{queue="avatar-process",outcome="done"\} 1/);
  expect(text).toMatch(/avatar_job_duration_seconds_count\{queue="avatar-process",outcome="done"\} 1/);
  expect((await fetch(`${base}/nope`)).status).toBe(404);
});

it('reports not ready once the worker has stopped', async () => {
  await worker.close(5_000);
  expect((await fetch(`http://127.0.0.1:${ops.port}/health/ready`)).status).toBe(503);
});
