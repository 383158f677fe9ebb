import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FastdfsClient, FastdfsError } from '../src/index.js';
import { type TestServer, deadPort, startTestServer } from './helpers/dev-server.js';
import { spawnDevServer } from './helpers/dev-server-process.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const started = await startTestServer(options);
  cleanups.push(() => started.dispose());
  return started;
}

function client(trackers: string, options: Partial<ConstructorParameters<typeof FastdfsClient>[0]> = {}): FastdfsClient {
  const created = new FastdfsClient({ trackers, connectTimeoutMs: 500, networkTimeoutMs: 2_000, ...options });
  cleanups.push(() => created.close());
  return created;
}

/** A "tracker" that accepts connections and drops them at once, counting them. */
async function droppingTracker(): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const dropper: Server = createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => dropper.close(() => resolve())));
  const address = dropper.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, accepted: () => accepted };
}

describe('tracker failover', () => {
  it('uploads through the live tracker when the other refuses connections', async () => {
    const live = await server();
    const fastdfs = client(`127.0.0.1:${await deadPort()},${live.trackers}`);
    for (let i = 0; i < 20; i++) {
      const fileId = await fastdfs.upload(Buffer.from(`file ${i}`), { ext: 'txt' });
      expect((await fastdfs.download(fileId)).toString()).toBe(`file ${i}`);
    }
  });

  it('skips a failing tracker during its cool-down instead of retrying it on every call', async () => {
    const live = await server();
    const dropper = await droppingTracker();
    const fastdfs = client(`127.0.0.1:${dropper.port},${live.trackers}`, { trackerCooldownMs: 60_000 });
    for (let i = 0; i < 20; i++) await fastdfs.upload(Buffer.from('x'), { ext: 'txt' });
    expect(dropper.accepted()).toBe(1);
  });

  it('takes a failed tracker back after its cool-down: it is never dropped for good', async () => {
    const live = await server();
    const port = await deadPort();
    // every upload asks a tracker (no remembered assignment), so the revived one is reached
    const fastdfs = client(`127.0.0.1:${port},${live.trackers}`, { trackerCooldownMs: 100, storageAssignmentTtlMs: 0 });
    for (let i = 0; i < 4; i++) await fastdfs.upload(Buffer.from('x'), { ext: 'txt' });
    // The dead tracker comes back (same port), serving the same store.
    const revived = await server({ trackerPort: port, dataDir: live.dataDir });
    await new Promise((resolve) => setTimeout(resolve, 150));
    for (let i = 0; i < 4; i++) await fastdfs.upload(Buffer.from('x'), { ext: 'txt' });
    expect(revived.connections().tracker).toBeGreaterThan(0);
  });

  it('fails with a transient connect error when no tracker answers, and recovers when one does', async () => {
    const port = await deadPort();
    const fastdfs = client(`127.0.0.1:${port}`, { trackerCooldownMs: 60_000 });
    const error = await fastdfs.upload(Buffer.from('x'), { ext: 'txt' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FastdfsError);
    expect(error).toMatchObject({ kind: 'connect', transient: true });
    await expect(fastdfs.activeTest()).rejects.toMatchObject({ kind: 'connect' });
    // Even cooling down, the only tracker is still tried rather than given up on.
    await server({ trackerPort: port });
    await fastdfs.activeTest();
    await fastdfs.upload(Buffer.from('x'), { ext: 'txt' });
  });
});

describe('storage server killed mid-upload', () => {
  it('rejects with a transient error, then the pool recovers when the server is back', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fastdfs-kill-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const args = (tracker: number, storage: number): string[] => ['--tracker-port', String(tracker), '--storage-port', String(storage), '--http-port', '0', '--data-dir', dataDir];
    const first = await spawnDevServer(args(0, 0));
    cleanups.push(() => {
      first.child.kill('SIGKILL');
    });
    const fastdfs = client(`127.0.0.1:${first.trackerPort}`, { trackerCooldownMs: 100 });
    const kept = await fastdfs.upload(Buffer.from('before the crash'), { ext: 'txt' });

    // A 50 MB upload fed slowly, so the kill lands while it is in flight.
    let sent = 0;
    const size = 50 * 1024 * 1024;
    const slow = new Readable({
      read() {
        setTimeout(() => {
          sent += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024));
        }, 2);
      },
    });
    const upload = fastdfs.upload({ stream: slow, size }, { ext: 'bin' }).catch((error: unknown) => error);
    while (sent < 1024 * 1024) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill('SIGKILL');
    const error = await upload;
    slow.destroy();
    expect(error).toBeInstanceOf(FastdfsError);
    expect((error as FastdfsError).transient).toBe(true);
    expect(['closed', 'timeout']).toContain((error as FastdfsError).kind);

    // While it is down: a clear, transient error, not a hang. Usually a refused connect; when
    // tests run in parallel another test's server may already listen on the freed port and
    // close the stranger's connection, which is just as transient.
    const whileDown = await fastdfs.upload(Buffer.from('x'), { ext: 'txt' }).catch((caught: unknown) => caught);
    expect(whileDown).toBeInstanceOf(FastdfsError);
    expect(whileDown).toMatchObject({ transient: true });
    expect(['connect', 'closed']).toContain((whileDown as FastdfsError).kind);

    const second = await spawnDevServer(args(first.trackerPort, first.storagePort));
    cleanups.push(() => {
      second.child.kill('SIGKILL');
    });
    await new Promise((resolve) => setTimeout(resolve, 150)); // past the tracker cool-down
    const fileId = await fastdfs.upload(Buffer.from('after the restart'), { ext: 'txt' });
    expect((await fastdfs.download(fileId)).toString()).toBe('after the restart');
    expect((await fastdfs.download(kept)).toString()).toBe('before the crash');
  });
});
