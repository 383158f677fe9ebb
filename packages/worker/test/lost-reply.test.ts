import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repositories, UploadJournal } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { databaseWorkflow } from './support/database-workflow.js';
import { acceptUpload, ensureUsers, eventTypes } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let stagingDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 1);
  stagingDir = await mkdtemp(path.join(tmpdir(), 'lost-reply-test-'));
});
afterAll(async () => {
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** The test database's repositories, whose journal loses the reply to the master's record once: it commits, then the connection drops. */
function reposLosingTheMasterReply(): Repositories {
  const journal = tdb.repos.journal;
  let lost = false;
  const losing = Object.create(journal) as UploadJournal;
  losing.record = async (uploadId, change, options) => {
    const recorded = await journal.record(uploadId, change, options);
    if (!lost && change.patch?.masterFileId) {
      lost = true;
      throw new Error('Connection terminated unexpectedly');
    }
    return recorded;
  };
  return Object.assign(Object.create(tdb.repos) as Repositories, { journal: losing });
}

describe('a lost reply to the master’s record', () => {
  it('records `progress` once: the record may have landed, so it is not written again before the retry', async () => {
    const stagedPath = path.join(stagingDir, 'original');
    await writeFile(stagedPath, 'original');
    const upload = await acceptUpload(tdb.repos, 1, stagedPath);
    const removed: string[] = [];
    const workflow = databaseWorkflow(reposLosingTheMasterReply(), stagingDir, {
      async storeSet(_variants, onMasterStored) {
        const master = 'group1/M00/00/00/lostreply.webp';
        try {
          await onMasterStored?.(master);
        } catch (error) {
          removed.push(master);
          throw error;
        }
        throw new Error('the master was refused: no slave is sent');
      },
      deleteFiles: async () => undefined,
    });

    const result = await workflow.runAttempt({ uploadId: upload.id, attempt: 1, maxAttempts: 3, stagedPath });
    expect(result).toMatchObject({ kind: 'failed', final: false });
    expect(removed).toEqual(['group1/M00/00/00/lostreply.webp']);
    expect(await eventTypes(tdb.repos, upload.id)).toEqual(['queued', 'processing', 'progress', 'retrying']);
  });
});
