import { afterEach, expect } from 'vitest';
import { FastdfsClient, FastdfsError } from '@avatar/fastdfs';
import { startRealFastdfs, type RealFastdfs } from '@avatar/fastdfs/testing';
import { AvatarFileStore } from '../../src/adapters/avatar-file-store.js';
import { classifyFailure } from '../../src/domain/classify-failure.js';
import { itWithRealFastdfs } from './support/real-fastdfs.js';

const itReal = itWithRealFastdfs();

let real: RealFastdfs | undefined;
const clients: FastdfsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await real?.close();
  real = undefined;
});

function newClient(trackers: string): FastdfsClient {
  const client = new FastdfsClient({ trackers });
  clients.push(client);
  return client;
}

itReal('deleting files while the real storage is stopped is an outage to retry, never "already gone"', async () => {
  real = await startRealFastdfs();
  const fileId = await newClient(real.trackers).upload(Buffer.from('an avatar set'), { ext: 'webp' });
  const [, slaveId] = AvatarFileStore.setFileIds(fileId, [256, 128]);

  await real.stopStorage();
  // a fresh client: it must ask the tracker where the file is, as a cleanup job does
  const duringOutage = await new AvatarFileStore(newClient(real.trackers)).deleteFiles([fileId, slaveId as string]).then(
    () => undefined,
    (error: unknown) => error,
  );
  // swallowing the tracker's ENOENT as "deleted" would let the cleanup job finish and leave the files for good
  expect(duringOutage).toBeInstanceOf(FastdfsError);
  expect((duringOutage as FastdfsError).noStorageAvailable).toBe(true);
  expect(classifyFailure(duringOutage)).toMatchObject({ retry: true, code: 'storage_unavailable' });

  await real.startStorage();
  const client = newClient(real.trackers);
  expect((await client.download(fileId)).toString()).toBe('an avatar set');
  // the retry: the slave was never stored and the master now goes; both count as deleted
  await new AvatarFileStore(client).deleteFiles([fileId, slaveId as string]);
  const gone = await client.download(fileId).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect((gone as FastdfsError).notFound).toBe(true);
}, 60_000);
