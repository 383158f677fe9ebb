import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import type { WorkerAdapters, WorkerContext } from '../src/runtime/build-worker-context.js';
import { startOpsServer, type OpsServer } from '../src/ops/ops-server.js';
import { testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
let context: WorkerContext | undefined;
let ops: OpsServer | undefined;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 1);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'job-stage-metrics-test-'));
});
afterAll(async () => {
  await ops?.close();
  await context?.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** FastDFS double: stores nothing, names each set afresh. */
function fakeFiles(): WorkerAdapters['files'] {
  let n = 0;
  return {
    async storeSet(variants, onMasterStored) {
      const master = `group1/M00/00/00/metrics${++n}.webp`;
      await onMasterStored?.(master);
      return variants.map((v, i) => ({ size: v.size, fileId: i === 0 ? master : master.replace('.webp', `_${v.size}.webp`) }));
    },
    async deleteFiles() {},
  };
}

async function stagedPhoto(userId: number) {
  const stagedPath = path.join(stagingDir, `${userId}-${Date.now()}-${Math.random()}`);
  await writeFile(stagedPath, await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3a7' } }).jpeg().toBuffer());
  return acceptUpload(tdb.repos, userId, stagedPath);
}

/** `avatar_job_stage_seconds_count` by stage, as Prometheus would scrape it. */
async function stageCounts(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^avatar_job_stage_seconds_count\{stage="([a-z_]+)"\} (\d+)$/gm)) counts.set(match[1] as string, Number(match[2]));
  return counts;
}

describe('job stage metrics', () => {
  it('a processed job shows each stage it went through in /metrics, the render split into decode and encode', async () => {
    const metrics = new Registry();
    context = testWorkerContext({ database: tdb, redis, stagingDir, metrics, adapters: { files: fakeFiles() } });
    ops = await startOpsServer({ host: '127.0.0.1', port: 0, registry: metrics, ready: async () => ({ ready: true, checks: { workers: true, redis: true, fastdfs: true } }) });

    // the second upload replaces the first's avatar: its files are deleted inline
    const first = await stagedPhoto(1);
    expect(await context.workflow.process(first.id, 1)).toBe('done');
    const second = await stagedPhoto(1);
    expect(await context.workflow.process(second.id, 1)).toBe('done');

    const counts = await stageCounts(ops.port);
    const ran = ['db_claim', 'db_newer_check', 'read_staged', 'decode', 'encode', 'store', 'db_master', 'db_stored', 'db_commit', 'remove_staged'];
    for (const stage of ran) expect([stage, counts.get(stage)]).toEqual([stage, 2]);
    expect([counts.get('delete_replaced'), counts.get('db_files_deleted')]).toEqual([1, 1]);
    // stages this run never needed are exported at zero, not missing
    expect(counts.get('schedule_deletion')).toBe(0);
  });
});
