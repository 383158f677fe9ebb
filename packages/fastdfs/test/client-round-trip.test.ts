import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FastdfsClient, slaveFileId } from '../src/index.js';
import { startRealFastdfs } from '../src/testing/index.js';
import { startTestServer } from './helpers/dev-server.js';
import { describeRealMissing, realFastdfsMissing } from './helpers/real-server.js';
import { rejection } from './helpers/rejection.js';

/** A server the protocol tests run against: the dev server, or the real FastDFS 6.16. */
interface ServerUnderTest {
  trackers: string;
  /** Connections each server accepted; only the dev server counts them. */
  connections?(): { tracker: number; storage: number };
  close(): Promise<void>;
}

interface ServerKind {
  name: string;
  start(ipFields: 'ipv4' | 'ipv6'): Promise<ServerUnderTest>;
}

const DEV: ServerKind = {
  name: 'the dev server',
  start: async (ipFields) => {
    const server = await startTestServer({ ipFieldSize: ipFields === 'ipv6' ? 45 : 15 });
    return { trackers: server.trackers, connections: () => server.connections(), close: () => server.dispose() };
  },
};
const REAL: ServerKind = {
  name: 'the real FastDFS 6.16',
  start: (ipFields) => startRealFastdfs({ ipFieldSize: ipFields }),
};
/** The real server when its launcher is here; otherwise its suites fail on CI or are skipped, saying why. */
const SERVERS: ServerKind[] = realFastdfsMissing === undefined ? [DEV, REAL] : [DEV];
describeRealMissing('FastdfsClient against the real FastDFS 6.16');

// Every server of this file starts at once (a real one restarted for 45-byte answers takes
// seconds, mostly waiting), one per kind and IP field width, shared by the tests.
const running = new Map<string, ServerUnderTest>();
const serverFor = (kind: ServerKind, ipFields: 'ipv4' | 'ipv6'): ServerUnderTest => {
  const server = running.get(`${kind.name} ${ipFields}`);
  if (!server) throw new Error(`${kind.name} (${ipFields}) did not start`);
  return server;
};
beforeAll(async () => {
  const starts = SERVERS.flatMap((kind) => (['ipv4', 'ipv6'] as const).map(async (ipFields) => running.set(`${kind.name} ${ipFields}`, await kind.start(ipFields))));
  await Promise.all(starts);
}, 90_000);
afterAll(async () => {
  await Promise.all([...running.values()].map((server) => server.close()));
});

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A deterministic stream of `size` bytes, produced in pieces and never held whole. */
function generated(size: number, piece = 64 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(piece, size - sent);
      const chunk = Buffer.alloc(length, sent % 251);
      sent += length;
      this.push(chunk);
    },
  });
}


/** Content whose crc32 has the top bit set, so a sign-extension bug would show. */
function contentWithHighCrc(): Buffer {
  for (;;) {
    const candidate = randomBytes(4096);
    if (crc32(candidate) >= 0x8000_0000) return candidate;
  }
}

