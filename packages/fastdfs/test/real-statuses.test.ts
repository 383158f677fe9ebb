import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastdfsClient } from '../src/index.js';
import { startRealFastdfs, type RealFastdfs } from '../src/testing/index.js';
import { describeRealMissing, realFastdfsMissing } from './helpers/real-server.js';
import { rejection } from './helpers/rejection.js';
import { startTestServer, type TestServer } from './helpers/dev-server.js';

/**
 * The statuses of the client README's table that the parity sequence does not reach, read
 * from the real FastDFS 6.16: ENOSPC from a tracker below its reserved space, and EEXIST
 * from a storage asked to store a slave it already has. Each must be classified as the
 * table says (retry, or fail for good).
 */
describeRealMissing('statuses of the real FastDFS 6.16');

if (realFastdfsMissing === undefined) {
  describe('a real tracker below reserved_storage_space', () => {
    let real: RealFastdfs | undefined;
    beforeAll(async () => {
      real = await startRealFastdfs({ reservedStorageSpace: '99.9%' });
    }, 60_000);
    afterAll(async () => {
      await real?.close();
    });

    it('answers the store query with ENOSPC, a transient failure, and is not ready', async () => {
      const client = new FastdfsClient({ trackers: (real as RealFastdfs).trackers });
      try {
        const full = await rejection(client.upload(Buffer.from('x'), { ext: 'txt' }));
        expect(full).toMatchObject({ kind: 'status', status: 28, command: 101, source: 'tracker', transient: true, notFound: false });
        const ready = await rejection(client.checkStorageAvailable());
        expect(ready.status).toBe(28);
      } finally {
        await client.close();
      }
    });
  });

  describe('a slave stored twice', () => {
    let real: RealFastdfs | undefined;
    let dev: TestServer | undefined;
    beforeAll(async () => {
      [real, dev] = await Promise.all([startRealFastdfs(), startTestServer()]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([real?.close(), dev?.dispose()]);
    });

    it('is refused with EEXIST by the real storage and the dev server alike, and never retried', async () => {
      for (const trackers of [(real as RealFastdfs).trackers, (dev as TestServer).trackers]) {
        const client = new FastdfsClient({ trackers });
        try {
          const master = await client.upload(Buffer.from('master'), { ext: 'jpg' });
          await client.uploadSlave(master, '_256', Buffer.from('slave'), { ext: 'jpg' });
          const again = await rejection(client.uploadSlave(master, '_256', Buffer.from('slave'), { ext: 'jpg' }));
          expect(again, trackers).toMatchObject({ kind: 'status', status: 17, command: 21, source: 'storage', transient: false });
        } finally {
          await client.close();
        }
      }
    });
  });
}
