import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FastdfsClient, FastdfsError, startDevServer } from '../src/index.js';
import { StorageStatus } from '../src/dev-server/storage-status.js';
import { rejection } from './helpers/rejection.js';


describe('the dev tracker’s view of its storage server', () => {
  it('marks a storage that stopped beating OFFLINE only at a heartbeat check, and a beating one never', () => {
    let now = 0;
    const status = new StorageStatus({ checkActiveIntervalMs: 120_000, now: () => now });
    try {
      status.join();
      now = 119_000;
      status.check();
      expect(status.state).toBe('ACTIVE');
      status.beat();
      now = 230_000;
      status.check();
      expect(status.state).toBe('ACTIVE');
      now = 240_000;
      status.check();
      expect(status.state).toBe('OFFLINE');
      status.join();
      expect(status.state).toBe('ACTIVE');
      status.leave();
      expect(status.state).toBe('OFFLINE');
    } finally {
      status.close();
    }
  });

  it('keeps handing out a frozen storage until its heartbeat check, then answers ENOENT until it is back', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fastdfs-control-'));
    const dev = await startDevServer({ dataDir, heartbeatIntervalMs: 50, checkActiveIntervalMs: 300 });
    const client = new FastdfsClient({ trackers: dev.trackers, storageAssignmentTtlMs: 0, networkTimeoutMs: 500 });
    try {
      dev.storage.freeze();
      expect(dev.storage.state).toBe('frozen');
      await client.checkStorageAvailable();
      expect((await rejection(client.upload(Buffer.from('x'), { ext: 'txt' }))).kind).toBe('timeout');
      let answer: FastdfsError | undefined;
      for (let i = 0; i < 40 && answer === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await client.checkStorageAvailable().then(() => undefined, (error: FastdfsError) => error);
      }
      expect(answer).toMatchObject({ status: 2, noStorageAvailable: true, transient: true });
      await dev.storage.start();
      expect(dev.storage.state).toBe('running');
      await client.upload(Buffer.from('back'), { ext: 'txt' });
    } finally {
      await client.close();
      await dev.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a heartbeat setting that is not a positive number of milliseconds', async () => {
    await expect(startDevServer({ dataDir: '/tmp/unused', checkActiveIntervalMs: 0 })).rejects.toThrow(/checkActiveIntervalMs/);
    await expect(startDevServer({ dataDir: '/tmp/unused', heartbeatIntervalMs: 1.5 })).rejects.toThrow(/heartbeatIntervalMs/);
  });
});
