import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { avatarRuleBreaks, checkAvatars, settleFiles } from './support/consistency.js';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { sparePort, waitFor } from './support/processes.js';
import { itWithRedisCluster } from './support/redis-cluster.js';
import { UploadLedger, printFigures, sendBatch, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

const TOTAL = 300;
const USERS = 30;
const CLIENTS = 8;
const WORKER_CONCURRENCY = 4;

async function terminalCount(s: FaultSystem): Promise<number> {
  const [row] = await s.db('uploads').whereIn('status', ['done', 'failed', 'superseded']).count<Array<{ count: string }>>({ count: '*' });
  return Number(row?.count ?? 0);
}

async function filesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Orphans written within a second of `atMs` whose names match `kind`: what a kill may leave behind. */
async function writtenAround(s: FaultSystem, orphans: string[], atMs: number, kind: (fileId: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  for (const orphan of orphans.filter(kind)) {
    const written = (await stat(path.join(s.dataDir, 'data', orphan.split('/').slice(2).join('/')))).mtimeMs;
    if (Math.abs(written - atMs) < 1_000) found.push(orphan);
  }
  return found;
}

itWithRedisCluster()(
  'two APIs and two workers on a Redis Cluster, no shared disk: kill -9 of one of each in the middle of 300 uploads loses nothing and leaves no file behind',
  async () => {
    system = await createFaultSystem({
      users: USERS,
      redisCluster: true,
      env: {
        STAGING_BACKEND: 'fastdfs',
        WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
        SWEEP_INTERVAL_MS: '1000',
        SWEEP_GRACE_MS: '4000',
        OUTBOX_GRACE_MS: '2000',
        HELD_CONNECTIONS_PER_USER: '0',
      },
    });
    const s = system;
    // every process gets a folder of its own: nothing on disk is shared
    const dirOf = (name: string): string => path.join(s.root, `staging-${name}`);
    const apiPorts = [s.env.PORT as string, String(await sparePort())];
    const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    await s.startStorage();
    const [api1] = await Promise.all([
      s.startApi({ PORT: apiPorts[0] as string, STAGING_DIR: dirOf('api-1') }),
      s.startApi({ PORT: apiPorts[1] as string, STAGING_DIR: dirOf('api-2') }),
    ]);
    const [worker1] = await Promise.all([s.startWorker({ STAGING_DIR: dirOf('worker-1') }), s.startWorker({ STAGING_DIR: dirOf('worker-2') })]);
    const images = await smallJpegs(12);
    const ledger = new UploadLedger();

    // alternate the APIs; once API 1 is killed, send everything to API 2 (nothing is restarted)
    let turn = 0;
    let api1Killed = false;
    const nextApi = (): string => (api1Killed ? (apiUrls[1] as string) : (apiUrls[turn++ % 2] as string));

    let workerKilledAtMs = 0;
    let terminalAtWorkerKill = -1;
    const workerKiller = (async () => {
      await waitFor('some uploads to finish before the worker kill', 120_000, async () => (await terminalCount(s)) >= 60, 50);
      workerKilledAtMs = Date.now();
      worker1.signal('SIGKILL');
      terminalAtWorkerKill = await terminalCount(s);
      await worker1.exited;
    })();
    let apiKilledAtMs = 0;
    let sentAtApiKill = -1;
    const apiKiller = (async () => {
      await waitFor('half the uploads to be answered before the API kill', 120_000, async () => ledger.results.length >= TOTAL / 2, 20);
      api1Killed = true;
      apiKilledAtMs = Date.now();
      sentAtApiKill = ledger.results.length;
      api1.signal('SIGKILL');
      await api1.exited;
    })();

    // three consecutive uploads go to one user and are taken by three clients at once: each
    // user's uploads overlap, and land on both APIs
    await sendBatch(nextApi, (userId) => s.token(userId), ledger, images, { total: TOTAL, clients: CLIENTS, userOf: (i) => 1 + (Math.floor(i / 3) % USERS) });
    await Promise.all([workerKiller, apiKiller]);

    const figures = await ledger.settle(s.db, 90_000);
    const [unfinishedRow] = await s.db('uploads').whereNotIn('status', ['done', 'failed', 'superseded']).count<Array<{ count: string }>>({ count: '*' });
    const [rowsRow] = await s.db('uploads').count<Array<{ count: string }>>({ count: '*' });
    const avatars = await checkAvatars(s.db);
    const ruleBreaks = await avatarRuleBreaks(s.db);
    // cleanup jobs the killed worker held come back with the stalled-job check (lock + check interval)
    const files = await settleFiles(s.db, s.dataDir, 60_000);
    await waitFor('the staging intents to be swept', 15_000, async () => (await s.db('staged_originals').count<Array<{ count: string }>>({ count: '*' }))[0]?.count === '0', 500).catch(() => undefined);
    const [intentsRow] = await s.db('staged_originals').count<Array<{ count: string }>>({ count: '*' });

    // FastDFS names a file only in its answer to the upload: a master written just as the worker
    // died, or an original written just as the API died (before its intent row), cannot be found
    // by anyone. Only those are excused, at most one per job or request in flight.
    const isOriginal = (id: string): boolean => id.endsWith('.upload');
    const isMaster = (id: string): boolean => !isOriginal(id) && !/_\d+\.[a-z]+$/.test(id);
    const mastersAtKill = await writtenAround(s, files.orphans, workerKilledAtMs, isMaster);
    const originalsAtKill = await writtenAround(s, files.orphans, apiKilledAtMs, isOriginal);
    const excused = new Set([...mastersAtKill, ...originalsAtKill]);

    const liveDirs = { 'api-2': await filesIn(dirOf('api-2')), 'worker-1': await filesIn(dirOf('worker-1')), 'worker-2': await filesIn(dirOf('worker-2')) };
    // a killed API's temp files can only go when an API starts on its folder again: after the
    // run, one does (its start removes temp files older than SWEEP_GRACE_MS)
    const leftByKilledApi = (await filesIn(dirOf('api-1'))).length;
    await s.startApi({ PORT: apiPorts[0] as string, STAGING_DIR: dirOf('api-1') });
    const killedApiDirAfterRestart = await filesIn(dirOf('api-1'));

    const unacknowledged = Number(rowsRow?.count ?? 0) - figures.accepted;
    printFigures(
      'scale-out, kill -9 of one API and one worker',
      figures,
      `worker killed with ${terminalAtWorkerKill} terminal, API killed after ${sentAtApiKill} answers; upload rows no client heard of ${unacknowledged}; ` +
        `files on disk ${files.onDisk}, referenced ${files.referenced}, excused masters ${mastersAtKill.length} / originals ${originalsAtKill.length}; ` +
        `temp files the killed API left ${leftByKilledApi}`,
    );
    expect(terminalAtWorkerKill).toBeGreaterThanOrEqual(0);
    expect(terminalAtWorkerKill).toBeLessThan(figures.accepted);
    expect(sentAtApiKill).toBeLessThan(TOTAL);
    expect(figures.sent).toBe(TOTAL);
    expect(figures.refused + figures.hung).toBe(0);
    // only requests in flight on the killed API go unanswered
    expect(figures.noAnswer).toBeLessThanOrEqual(CLIENTS);
    expect(figures.accepted).toBe(TOTAL - figures.noAnswer);
    expect(figures.lost).toBe(0);
    expect(figures.failed).toBe(0);
    expect(Number(unfinishedRow?.count)).toBe(0);
    expect(avatars.unserved).toEqual([]);
    expect(ruleBreaks).toEqual([]);
    expect(avatars.users).toBe(USERS);
    expect(Number(intentsRow?.count)).toBe(0);
    expect(mastersAtKill.length).toBeLessThanOrEqual(WORKER_CONCURRENCY);
    expect(originalsAtKill.length).toBeLessThanOrEqual(figures.noAnswer);
    expect(files.orphans.filter((o) => !excused.has(o))).toEqual([]);
    expect(files.missing).toEqual([]);
    expect(liveDirs).toEqual({ 'api-2': [], 'worker-1': [], 'worker-2': [] });
    expect(killedApiDirAfterRestart).toEqual([]);
  },
  240_000,
);
