import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import type { WorkflowAdapters } from '../src/workflow/avatar-workflow.js';
import { databaseWorkflow } from './support/database-workflow.js';
import { acceptUpload, ensureUsers } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let stagingDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 2);
  stagingDir = await mkdtemp(path.join(tmpdir(), 'job-statements-test-'));
});
afterAll(async () => {
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** Storage that keeps nothing: every set gets fresh ids. */
function storage(): WorkflowAdapters['files'] {
  let n = 0;
  return {
    async storeSet(_variants, onMasterStored) {
      const master = `group1/M00/00/00/statements${++n}${Date.now()}.webp`;
      await onMasterStored?.(master);
      return [
        { size: 256, fileId: master },
        { size: 128, fileId: master.replace('.webp', '_128.webp') },
      ];
    },
    deleteFiles: async () => undefined,
  };
}

/** The SQL of every statement one job attempt sends, in order. */
async function statementsOfOneJob(userId: number): Promise<string[]> {
  const stagedPath = path.join(stagingDir, `${userId}-${Date.now()}`);
  await writeFile(stagedPath, 'original');
  const upload = await acceptUpload(tdb.repos, userId, stagedPath);
  const sent: string[] = [];
  const hear = (query: { sql: string }): void => {
    sent.push(query.sql.replace(/\s+/g, ' ').trim());
  };
  tdb.db.on('query', hear);
  try {
    expect(await databaseWorkflow(tdb.repos, stagingDir, storage()).runAttempt({ uploadId: upload.id, attempt: 1, maxAttempts: 3, stagedPath })).toEqual({ kind: 'finished', outcome: 'done' });
  } finally {
    tdb.db.off('query', hear);
  }
  return sent;
}

/**
 * The round trips a job waits on are the worker's budget (packages/loadtest/README.md, "Worker:
 * where the time goes"): a change that adds one shows up here, on purpose.
 */
describe('the statements of one job', () => {
  it('a first avatar: 10, one transaction, no savepoint', async () => {
    const sent = await statementsOfOneJob(1);
    expect(sent, sent.join('\n')).toHaveLength(10);
    expect(sent.filter((sql) => /^(begin|commit)/i.test(sql))).toHaveLength(2);
    expect(sent.filter((sql) => /savepoint/i.test(sql))).toEqual([]);
  });

  it('replacing an avatar: 10, the replaced set deleted inline and noted', async () => {
    await statementsOfOneJob(2);
    const sent = await statementsOfOneJob(2);
    expect(sent, sent.join('\n')).toHaveLength(10);
    expect(sent.at(-1)).toMatch(/files_deleted_at/);
  });
});