describe.each(SERVERS)('FastdfsClient against $name', (kind) => {
  let server: ServerUnderTest;
  let client: FastdfsClient;

  // One server per file (the real one takes seconds to start), a fresh client per test.
  beforeEach(() => {
    server = serverFor(kind, 'ipv4');
    client = new FastdfsClient({ trackers: server.trackers, poolSize: 4 });
  });
  afterEach(async () => {
    await client.close();
  });

  it('uploads a buffer and downloads the same bytes, whole and by range', async () => {
    const content = randomBytes(51_200);
    const fileId = await client.upload(content, { ext: 'webp' });
    expect(fileId).toMatch(/^group1\/M00\/[0-9A-F]{2}\/[0-9A-F]{2}\/[A-Za-z0-9_-]{27}\d{2}\.webp$/);
    expect((await client.download(fileId)).equals(content)).toBe(true);
    expect((await client.download(fileId, { offset: 100, length: 50 })).equals(content.subarray(100, 150))).toBe(true);
    expect((await client.download(fileId, { offset: 51_000 })).equals(content.subarray(51_000))).toBe(true);
    // A count past the end is clamped by the server.
    expect((await client.download(fileId, { offset: 51_190, length: 100 })).equals(content.subarray(51_190))).toBe(true);
  });

  it('uploads a stream of known size and downloads it as a stream, by range too', async () => {
    const size = 3 * 1024 * 1024 + 17;
    const fileId = await client.upload({ stream: generated(size), size }, { ext: 'bin' });
    const expected = await collect(generated(size));
    const whole = await collect(await client.downloadStream(fileId));
    expect(createHash('sha256').update(whole).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
    const part = await collect(await client.downloadStream(fileId, { offset: 1_000_000, length: 2_000_000 }));
    expect(part.equals(expected.subarray(1_000_000, 3_000_000))).toBe(true);
    expect((await client.fileInfo(fileId)).size).toBe(size);
  });

  it('reports file info with the unsigned crc32 of the content', async () => {
    const content = contentWithHighCrc();
    const before = Math.floor(Date.now() / 1000);
    const fileId = await client.upload(content, { ext: 'jpg' });
    const info = await client.fileInfo(fileId);
    expect(info.size).toBe(content.length);
    expect(info.crc32).toBe(crc32(content));
    expect(info.crc32).toBeGreaterThanOrEqual(0x8000_0000);
    expect(info.sourceIp).toBe('127.0.0.1');
    expect(info.createdAt.getTime() / 1000).toBeGreaterThanOrEqual(before);
  });

  it('uploads slave files under the id slaveFileId predicts, and deletes a set', async () => {
    const masterId = await client.upload(Buffer.from('master'), { ext: 'webp' });
    const ids = [masterId];
    for (const size of [256, 128, 64]) {
      const slaveId = await client.uploadSlave(masterId, `_${size}`, Buffer.from(`slave ${size}`), { ext: 'webp' });
      expect(slaveId).toBe(slaveFileId(masterId, `_${size}`, 'webp'));
      expect((await client.download(slaveId)).toString()).toBe(`slave ${size}`);
      const info = await client.fileInfo(slaveId);
      expect(info.crc32).toBe(crc32(Buffer.from(`slave ${size}`)));
      ids.push(slaveId);
    }
    const streamed = await client.uploadSlave(masterId, '_s', { stream: Readable.from([Buffer.from('ab'), Buffer.from('cd')]), size: 4 }, { ext: '' });
    expect((await client.download(streamed)).toString()).toBe('abcd');

    const again = await rejection(client.uploadSlave(masterId, '_256', Buffer.from('x'), { ext: 'webp' }));
    expect(again).toMatchObject({ kind: 'status', status: 17 });
    for (const id of [...ids, streamed]) await client.delete(id);
    for (const id of ids) expect((await rejection(client.download(id))).notFound).toBe(true);
  });

  it('refuses a slave of a master that does not exist with ENOENT and keeps the connection', async () => {
    const masterId = await client.upload(Buffer.from('m'), { ext: 'jpg' });
    await client.delete(masterId);
    const opened = client.connectionsOpened;
    const error = await rejection(client.uploadSlave(masterId, '_256', Buffer.alloc(10_000), { ext: 'jpg' }));
    expect(error).toMatchObject({ kind: 'status', status: 2, transient: false });
    await client.upload(Buffer.from('next'), { ext: 'jpg' });
    expect(client.connectionsOpened).toBe(opened);
  });

  it('sets, merges, overwrites and reads metadata', async () => {
    const fileId = await client.upload(Buffer.from('meta'), { ext: 'txt' });
    expect(await client.getMetadata(fileId)).toEqual({});
    await client.setMetadata(fileId, { width: '256', height: '256' });
    await client.setMetadata(fileId, { format: 'webp', width: '512' }, { mode: 'merge' });
    expect(await client.getMetadata(fileId)).toEqual({ format: 'webp', height: '256', width: '512' });
    await client.setMetadata(fileId, { only: 'this' }, { mode: 'overwrite' });
    expect(await client.getMetadata(fileId)).toEqual({ only: 'this' });
  });

  it('passes the active test and uploads into a named group', async () => {
    await client.activeTest();
    const fileId = await client.upload(Buffer.from('g'), { ext: '.png', group: 'group1' });
    expect(fileId).toMatch(/\.png$/);
    // A tracker's ENOENT: no storage server for that group (one may join later), never "no such file".
    const error = await rejection(client.upload(Buffer.from('g'), { ext: 'png', group: 'group9' }));
    expect(error).toMatchObject({ kind: 'status', status: 2, noStorageAvailable: true, notFound: false });
  });

  it('uploads a file with no extension and a 0-byte file', async () => {
    const fileId = await client.upload(Buffer.from('plain'), { ext: '' });
    expect(fileId).toMatch(/\/[A-Za-z0-9_-]{27}\d{7}$/);
    expect((await client.download(fileId)).toString()).toBe('plain');
    const empty = await client.upload(Buffer.alloc(0), { ext: 'txt' });
    expect((await client.fileInfo(empty)).size).toBe(0);
    // The real storage answers EINVAL to any read of a 0-byte file (offset 0 is at the end).
    expect(await rejection(client.download(empty))).toMatchObject({ kind: 'status', status: 22 });
  });

  it('refuses invalid arguments before anything reaches a socket', async () => {
    const bad: Array<Promise<unknown>> = [
      client.download('group1/M00/00/00/../../../../etc/passwd'),
      client.delete('group12345678901234/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'),
      client.upload(Buffer.from('x'), { ext: 'toolong' }),
      client.upload(Buffer.from('x'), { ext: 'a/b' }),
      client.upload({ stream: Readable.from([]), size: -1 }, { ext: 'jpg' }),
      client.download('group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg', { offset: -1 }),
      client.setMetadata('group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg', { 'a\x02': 'b' }),
      client.uploadSlave('group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg', 'bad prefix', Buffer.from('x'), { ext: 'jpg' }),
    ];
    for (const promise of bad) expect((await rejection(promise)).kind).toBe('invalid_argument');
    expect(client.connectionsOpened).toBe(0);
  });

  it('rejects a stream shorter than its declared size and drops that connection', async () => {
    const error = await rejection(client.upload({ stream: Readable.from([Buffer.alloc(10)]), size: 20 }, { ext: 'bin' }));
    expect(error.kind).toBe('invalid_argument');
    const fileId = await client.upload(Buffer.from('after'), { ext: 'bin' });
    expect((await client.download(fileId)).toString()).toBe('after');
  });

  it('closes a connection that got EINVAL instead of reusing it', async () => {
    const fileId = await client.upload(Buffer.from('abc'), { ext: 'txt' });
    const before = client.connectionsOpened;
    expect(await rejection(client.download(fileId, { offset: 3 }))).toMatchObject({ kind: 'status', status: 22 });
    expect((await client.download(fileId)).toString()).toBe('abc');
    expect(client.connectionsOpened).toBe(before + 1);
    // ENOENT is not EINVAL: that connection stays in use.
    await client.delete(fileId);
    expect((await rejection(client.fileInfo(fileId))).status).toBe(2);
    await client.upload(Buffer.from('x'), { ext: 'txt' });
    expect(client.connectionsOpened).toBe(before + 1);
  });

  it('keeps connections open: many operations, few connections, bounded by the pool size', async () => {
    // the server is shared by the file's tests: count what this test's client adds
    const before = server.connections?.();
    const opened = client.connectionsOpened;
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => client.upload(Buffer.from(`file ${i}`), { ext: 'txt' })));
    await Promise.all(ids.map((id) => client.download(id)));
    // at most 4 to the tracker and 4 to the storage server; per server where the server counts them
    expect(client.connectionsOpened - opened).toBeLessThanOrEqual(8);
    const after = server.connections?.();
    if (before && after) {
      expect(after.tracker - before.tracker).toBeLessThanOrEqual(4);
      expect(after.storage - before.storage).toBeLessThanOrEqual(4);
      expect(client.connectionsOpened - opened).toBe(after.tracker - before.tracker + (after.storage - before.storage));
    }
  });

  it('aborts an operation with an AbortSignal, before and during the request', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(client.upload(Buffer.from('x'), { ext: 'txt', signal: controller.signal }))).kind).toBe('aborted');

    const slow = new AbortController();
    const neverEnding = new Readable({ read() {} });
    neverEnding.push(Buffer.alloc(1000));
    const pending = client.upload({ stream: neverEnding, size: 1_000_000 }, { ext: 'bin', signal: slow.signal });
    setTimeout(() => slow.abort(), 50);
    expect((await rejection(pending)).kind).toBe('aborted');
    // The pool recovers: the aborted connection was dropped, not reused mid-frame.
    const fileId = await client.upload(Buffer.from('fine'), { ext: 'txt' });
    expect((await client.download(fileId)).toString()).toBe('fine');
  });

  it('stops a streamed download whose reader gives up, and keeps working', async () => {
    const size = 8 * 1024 * 1024;
    const fileId = await client.upload({ stream: generated(size), size }, { ext: 'bin' });
    const stream = await client.downloadStream(fileId);
    for await (const _chunk of stream) break; // destroys the stream after the first chunk
    expect((await client.download(fileId, { offset: 0, length: 10 })).length).toBe(10);
  });

  it('rejects pending and later operations after close()', async () => {
    const fileId = await client.upload(Buffer.from('x'), { ext: 'txt' });
    const neverEnding = new Readable({ read() {} });
    const pending = client.upload({ stream: neverEnding, size: 100 }, { ext: 'bin' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.close();
    expect((await rejection(pending)).kind).toBe('closed');
    expect((await rejection(client.download(fileId))).kind).toBe('closed');
  });
});

