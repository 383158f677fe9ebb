import { createLogger, type Repositories } from '@avatar/shared';
import { StagedOriginals } from '../../src/adapters/staged-originals.js';
import { AvatarWorkflow, type WorkflowAdapters } from '../../src/workflow/avatar-workflow.js';
import { fakeVariants } from './test-worker.js';

/**
 * The workflow on `repos` (a test database's own handle, whose statements a test can hear or
 * whose journal it can wrap), staging in `stagingDir`, a render double and `files` as storage;
 * nothing is scheduled on a cleanup queue (there is none).
 */
export function databaseWorkflow(repos: Repositories, stagingDir: string, files: WorkflowAdapters['files']): AvatarWorkflow {
  return new AvatarWorkflow({
    repos,
    adapters: {
      renderer: { render: async () => fakeVariants() },
      files,
      staged: new StagedOriginals(stagingDir),
      deletions: {
        schedule: async () => {
          throw new Error('these tests schedule no deletion');
        },
      },
    },
    settings: { sizes: [256, 128], publicUrl: 'http://files.invalid/', backoffMs: 1 },
    logger: createLogger({ level: 'silent', name: 'database-workflow' }),
  });
}
