import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { createLogger, UPLOAD_EVENTS_CHANNEL } from '@avatar/shared';
import { startWorkerRuntime, type WorkerRuntime } from '@avatar/worker';
import { UploadEventListener } from '../src/adapters/upload-event-listener.js';
import { startApiRuntime, type ApiRuntime } from '../src/api-runtime.js';
import { getJson, postAvatar, waitForTerminal } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

type LogLine = Record<string, unknown> & { msg?: string; reqId?: string; uploadId?: string };

/** A logger at info whose JSON lines land in `lines`. */
function capturingLogger(name: string, lines: LogLine[]): ReturnType<typeof createLogger> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return createLogger({ level: 'info', name, destination: sink });
}

/** The same database reached another way (`localhost`, not `127.0.0.1`), named so pg_stat_activity shows who connected. */
function listenUrlFor(databaseUrl: string, applicationName: string): string {
  const url = new URL(databaseUrl);
  url.hostname = 'localhost';
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ worker: false });
});
afterAll(async () => {
  await system?.close();
});

describe('DATABASE_LISTEN_URL', () => {
  it('wakes a waiter through the listen connection when the pool connection notifies', async () => {
    const listener = new UploadEventListener(listenUrlFor(system.config.databaseUrl, 'listen-wake-test'), createLogger({ level: 'silent', name: 'test' }));
    await listener.start();
    try {
      expect(listener.listening).toBe(true);
      const uploadId = '3f1c2d4e-0000-4000-8000-000000000001';
      // longer than the test's own timeout: only the notification can end this wait in time
      const woken = listener.waitFor(uploadId, 600_000);
      await system.db.raw('select pg_notify(?, ?)', [UPLOAD_EVENTS_CHANNEL, `${uploadId}:1`]);
      await woken;
    } finally {
      await listener.close();
    }
  }, 15_000);
});

describe('an API listening on its own URL, and a worker, both logging at info', () => {
  const applicationName = `avatar-listen-${process.pid}`;
  const apiLines: LogLine[] = [];
  const workerLines: LogLine[] = [];
  let api: ApiRuntime;
  let worker: WorkerRuntime | undefined;

  beforeAll(async () => {
    const config = { ...system.config, logLevel: 'info' as const, http: { ...system.config.http, port: 0 }, databaseListenUrl: listenUrlFor(system.config.databaseUrl, applicationName) };
    api = await startApiRuntime(config, capturingLogger('api', apiLines), system.fastdfs);
  });
  afterAll(async () => {
    await worker?.close(5_000);
    await api?.close();
  });

  it('holds its LISTEN on DATABASE_LISTEN_URL, not on the pool', async () => {
    const client = new pg.Client({ connectionString: system.config.databaseUrl });
    await client.connect();
    try {
      await vi.waitFor(async () => {
        const { rows } = await client.query<{ query: string }>('select query from pg_stat_activity where application_name = $1 and datname = current_database()', [applicationName]);
        expect(rows.map((row) => row.query)).toEqual([expect.stringMatching(/^LISTEN /i)]);
      });
    } finally {
      await client.end();
    }
  });

  it('wakes a long poll, and the worker logs the POST\'s request id on every line for that upload', async () => {
    const jpeg = await solidJpeg(48, 48, { r: 30, g: 200, b: 30 });
    const token = system.token(2);
    const accepted = await postAvatar(api.url, 2, token, jpeg);
    expect(accepted.status).toBe(202);
    const uploadId = accepted.body.uploadId as string;
    const eventsUrl = `${api.url}${accepted.body.eventsUrl as string}`;
    const before = (await getJson(`${eventsUrl}?after=0`, token)).body.events as Array<{ seq: number }>;
    const lastSeq = before.at(-1)?.seq ?? 0;

    const poll = getJson(`${eventsUrl}?after=${lastSeq}&wait=25`, token);
    worker = await startWorkerRuntime(system.config, capturingLogger('worker', workerLines), system.fastdfs);
    const woken = await poll;
    expect(woken.status).toBe(200);
    expect((woken.body.events as unknown[]).length).toBeGreaterThan(0);
    expect((await waitForTerminal(api.url, uploadId, token)).status).toBe('done');

    const post = apiLines.find((line) => (line.req as { method?: string; url?: string } | undefined)?.method === 'POST' && line.reqId !== undefined);
    const requestId = post?.reqId;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    await vi.waitFor(() => expect(workerLines.some((line) => line.uploadId === uploadId && line.outcome === 'done')).toBe(true));
    const forUpload = workerLines.filter((line) => line.uploadId === uploadId || JSON.stringify(line).includes(uploadId));
    expect(forUpload.map((line) => line.msg)).toEqual(expect.arrayContaining(['processing upload', 'upload processed']));
    expect(forUpload.map((line) => line.reqId)).toEqual(forUpload.map(() => requestId));
  }, 60_000);
});