describe('FastdfsClient pool against the dev server', () => {
  it('closes idle pooled connections after the idle timeout', async () => {
    const server = await startTestServer();
    // each upload asks the tracker, so both pools are used again after the pause
    const quick = new FastdfsClient({ trackers: server.trackers, idleTimeoutMs: 100, storageAssignmentTtlMs: 0 });
    try {
      await quick.upload(Buffer.from('x'), { ext: 'txt' });
      expect(quick.connectionsOpened).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await quick.upload(Buffer.from('y'), { ext: 'txt' });
      expect(quick.connectionsOpened).toBe(4);
    } finally {
      await quick.close();
      await server.dispose();
    }
  });
});

describe.each(SERVERS)('FastdfsClient against $name answering with 45-byte IP fields', (kind) => {
  it('handles both answer sizes: upload, download, file info, slaves', async () => {
    const client = new FastdfsClient({ trackers: serverFor(kind, 'ipv6').trackers });
    try {
      const content = contentWithHighCrc();
      const fileId = await client.upload(content, { ext: 'jpg' });
      expect((await client.download(fileId)).equals(content)).toBe(true);
      const info = await client.fileInfo(fileId);
      expect(info).toMatchObject({ size: content.length, crc32: crc32(content), sourceIp: '127.0.0.1' });
      const slave = await client.uploadSlave(fileId, '_1', Buffer.from('s'), { ext: 'jpg' });
      expect((await client.download(slave)).toString()).toBe('s');
      await client.delete(slave);
      await client.activeTest();
    } finally {
      await client.close();
    }
  });
});
