import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastdfsClient } from '../src/index.js';
import { type TestServer, startTestServer } from './helpers/dev-server.js';
import { FdfsWitness } from './helpers/fdfs-client-witness.js';

/**
 * Wire compatibility with a client nobody here wrote: the `fdfs-client` npm package,
 * used only on the basic path where it is known to work against real FastDFS 6.16.
 */
describe('fdfs-client (third-party witness) against the dev server', () => {
  let server: TestServer;
  let witness: FdfsWitness;
  let client: FastdfsClient;

  beforeAll(async () => {
    server = await startTestServer();
    witness = new FdfsWitness(server.trackers);
    client = new FastdfsClient({ trackers: server.trackers });
  });
  afterAll(async () => {
    await client.close();
    // fdfs-client closes each connection itself after its callback; let those FINs land first.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.dispose();
  });

  it('uploads, downloads and deletes files byte-identically', async () => {
    for (const size of [1, 1000, 51_200, 700_000]) {
      const content = randomBytes(size);
      const fileId = await witness.upload(content, 'jpg');
      expect(fileId).toMatch(/^group1\/M00\/00\/00\/[A-Za-z0-9_-]{27}\d{3}\.jpg$/);
      expect((await witness.download(fileId)).equals(content)).toBe(true);
      expect((await client.download(fileId)).equals(content)).toBe(true);
      await witness.delete(fileId);
      expect((await client.fileInfo(fileId).catch((error: unknown) => error)) as { status?: number }).toMatchObject({ status: 2 });
    }
  });

  it('reads what this client wrote, and deletes it', async () => {
    const content = randomBytes(51_200);
    const fileId = await client.upload(content, { ext: 'webp' });
    expect((await witness.download(fileId)).equals(content)).toBe(true);
    expect((await witness.download(fileId, { offset: 1000, bytes: 24 })).equals(content.subarray(1000, 1024))).toBe(true);
    await witness.delete(fileId);
    expect((await client.download(fileId).catch((error: unknown) => error)) as { status?: number }).toMatchObject({ status: 2 });
  });

  it('agrees on metadata in both directions', async () => {
    const fileId = await client.upload(Buffer.from('m'), { ext: 'txt' });
    await witness.setMetadata(fileId, { width: '256', format: 'webp' });
    expect(await client.getMetadata(fileId)).toEqual({ format: 'webp', width: '256' });
    await client.setMetadata(fileId, { height: '128' });
    expect(await witness.getMetadata(fileId)).toEqual({ height: '128' });
  });

  it('agrees on file info when the crc32 is below 2^31 (fdfs-client misreads the rest)', async () => {
    let content = randomBytes(2048);
    while (crc32(content) >= 0x8000_0000) content = randomBytes(2048);
    const fileId = await witness.upload(content, 'bin');
    const theirs = await witness.fileInfo(fileId);
    const ours = await client.fileInfo(fileId);
    expect(Number(theirs.size)).toBe(ours.size);
    expect(theirs.crc32).toBe(ours.crc32);
    expect(theirs.timestamp).toBe(ours.createdAt.getTime() / 1000);
    expect(theirs.addr).toBe(ours.sourceIp);

    let high = randomBytes(2048);
    while (crc32(high) < 0x8000_0000) high = randomBytes(2048);
    const highId = await client.upload(high, { ext: 'bin' });
    expect((await client.fileInfo(highId)).crc32).toBe(crc32(high));
    // The documented fdfs-client fault: the sign-extended value read as unsigned 64-bit.
    expect((await witness.fileInfo(highId)).crc32).not.toBe(crc32(high));
  });
});
