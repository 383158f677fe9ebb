import {
  AppError,
  UploadJournal,
  UploadsRepository,
  UserDetailRepository,
  isTerminal,
  publicFileUrl,
  type AvatarVariant,
  type Db,
  type DeleteFilesJob,
  type Logger,
  type Upload,
} from '@avatar/shared';
import { AvatarFileStore } from '../adapters/avatar-file-store.js';
import type { StagedOriginals } from '../adapters/staged-originals.js';
import type { RenderedVariant } from '../pipeline/render-avatar.js';
import { commitAvatar } from './commit-avatar.js';

export interface ProcessAvatarDeps {
  db: Db;
  tables: { users: string; userDetail: string };
  files: Pick<AvatarFileStore, 'storeSet' | 'deleteFiles'>;
  staged: Pick<StagedOriginals, 'read' | 'remove'>;
  render: (input: Buffer) => Promise<RenderedVariant[]>;
  /** The configured variant sizes: a set known only by its master id is found again from them. */
  sizes: readonly number[];
  /** Deletes stored files later, with retries (the cleanup queue). */
  scheduleDeletion: (job: DeleteFilesJob) => Promise<void>;
  publicUrl: string;
  logger: Logger;
}

export type ProcessOutcome = 'done' | 'superseded' | 'failed' | 'skipped';

/**
 * One upload, top to bottom: load → (skip if a newer avatar already won) → render →
 * store → commit → clean up. Each step is safe to repeat: a retry reuses file ids already
 * recorded, and a finished upload is never touched again. Throws to let BullMQ retry.
 */
export async function processAvatar(deps: ProcessAvatarDeps, uploadId: string, attempt: number): Promise<ProcessOutcome> {
  const uploads = new UploadsRepository(deps.db);
  const journal = new UploadJournal(deps.db);

  const upload = await uploads.findById(uploadId);
  if (!upload) throw new AppError('upload_not_found', `upload ${uploadId} is not recorded`);
  if (isTerminal(upload.status)) {
    await removeStagedOriginal(deps, upload);
    return 'skipped';
  }
  const started = await journal.record(uploadId, { status: 'processing', patch: { attempts: attempt }, event: { type: 'processing', data: { attempt } } });
  if (!started) return 'skipped';

  const newer = await newerAvatarUpload(deps, upload);
  if (newer) {
    await journal.record(uploadId, { status: 'superseded', event: { type: 'superseded', data: { by: newer } } });
    await deleteStoredFiles(deps, upload, 'superseded before processing');
    await removeStagedOriginal(deps, upload);
    return 'superseded';
  }

  const variants = upload.variants && upload.masterFileId ? upload.variants : await renderAndStore(deps, journal, upload);
  const outcome = await commitAvatar(deps.db, deps.tables, upload, variants);
  switch (outcome.kind) {
    case 'done':
      if (outcome.replaced) {
        await deps.scheduleDeletion({ fileIds: outcome.replaced.fileIds, uploadId: outcome.replaced.uploadId ?? undefined, reason: `replaced by ${uploadId}` });
      }
      break;
    case 'superseded':
      await deps.scheduleDeletion({ fileIds: variants.map((v) => v.fileId), uploadId, reason: `superseded by ${outcome.by}` });
      break;
    case 'user_gone':
      await journal.record(uploadId, {
        status: 'failed',
        patch: { errorCode: 'user_not_found', errorMessage: 'The user was deleted' },
        event: { type: 'failed', data: { code: 'user_not_found', message: 'The user was deleted' } },
      });
      await deps.scheduleDeletion({ fileIds: variants.map((v) => v.fileId), uploadId, reason: 'user deleted' });
      break;
    case 'already_terminal':
      break;
  }
  await removeStagedOriginal(deps, upload);
  return outcome.kind === 'user_gone' ? 'failed' : outcome.kind === 'already_terminal' ? 'skipped' : outcome.kind;
}

async function renderAndStore(deps: ProcessAvatarDeps, journal: UploadJournal, upload: Upload): Promise<AvatarVariant[]> {
  if (!upload.stagedPath) throw new AppError('staged_file_missing', 'The upload has no staged original');
  const input = await deps.staged.read(upload.stagedPath);
  const rendered = await deps.render(input);
  await journal.record(upload.id, { patch: { progress: 50 }, event: { type: 'progress', data: { step: 'rendered', percent: 50 } } });

  const uploads = new UploadsRepository(deps.db);
  if (upload.masterFileId) {
    // an earlier attempt died between storing and recording the whole set: drop that set (what
    // of it exists) and store afresh, rather than trust slaves that may never have arrived
    await deps.files.deleteFiles(storedSetFileIds(deps, upload));
    await uploads.update(upload.id, { masterFileId: null });
  }
  const stored = await deps.files.storeSet(rendered, async (masterFileId) => {
    await uploads.update(upload.id, { masterFileId });
  });
  const variants = stored.map((s) => ({ size: s.size, fileId: s.fileId, url: publicFileUrl(deps.publicUrl, s.fileId) }));
  const master = variants[0] as AvatarVariant;
  // A database error here is ambiguous (the commit may have landed), so the files are kept:
  // master_file_id names them, and the retry or the stored-files sweeper removes them if unused.
  const recorded = await journal.record(upload.id, {
    patch: { progress: 80, masterFileId: master.fileId, variants },
    event: { type: 'stored', data: { fileId: master.fileId, variants } },
  });
  if (!recorded) {
    // the upload finished meanwhile (e.g. failed by the outbox): nobody will use these files
    await deps.files.deleteFiles(variants.map((v) => v.fileId)).catch((cleanupError: unknown) => {
      deps.logger.error({ err: cleanupError, fileIds: variants.map((v) => v.fileId) }, 'could not remove unrecorded files; the sweeper will');
    });
    throw new Error('upload changed state while its files were stored');
  }
  return variants;
}

/** The file ids an upload's stored set has: the recorded variants, or those derived from the master id alone. */
export function storedSetFileIds(deps: Pick<ProcessAvatarDeps, 'sizes'>, upload: Pick<Upload, 'variants' | 'masterFileId'>): string[] {
  if (upload.variants && upload.variants.length > 0) return upload.variants.map((v) => v.fileId);
  return upload.masterFileId ? AvatarFileStore.setFileIds(upload.masterFileId, deps.sizes) : [];
}

/** The id of a newer accepted upload that is already the user's avatar, if any. */
async function newerAvatarUpload(deps: ProcessAvatarDeps, upload: Upload): Promise<string | undefined> {
  const current = await new UserDetailRepository(deps.db, deps.tables).findAvatar(upload.userId);
  if (!current?.avatarUploadId || current.avatarUploadId === upload.id) return undefined;
  return (await new UploadsRepository(deps.db).isAcceptedAfter(current.avatarUploadId, upload.id)) ? current.avatarUploadId : undefined;
}

export async function deleteStoredFiles(deps: Pick<ProcessAvatarDeps, 'scheduleDeletion' | 'sizes'>, upload: Upload, reason: string): Promise<void> {
  const fileIds = storedSetFileIds(deps, upload);
  if (fileIds.length === 0) return;
  await deps.scheduleDeletion({ fileIds, uploadId: upload.id, reason });
}

export async function removeStagedOriginal(deps: Pick<ProcessAvatarDeps, 'staged' | 'db'>, upload: Upload): Promise<void> {
  if (!upload.stagedPath) return;
  await deps.staged.remove(upload.stagedPath);
  await new UploadsRepository(deps.db).update(upload.id, { stagedPath: null });
}
