import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Command, type DevStorage, FastdfsClient, parseFileId, slaveFileId } from '../src/index.js';
import { startTestServer, type TestServer } from './helpers/dev-server.js';
import { rejection } from './helpers/rejection.js';

/** Whether a file id's file is on this storage server's disk. */
async function holds(storage: DevStorage, fileId: string): Promise<boolean> {
  const { remoteName } = parseFileId(fileId);
  const path = join(storage.dataDir, 'data', remoteName.slice(4, 6), remoteName.slice(7, 9), remoteName.slice(10));
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The one storage server that holds `fileId`; fails if none or several do. */
async function holderOf(server: TestServer, fileId: string): Promise<DevStorage> {
  const holders: DevStorage[] = [];
  for (const storage of server.storages) if (await holds(storage, fileId)) holders.push(storage);
  expect(holders).toHaveLength(1);
  return holders[0] as DevStorage;
}

describe('a dev server with two storage servers in group1 and one in group2', () => {
  let server: TestServer;
  const clients: FastdfsClient[] = [];
  /** Asks the tracker for every request (no remembered answers), unless told otherwise. */
  const client = (storageAssignmentTtlMs = 0): FastdfsClient => {
    const created = new FastdfsClient({ trackers: server.trackers, storageAssignmentTtlMs });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    server = await startTestServer({ storages: [{ group: 'group1' }, { group: 'group1' }, { group: 'group2' }] });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((each) => each.close()));
    for (const storage of server.storages) await storage.control.start();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('keeps the single-storage fields pointing at the first storage', () => {
    expect(server.storages.map((storage) => storage.group)).toEqual(['group1', 'group1', 'group2']);
    expect(server.storagePort).toBe(server.storages[0]?.port);
    expect(server.storage).toBe(server.storages[0]?.control);
    expect(server.storages[0]?.dataDir).toBe(server.dataDir);
    expect(new Set(server.storages.map((storage) => storage.port)).size).toBe(3);
  });

  it('spreads uploads over both storages of group1, the first group, when no group is named', async () => {
    const fastdfs = client();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await fastdfs.upload(Buffer.from(`file ${i}`), { ext: 'txt' }));
    const [first, second] = server.storages;
    const onFirst = await Promise.all(ids.map((id) => holds(first as DevStorage, id)));
    const onSecond = await Promise.all(ids.map((id) => holds(second as DevStorage, id)));
    expect(ids.every((id) => id.startsWith('group1/'))).toBe(true);
    expect(onFirst.filter(Boolean)).toHaveLength(3);
    expect(onSecond.filter(Boolean)).toHaveLength(3);
    expect(onFirst.map((held, index) => held !== onSecond[index])).toEqual(ids.map(() => true));
  });

  it('puts a slave on the storage that holds its master, whether the client remembers the master or asks the tracker', async () => {
    const uploader = client(1_000);
    const masters = [await uploader.upload(Buffer.from('master a'), { ext: 'jpg' }), await uploader.upload(Buffer.from('master b'), { ext: 'jpg' })];
    // with a remembered "store" answer both masters share a storage; a fresh client spreads them
    masters.push(await client().upload(Buffer.from('master c'), { ext: 'jpg' }), await client().upload(Buffer.from('master d'), { ext: 'jpg' }));
    const holders = await Promise.all(masters.map((id) => holderOf(server, id)));
    expect(new Set(holders.map((holder) => holder.port)).size).toBe(2);

    for (const [index, master] of masters.entries()) {
      // the uploader remembers where the first two went; a fresh client must ask the tracker (103)
      const writer = index < 2 ? uploader : client();
      const slave = await writer.uploadSlave(master, '_128x128', Buffer.from(`slave of ${master}`), { ext: 'webp' });
      expect(slave).toBe(slaveFileId(master, '_128x128', 'webp'));
      const holder = holders[index] as DevStorage;
      expect(await holds(holder, slave)).toBe(true);
      for (const other of server.storages) if (other !== holder) expect(await holds(other, slave)).toBe(false);
    }
  });

  it('reads, inspects and deletes a file on either storage of the group through the tracker', async () => {
    const fastdfs = client();
    const ids = [await fastdfs.upload(Buffer.from('first'), { ext: 'txt' }), await fastdfs.upload(Buffer.from('second'), { ext: 'txt' })];
    const holders = await Promise.all(ids.map((id) => holderOf(server, id)));
    expect(holders[0]?.port).not.toBe(holders[1]?.port);

    for (const [index, id] of ids.entries()) {
      const reader = client();
      expect((await reader.download(id)).toString()).toBe(index === 0 ? 'first' : 'second');
      expect((await reader.fileInfo(id)).size).toBe(index === 0 ? 5 : 6);
      const response = await fetch(`${server.publicUrl}${id}`);
      expect(await response.text()).toBe(index === 0 ? 'first' : 'second');
      await reader.delete(id);
      expect(await holds(holders[index] as DevStorage, id)).toBe(false);
      const gone = await rejection(reader.download(id));
      expect(gone.notFound).toBe(true);
    }
  });

  it('answers ENOENT for a file whose storage is down, while uploads go on to the other storage', async () => {
    const fastdfs = client();
    const id = await fastdfs.upload(Buffer.from('held'), { ext: 'txt' });
    const holder = await holderOf(server, id);
    await holder.control.stop();

    const refused = await rejection(fastdfs.download(id));
    expect(refused.command).toBe(Command.TRACKER_QUERY_FETCH_ONE);
    expect(refused.noStorageAvailable).toBe(true);
    const next = await fastdfs.upload(Buffer.from('elsewhere'), { ext: 'txt' });
    expect((await holderOf(server, next)).port).not.toBe(holder.port);

    await holder.control.start();
    expect((await fastdfs.download(id)).toString()).toBe('held');
  });

  it('stores into group2 when the upload names it, and serves it from there', async () => {
    const fastdfs = client();
    const id = await fastdfs.upload(Buffer.from('in group2'), { ext: 'txt', group: 'group2' });
    expect(id.startsWith('group2/')).toBe(true);
    expect((await holderOf(server, id)).group).toBe('group2');
    const slave = await fastdfs.uploadSlave(id, '_64x64', Buffer.from('slave in group2'), { ext: 'txt' });
    expect(await holds(server.storages[2] as DevStorage, slave)).toBe(true);
    expect((await fastdfs.download(slave)).toString()).toBe('slave in group2');
    expect(await (await fetch(`${server.publicUrl}${id}`)).text()).toBe('in group2');
    // the same name is not in group1, whose storages cannot serve it
    expect((await fetch(`${server.publicUrl}${id.replace('group2/', 'group1/')}`)).status).toBe(404);
  });
});
