import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageAssignmentCache } from '../src/client/storage-assignment-cache.js';
import { FastdfsClient, startDevServer, type DevServer } from '../src/index.js';

const storage = (port: number) => ({ group: 'group1', host: '127.0.0.1', port, storePathIndex: 0 });

describe('StorageAssignmentCache', () => {
  it('returns an answer until it expires', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const cache = new StorageAssignmentCache(1_000);
      cache.set('', storage(23000));
      expect(cache.get('')?.port).toBe(23000);
      vi.advanceTimersByTime(999);
      expect(cache.get('')?.port).toBe(23000);
      vi.advanceTimersByTime(2);
      expect(cache.get('')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('forgets every answer naming a storage that failed, and keeps the others', () => {
    const cache = new StorageAssignmentCache(60_000);
    cache.set('', storage(1));
    cache.set('group1/M00/00/00/a.webp', storage(1));
    cache.set('group2', storage(2));
    cache.forget({ host: '127.0.0.1', port: 1 });
    expect(cache.get('')).toBeUndefined();
    expect(cache.get('group1/M00/00/00/a.webp')).toBeUndefined();
    expect(cache.get('group2')?.port).toBe(2);
  });

  it('holds at most its size, dropping the oldest, and nothing at all with a TTL of 0', () => {
    const cache = new StorageAssignmentCache(60_000, 2);
    cache.set('a', storage(1));
    cache.set('b', storage(2));
    cache.set('c', storage(3));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')?.port).toBe(3);
    const off = new StorageAssignmentCache(0);
    off.set('a', storage(1));
    expect(off.get('a')).toBeUndefined();
  });
});

/** A TCP relay in front of the tracker that counts the bytes clients send it. */
async function countingRelay(target: number): Promise<{ port: number; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bytes: () => bytes,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the client with remembered storage assignments', () => {
  let dir: string;
  let server: DevServer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fdfs-assign-'));
    server = await startDevServer({ trackerPort: 0, storagePort: 0, httpPort: 0, dataDir: dir });
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('asks the tracker once for a burst of uploads and not at all for the slaves of a fresh master', async () => {
    const relay = await countingRelay(server.trackerPort);
    const client = new FastdfsClient({ trackers: `127.0.0.1:${relay.port}`, storageAssignmentTtlMs: 60_000 });
    try {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await client.upload(Buffer.from(`file ${i}`), { ext: 'txt' }));
      // one "query store, any group" packet: a 10-byte header and no body
      expect(relay.bytes()).toBe(10);
      const slave = await client.uploadSlave(ids[0] as string, '_256', Buffer.from('slave'), { ext: 'txt' });
      expect(slave).toBe((ids[0] as string).replace(/\.txt$/, '_256.txt'));
      expect(relay.bytes()).toBe(10);
      expect((await client.download(slave)).toString()).toBe('slave');
    } finally {
      await client.close();
      await relay.close();
    }
  });

  it('asks the tracker again once the TTL has passed, even while uploads keep succeeding', async () => {
    const relay = await countingRelay(server.trackerPort);
    const client = new FastdfsClient({ trackers: `127.0.0.1:${relay.port}`, storageAssignmentTtlMs: 150 });
    try {
      const started = performance.now();
      let uploads = 0;
      // a steady stream, each upload well inside the TTL of the one before
      while (performance.now() - started < 500) {
        await client.upload(Buffer.from(`file ${uploads++}`), { ext: 'txt' });
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(uploads).toBeGreaterThan(5);
      // one query per TTL window (10 bytes each), not just the first one
      expect(relay.bytes()).toBeGreaterThanOrEqual(30);
      expect(relay.bytes()).toBeLessThan(uploads * 10);
    } finally {
      await client.close();
      await relay.close();
    }
  });

  it('asks for every upload with a TTL of 0', async () => {
    const relay = await countingRelay(server.trackerPort);
    const client = new FastdfsClient({ trackers: `127.0.0.1:${relay.port}`, storageAssignmentTtlMs: 0 });
    try {
      for (let i = 0; i < 5; i++) await client.upload(Buffer.from(`file ${i}`), { ext: 'txt' });
      expect(relay.bytes()).toBe(50);
    } finally {
      await client.close();
      await relay.close();
    }
  });
});
