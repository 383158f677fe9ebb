import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevServer, FastdfsClient, parseFileId, startDevServer } from '@avatar/fastdfs';
import { loadConfig } from '@avatar/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvatarFileStore } from '../src/adapters/avatar-file-store.js';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';

function variant(size: number): RenderedVariant {
  const data = Buffer.from(`variant ${size}`);
  return { size, data, ext: 'webp', contentType: 'image/webp', width: size, height: size, bytes: data.length };
}

/** Names of the files stored under a storage server's data folder. */
async function storedNames(dataDir: string): Promise<string[]> {
  const entries = await readdir(join(dataDir, 'data'), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describe('AvatarFileStore with FDFS_GROUP', () => {
  let root: string;
  let server: DevServer;
  let client: FastdfsClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'avatar-file-store-'));
    server = await startDevServer({ dataDir: root, storages: [{ group: 'group1' }, { group: 'group1' }, { group: 'group2' }] });
    client = new FastdfsClient({ trackers: server.trackers });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('stores a whole set in the group FDFS_GROUP names, and in the tracker\'s choice without it', async () => {
    const group = loadConfig({ FDFS_GROUP: 'group2' }).fastdfs.group;
    const pinned = await new AvatarFileStore(client, group).storeSet([variant(256), variant(512), variant(128)]);
    expect(pinned.map((file) => parseFileId(file.fileId).group)).toEqual(['group2', 'group2', 'group2']);
    const group2 = server.storages[2];
    const names = await storedNames(group2?.dataDir ?? '');
    for (const file of pinned) expect(names).toContain(parseFileId(file.fileId).remoteName.slice(10));

    const unpinned = await new AvatarFileStore(client, loadConfig({}).fastdfs.group).storeSet([variant(512), variant(64)]);
    expect(unpinned.map((file) => parseFileId(file.fileId).group)).toEqual(['group1', 'group1']);
  });
});
