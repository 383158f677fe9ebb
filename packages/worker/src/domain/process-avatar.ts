import { randomUUID } from 'node:crypto';
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
import { AvatarFileStore, type StoredVariant } from '../adapters/avatar-file-store.js';
import type { StagedOriginalStore } from '../adapters/staged-originals.js';
import type { RenderedVariant } from '../pipeline/render-avatar.js';
import { commitAvatar } from './commit-avatar.js';

export interface ProcessAvatarDeps {
  db: Db;
  tables: { users: string; userDetail: string };
  files: Pick<AvatarFileStore, 'storeSet' | 'deleteFiles'>;
  staged: Pick<StagedOriginalStore, 'read' | 'remove'>;
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
 * One run's claim on its upload. BullMQ delivers at least once: a worker that cannot renew
 * its job lock keeps running while another worker takes the job. Each run writes a fresh
 * token with its `processing` record, and every later write of the run holds only while the
 * row keeps that token: the run that started last owns the upload, the other one stops.
 */
export interface RunClaim {
  readonly token: string;
  /** Set once `processing` is recorded with the token; the run's failure records are conditional from then on. */
  held: boolean;
}

export function newRunClaim(): RunClaim {
  return { token: randomUUID(), held: false };
}

/**
 * One upload, top to bottom: load → (skip if a newer avatar already won) → render →
 * store → commit → clean up. Each step is safe to repeat: a retry reuses file ids already
 * recorded, and a finished upload is never touched again. Throws to let BullMQ retry.
 * Ends 'skipped' when another run claims the upload meanwhile: that run finishes it.
 */
export async function processAvatar(deps: ProcessAvatarDeps, uploadId: string, attempt: number, claim: RunClaim = newRunClaim()): Promise<ProcessOutcome> {
  const journal = new UploadJournal(deps.db);

  const found = await new UploadsRepository(deps.db).findById(uploadId);
  if (!found) throw new AppError('upload_not_found', `upload ${uploadId} is not recorded`);
  if (isTerminal(found.status)) {
    await removeStagedOriginal(deps, found);
    return 'skipped';
  }
  // the row as this run claimed it, read under its lock: from here on an earlier run of the
  // job can record nothing more, so what it left recorded is final
  const upload = await journal.record(uploadId, {
    status: 'processing',
    patch: { attempts: attempt, claimToken: claim.token },
    event: { type: 'processing', data: { attempt } },
  });
  if (!upload) return 'skipped';
  claim.held = true;
  const mine = { claim: claim.token };

  const newer = await newerAvatarUpload(deps, upload);
  if (newer) {
    const superseded = await journal.record(uploadId, { status: 'superseded', event: { type: 'superseded', data: { by: newer } } }, undefined, mine);
    if (!superseded) return stepAside(deps, uploadId);
    await deleteStoredFiles(deps, superseded, 'superseded before processing');
    await removeStagedOriginal(deps, superseded);
    return 'superseded';
  }

  const variants = upload.variants && upload.masterFileId ? upload.variants : await renderAndStore(deps, journal, upload, claim.token);
  if (!variants) return stepAside(deps, uploadId);
  const outcome = await commitAvatar(deps.db, deps.tables, upload, variants);
  switch (outcome.kind) {
    case 'done':
      if (outcome.replaced) {
        await deps.scheduleDeletion({ fileIds: outcome.replaced.fileIds, uploadId: outcome.replaced.uploadId ?? undefined, reason: `replaced by ${uploadId}` });
      }
      break;
    case 'superseded':
      await deps.scheduleDeletion({ fileIds: variants.map((v) => v.fileId), uploadId, reason: outcome.by ? `superseded by ${outcome.by}` : 'superseded: the avatar was removed after it was accepted' });
      break;
    case 'user_gone': {
      const failed = await journal.record(
        uploadId,
        {
          status: 'failed',
          patch: { errorCode: 'user_not_found', errorMessage: 'The user was deleted' },
          event: { type: 'failed', data: { code: 'user_not_found', message: 'The user was deleted' } },
        },
        undefined,
        mine,
      );
      // the variants are recorded on the row: whoever holds it now deletes them
      if (!failed) return stepAside(deps, uploadId);
      await deps.scheduleDeletion({ fileIds: variants.map((v) => v.fileId), uploadId, reason: 'user deleted' });
      break;
    }
    case 'already_terminal':
      break;
    case 'claim_lost':
      return stepAside(deps, uploadId);
  }
  await removeStagedOriginal(deps, upload);
  return outcome.kind === 'user_gone' ? 'failed' : outcome.kind === 'already_terminal' ? 'skipped' : outcome.kind;
}

/**
 * Ends a run whose claim another run took (or whose upload finished meanwhile): the row,
 * its recorded files and the staged original are the other run's to finish with.
 */
function stepAside(deps: Pick<ProcessAvatarDeps, 'logger'>, uploadId: string): ProcessOutcome {
  deps.logger.info({ uploadId }, 'another run of the job claimed the upload or finished it; this run stops');
  return 'skipped';
}

/**
 * Renders and stores the set under this run's claim. Undefined when the claim was lost (or
 * the upload finished) meanwhile; the files this run stored are then deleted again.
 */
async function renderAndStore(deps: ProcessAvatarDeps, journal: UploadJournal, upload: Upload, claim: string): Promise<AvatarVariant[] | undefined> {
  if (!upload.stagedPath) throw new AppError('staged_file_missing', 'The upload has no staged original');
  const mine = { claim };
  const input = await deps.staged.read(upload.stagedPath);
  const rendered = await deps.render(input);
  const progressed = await journal.record(upload.id, { patch: { progress: 50 }, event: { type: 'progress', data: { step: 'rendered', percent: 50 } } }, undefined, mine);
  if (!progressed) return undefined;

  const uploads = new UploadsRepository(deps.db);
  if (upload.masterFileId) {
    // an earlier run died between storing and recording the whole set, or lost its claim to
    // this run (and can record nothing more): drop that set (what of it exists) and store
    // afresh, rather than trust slaves that may never have arrived
    await deps.files.deleteFiles(storedSetFileIds(deps, upload));
    if (!(await uploads.update(upload.id, { masterFileId: null }, mine))) return undefined;
  }
  const stored = await storeUnderClaim(deps, uploads, upload.id, rendered, claim);
  if (!stored) return undefined;
  const variants = stored.map((s) => ({ size: s.size, fileId: s.fileId, url: publicFileUrl(deps.publicUrl, s.fileId) }));
  const master = variants[0] as AvatarVariant;
  // A database error here is ambiguous (the commit may have landed), so the files are kept:
  // master_file_id names them, and the retry or the stored-files sweeper removes them if unused.
  const recorded = await journal.record(
    upload.id,
    { patch: { progress: 80, masterFileId: master.fileId, variants }, event: { type: 'stored', data: { fileId: master.fileId, variants } } },
    undefined,
    mine,
  );
  if (!recorded) {
    // another run claimed the upload (and drops or already dropped the master it may have
    // seen), or the upload finished (e.g. failed by the outbox): nobody will use these files
    await deleteOwnFiles(deps, variants.map((v) => v.fileId));
    return undefined;
  }
  return variants;
}

/** Stores the set, recording its master under the claim; undefined, with nothing left stored, when the claim is gone. */
async function storeUnderClaim(
  deps: ProcessAvatarDeps,
  uploads: UploadsRepository,
  uploadId: string,
  rendered: RenderedVariant[],
  claim: string,
): Promise<StoredVariant[] | undefined> {
  try {
    return await deps.files.storeSet(rendered, async (masterFileId) => {
      // throwing here makes storeSet remove the master before any slave is sent
      if (!(await uploads.update(uploadId, { masterFileId }, { claim }))) throw new ClaimLostError(uploadId);
    });
  } catch (error) {
    if (error instanceof ClaimLostError) return undefined;
    throw error;
  }
}

/** Another run holds the upload's claim: this run's master could not be recorded. */
class ClaimLostError extends Error {
  constructor(uploadId: string) {
    super(`another run claimed upload ${uploadId}`);
  }
}

/** Deletes files this run stored and recorded nowhere; if storage is away, the cleanup queue retries. */
async function deleteOwnFiles(deps: Pick<ProcessAvatarDeps, 'files' | 'scheduleDeletion' | 'logger'>, fileIds: string[]): Promise<void> {
  try {
    await deps.files.deleteFiles(fileIds);
  } catch (error) {
    deps.logger.warn({ err: error, fileIds }, 'could not remove unrecorded files now; scheduling their deletion');
    // no uploadId: the deletion must not mark the upload's own (recorded) files deleted
    await deps.scheduleDeletion({ fileIds, reason: 'stored by a run that lost its claim' }).catch((scheduleError: unknown) => {
      deps.logger.error({ err: scheduleError, fileIds }, 'could not schedule the deletion of unrecorded files; they stay orphaned');
    });
  }
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
