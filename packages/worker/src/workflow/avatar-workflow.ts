import { randomUUID } from 'node:crypto';
import {
  AppError,
  isTerminal,
  keepsOriginalForRetry,
  publicFileUrl,
  type AvatarVariant,
  type DeleteFilesJob,
  type Logger,
  type ProcessAvatarJob,
  type Repositories,
  type Upload,
} from '@avatar/shared';
import type { AvatarFileStore, StoredVariant } from '../adapters/avatar-file-store.js';
import type { FileDeletionScheduler } from '../adapters/file-deletion-queue.js';
import type { StagedOriginalStore } from '../adapters/staged-originals.js';
import { classifyFailure, type Failure } from '../domain/classify-failure.js';
import { commitAvatar } from '../domain/commit-avatar.js';
import { storedSetFileIds } from '../domain/stored-set.js';
import { untimedStages, type JobStage, type JobStageTimer } from '../ops/job-stage-metrics.js';
import type { AvatarRenderer } from '../pipeline/avatar-renderer.js';
import type { RenderedVariant } from '../pipeline/render-avatar.js';

/** What the workflow does its work with besides the database. */
export interface WorkflowAdapters {
  files: Pick<AvatarFileStore, 'storeSet' | 'deleteFiles'>;
  staged: Pick<StagedOriginalStore, 'read' | 'remove' | 'listsEveryOriginal'>;
  renderer: AvatarRenderer;
  deletions: FileDeletionScheduler;
}

export interface WorkflowSettings {
  /** The configured variant sizes: a set known only by its master id is found again from them. */
  sizes: readonly number[];
  /** FDFS_PUBLIC_URL: prefix of the variants' URLs. */
  publicUrl: string;
  /** JOB_BACKOFF_MS: the delay a `retrying` event announces. */
  backoffMs: number;
}

export interface AvatarWorkflowDeps {
  repos: Repositories;
  adapters: WorkflowAdapters;
  settings: WorkflowSettings;
  logger: Logger;
  /** Where each stage's wall time goes (`avatar_job_stage_seconds`); none by default. */
  stages?: JobStageTimer;
}

export type ProcessOutcome = 'done' | 'superseded' | 'failed' | 'skipped';

/** How an attempt failed, as the job carries it (`job.data.lastFailure`). */
export type LastFailure = NonNullable<ProcessAvatarJob['lastFailure']>;

export interface AttemptInput {
  uploadId: string;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** How an earlier attempt failed, as it wrote it on the job. */
  lastFailure?: LastFailure | undefined;
  /** BullMQ's text for the previous failure: for people, shown when the attempt wrote nothing. */
  failedReason?: string | undefined;
  /**
   * The staged original as the job names it (`job.data.stagedPath`): the render starts from it
   * while the upload is claimed, and is used only if the claimed row names the same original.
   */
  stagedPath?: string | undefined;
}

export type AttemptResult =
  | { kind: 'finished'; outcome: ProcessOutcome }
  /** Recorded already (`retrying`, or `failed` when `final`) as far as the database allowed; `error` is what was thrown. */
  | { kind: 'failed'; failure: Failure; final: boolean; error: unknown };

/**
 * A render started before the claim, from the original the job names. The claim, the newer-avatar
 * check and (on a retry) the missed-retry record take a few database round trips that would
 * otherwise sit in front of the render on every job. A render nobody uses is the price, paid only
 * on rare runs: the claim refused, a newer avatar already set, a re-run whose row already records
 * its stored set (the attempt then also waits for the unused render), or a job naming another
 * original than its row (rendered twice).
 */
interface EarlyRender {
  stagedPath: string;
  variants: Promise<RenderedVariant[]>;
}

/** A run that claimed its upload, or why there is nothing to claim. */
type Claimed = { kind: 'claimed'; upload: Upload; claim: string } | { kind: 'not_claimed'; outcome: ProcessOutcome };

/**
 * Everything that happens to an upload after it was accepted, in one place: processing (load
 * → skip if a newer avatar already won → render → store → commit → clean up), recording a
 * retry or a failure, and releasing what a finished upload holds (stored files, the staged
 * original). The BullMQ handlers and the sweepers only call it.
 *
 * BullMQ delivers at least once: a worker that cannot renew its job lock keeps running while
 * another worker takes the job. Each run writes a fresh claim token with its `processing`
 * record, and every later write of the run holds only while the row keeps that token: the
 * run that started last owns the upload, the other one stops.
 */
export class AvatarWorkflow {
  constructor(private readonly deps: AvatarWorkflowDeps) {}

  /** The same workflow logging with `logger` (one job's lines carry its upload and request ids). */
  withLogger(logger: Logger): AvatarWorkflow {
    return new AvatarWorkflow({ ...this.deps, logger });
  }

  /**
   * One attempt of a job: records a retry the previous attempt could not, processes the
   * upload, and on error classifies it and records `retrying` or (`final`) `failed` itself,
   * under this run's claim once it holds one. Never throws: the caller hands a failure to its
   * queue.
   */
  async runAttempt(input: AttemptInput): Promise<AttemptResult> {
    const early = input.stagedPath === undefined ? undefined : this.renderEarly(input.stagedPath);
    // known once this run has claimed the upload: its failure records are conditional from then on
    let claim: string | undefined;
    try {
      if (input.attempt > 1) await this.recordMissedRetry(input);
      const claimed = await this.claim(input.uploadId, input.attempt);
      if (claimed.kind === 'not_claimed') return { kind: 'finished', outcome: claimed.outcome };
      claim = claimed.claim;
      return { kind: 'finished', outcome: await this.processClaimed(claimed.upload, claim, early) };
    } catch (error) {
      // recorded once the early render has ended: a failed upload may release its original
      await early?.variants.catch(() => undefined);
      const failure = classifyFailure(error);
      const final = !failure.retry || input.attempt >= input.maxAttempts;
      if (final) {
        await this.fail(input.uploadId, failure, { claim }).catch((recordError: unknown) => {
          // the outbox sweeper marks it failed once the database is back, from the job's lastFailure
          this.deps.logger.error({ err: recordError }, 'could not record the failure');
        });
      } else {
        await this.recordRetrying(input.uploadId, { attempt: input.attempt, failure, claim }).catch((recordError: unknown) => {
          // the next attempt records it (recordMissedRetry)
          this.deps.logger.warn({ err: recordError }, 'could not record the retry');
        });
      }
      return { kind: 'failed', failure, final, error };
    } finally {
      // a render this run did not use still ends inside the attempt, so the job's slot stays
      // busy while sharp works
      await early?.variants.catch(() => undefined);
    }
  }

  /**
   * One upload, top to bottom (see `processClaimed`). Each step is safe to repeat: a retry
   * reuses file ids already recorded, and a finished upload is never touched again. Throws
   * what went wrong, unrecorded (`runAttempt` records it). Ends 'skipped' when another run
   * claims the upload meanwhile: that run finishes it.
   */
  async process(uploadId: string, attempt: number): Promise<ProcessOutcome> {
    const claimed = await this.claim(uploadId, attempt);
    return claimed.kind === 'claimed' ? this.processClaimed(claimed.upload, claimed.claim, undefined) : claimed.outcome;
  }

  /**
   * Marks the upload failed for good and releases what it holds: its stored files, and its
   * staged original unless the failure was the system's fault (kept for an operator's retry).
   * With `claim`, only while the row still holds it: the stored files may be another run's.
   * False when the journal refused (finished meanwhile, or claimed by another run).
   */
  async fail(uploadId: string, failure: Pick<Failure, 'code' | 'message'>, options: { claim?: string | undefined } = {}): Promise<boolean> {
    const message = failure.message.slice(0, 500);
    const failed = await this.deps.repos.journal.record(
      uploadId,
      {
        status: 'failed',
        patch: { errorCode: failure.code, errorMessage: message },
        event: { type: 'failed', data: { code: failure.code, message } },
      },
      claimOption(options.claim),
    );
    if (!failed) return false;
    await this.deleteStoredFiles(failed, `failed: ${failure.code}`);
    // an outage or a bug may be over tomorrow: the original waits (FAILED_ORIGINAL_RETENTION_MS) for an operator's retry
    if (!keepsOriginalForRetry(failure.code)) await this.removeStagedOriginal(failed);
    return true;
  }

  /** Schedules the deletion of an upload's stored set (see FileDeletionQueue: one job per upload). */
  async deleteStoredFiles(upload: Pick<Upload, 'id' | 'variants' | 'masterFileId'>, reason: string): Promise<void> {
    const fileIds = storedSetFileIds(upload, this.deps.settings.sizes);
    if (fileIds.length === 0) return;
    await this.deps.adapters.deletions.schedule({ fileIds, uploadId: upload.id, reason });
  }

  /** A scheduled deletion's work: deletes the files (gone ones count as deleted) and notes it on the upload. */
  async deleteFiles(request: Pick<DeleteFilesJob, 'fileIds' | 'uploadId'>): Promise<void> {
    await this.deps.adapters.files.deleteFiles(request.fileIds);
    if (request.uploadId) await this.deps.repos.uploads.markFilesDeleted(request.uploadId);
  }

  /** Removes the upload's staged original (one already gone is fine) and forgets it on the row. */
  async removeStagedOriginal(upload: Pick<Upload, 'id' | 'stagedPath'>): Promise<void> {
    if (!upload.stagedPath) return;
    await this.deps.adapters.staged.remove(upload.stagedPath);
    await this.deps.repos.uploads.update(upload.id, { stagedPath: null });
  }

  /**
   * Loads the upload and claims it: `processing` with this run's fresh token, read back under
   * the row's lock. From then on an earlier run of the job can record nothing more, so what it
   * left recorded is final. A finished upload only has its staged original released.
   */
  private async claim(uploadId: string, attempt: number): Promise<Claimed> {
    const claim = randomUUID();
    const upload = await this.timed('db_claim', () =>
      this.deps.repos.journal.record(uploadId, {
        status: 'processing',
        patch: { attempts: attempt, claimToken: claim },
        event: { type: 'processing', data: { attempt } },
      }),
    );
    if (upload) return { kind: 'claimed', upload, claim };
    // refused: read the row only now, to tell a missing upload from a finished one
    const found = await this.deps.repos.uploads.findById(uploadId);
    if (!found) throw new AppError('upload_not_found', `upload ${uploadId} is not recorded`);
    // a late duplicate run: the original goes, unless its failure keeps it for an operator's retry
    if (isTerminal(found.status) && !(found.status === 'failed' && keepsOriginalForRetry(found.errorCode))) await this.removeStagedOriginal(found);
    return { kind: 'not_claimed', outcome: 'skipped' };
  }

  /** The claimed upload, top to bottom: skip if a newer avatar already won → render → store → commit → clean up. */
  private async processClaimed(upload: Upload, claim: string, early: EarlyRender | undefined): Promise<ProcessOutcome> {
    const { journal, userDetail } = this.deps.repos;
    const mine = { claim };
    // the terminal write forgets the original too when the staging sweeper would find it anyway
    const forgetStaged = this.deps.adapters.staged.listsEveryOriginal;

    const newer = await this.timed('db_newer_check', () => userDetail.newerAvatarUpload(upload.userId, upload.id));
    if (newer) {
      const superseded = await journal.record(
        upload.id,
        { status: 'superseded', patch: forgetStaged ? { stagedPath: null } : {}, event: { type: 'superseded', data: { by: newer } } },
        mine,
      );
      if (!superseded) return this.stepAside(upload.id);
      await this.deleteStoredFiles(superseded, 'superseded before processing');
      await this.dropStagedOriginal(upload, forgetStaged);
      return 'superseded';
    }

    const variants = upload.variants && upload.masterFileId ? upload.variants : await this.renderAndStore(upload, claim, early);
    if (!variants) return this.stepAside(upload.id);

    const outcome = await this.timed('db_commit', () => commitAvatar(this.deps.repos, upload, variants, { forgetStagedOriginal: forgetStaged }));
    switch (outcome.kind) {
      case 'done':
        if (outcome.replaced) await this.releaseFiles({ fileIds: outcome.replaced.fileIds, uploadId: outcome.replaced.uploadId ?? undefined, reason: `replaced by ${upload.id}` });
        break;
      case 'superseded':
        await this.releaseFiles({
          fileIds: variants.map((v) => v.fileId),
          uploadId: upload.id,
          reason: outcome.by ? `superseded by ${outcome.by}` : 'superseded: the avatar was removed after it was accepted',
        });
        break;
      case 'user_gone':
        // the variants are recorded on the row: failing it schedules their deletion (and releases the original)
        return (await this.fail(upload.id, { code: 'user_not_found', message: 'The user was deleted' }, mine)) ? 'failed' : this.stepAside(upload.id);
      case 'already_terminal':
        // whoever finished it released the original, or kept it for an operator's retry (a failure)
        return 'skipped';
      case 'claim_lost':
        return this.stepAside(upload.id);
    }
    await this.dropStagedOriginal(upload, forgetStaged);
    return outcome.kind;
  }

  /**
   * Releases a finished upload's staged original: removes the file, and forgets it on the row
   * unless the terminal write did (`forgotten`; a crash before the removal leaves an orphan the
   * staging sweeper removes).
   */
  private async dropStagedOriginal(upload: Pick<Upload, 'id' | 'stagedPath'>, forgotten: boolean): Promise<void> {
    const { stagedPath } = upload;
    if (!stagedPath) return;
    await this.timed('remove_staged', () => this.deps.adapters.staged.remove(stagedPath));
    if (!forgotten) await this.timed('db_cleanup', () => this.deps.repos.uploads.update(upload.id, { stagedPath: null }));
  }

  /**
   * Deletes the files of a set that is no longer needed right away (no queue round trips) and
   * notes it on its upload; if storage is away, schedules the deletion on the cleanup queue,
   * which retries. A crash in between leaves a finished upload whose files are not marked
   * deleted and that no avatar names: the stored-files sweeper schedules it again.
   */
  private async releaseFiles(request: DeleteFilesJob): Promise<void> {
    try {
      await this.timed('delete_replaced', () => this.deps.adapters.files.deleteFiles(request.fileIds));
    } catch (error) {
      this.deps.logger.warn({ err: error, uploadId: request.uploadId }, 'could not delete the files now; scheduling their deletion');
      await this.timed('schedule_deletion', () => this.deps.adapters.deletions.schedule(request));
      return;
    }
    const { uploadId } = request;
    if (uploadId) await this.timed('db_files_deleted', () => this.deps.repos.uploads.markFilesDeleted(uploadId));
  }

  /** Runs `work`, its wall time counted under `stage`. */
  private timed<T>(stage: JobStage, work: () => Promise<T>): Promise<T> {
    return (this.deps.stages ?? untimedStages).time(stage, work);
  }

  /**
   * Ends a run whose claim another run took (or whose upload finished meanwhile): the row,
   * its recorded files and the staged original are the other run's to finish with.
   */
  private stepAside(uploadId: string): ProcessOutcome {
    this.deps.logger.info({ uploadId }, 'another run of the job claimed the upload or finished it; this run stops');
    return 'skipped';
  }

  /**
   * Renders and stores the set under this run's claim. Undefined when the claim was lost (or
   * the upload finished) meanwhile; the files this run stored are then deleted again.
   */
  private async renderAndStore(upload: Upload, claim: string, early: EarlyRender | undefined): Promise<AvatarVariant[] | undefined> {
    if (!upload.stagedPath) throw new AppError('staged_file_missing', 'The upload has no staged original');
    const { journal } = this.deps.repos;
    const mine = { claim };
    const rendered = await (early?.stagedPath === upload.stagedPath ? early.variants : this.readAndRender(upload.stagedPath));
    const stored = await this.storeUnderClaim(upload, rendered, claim);
    if (!stored) return undefined;
    const variants = stored.map((s) => ({ size: s.size, fileId: s.fileId, url: publicFileUrl(this.deps.settings.publicUrl, s.fileId) }));
    const master = variants[0] as AvatarVariant;
    // A database error here is ambiguous (the commit may have landed), so the files are kept:
    // master_file_id names them, and the retry or the stored-files sweeper removes them if unused.
    const recorded = await this.timed('db_stored', () =>
      journal.record(
        upload.id,
        { patch: { progress: 80, masterFileId: master.fileId, variants }, event: { type: 'stored', data: { fileId: master.fileId, variants } } },
        mine,
      ),
    );
    if (!recorded) {
      // another run claimed the upload (and drops or already dropped the master it may have
      // seen), or the upload finished (e.g. failed by the outbox): nobody will use these files
      await this.deleteOwnFiles(variants.map((v) => v.fileId));
      return undefined;
    }
    return variants;
  }

  /** Starts reading and rendering the original the job names; its failure surfaces only if the render is used. */
  private renderEarly(stagedPath: string): EarlyRender {
    const variants = this.readAndRender(stagedPath);
    // settled by runAttempt in every case; unused, a rejection is no failure of the run
    variants.catch(() => undefined);
    return { stagedPath, variants };
  }

  private async readAndRender(stagedPath: string): Promise<RenderedVariant[]> {
    const input = await this.timed('read_staged', () => this.deps.adapters.staged.read(stagedPath));
    // the renderer reports its decode and encode stages itself
    return this.deps.adapters.renderer.render(input);
  }

  /**
   * Stores the rendered set afresh, recording its master under the claim before any slave is
   * sent; undefined, with nothing left stored, when the claim is gone or the upload finished
   * meanwhile. When an earlier run died between storing and recording the whole set, or lost
   * its claim to this run (and can record nothing more), its set (what of it exists) is dropped
   * first, rather than trusting slaves that may never have arrived.
   */
  private async storeUnderClaim(upload: Upload, rendered: RenderedVariant[], claim: string): Promise<StoredVariant[] | undefined> {
    // set as the master's record is attempted: after that, a failure may have been recorded
    // already (a lost reply), and a second `progress` would repeat the event
    let masterStored = false;
    try {
      if (upload.masterFileId) {
        await this.deps.adapters.files.deleteFiles(storedSetFileIds(upload, this.deps.settings.sizes));
        if (!(await this.deps.repos.uploads.update(upload.id, { masterFileId: null }, { claim }))) return undefined;
      }
      // `store` includes `db_master`, the wait between the master and its slaves
      return await this.timed('store', () =>
        this.deps.adapters.files.storeSet(rendered, async (masterFileId) => {
          masterStored = true;
          // the master's id rides on the `progress` record: one statement instead of two per job
          // (the event now follows the master's upload, a millisecond or two after the render)
          const recorded = await this.timed('db_master', () => this.recordRendered(upload.id, claim, { masterFileId }));
          // throwing here makes storeSet remove the master before any slave is sent
          if (!recorded) throw new ClaimLostError(upload.id);
        }),
      );
    } catch (error) {
      if (error instanceof ClaimLostError) return undefined;
      // storage failed before the master was stored: the render did end, and clients see its
      // progress before the retry, as when it was recorded apart
      if (!masterStored) await this.recordRendered(upload.id, claim, {}).catch(() => undefined);
      throw error;
    }
  }

  /** `progress` 50: the set is rendered (with the master's id once it is stored). */
  private recordRendered(uploadId: string, claim: string, patch: { masterFileId?: string }): Promise<Upload | undefined> {
    return this.deps.repos.journal.record(uploadId, { patch: { progress: 50, ...patch }, event: { type: 'progress', data: { step: 'rendered', percent: 50 } } }, { claim });
  }

  /** Deletes files this run stored and recorded nowhere; if storage is away, the cleanup queue retries. */
  private async deleteOwnFiles(fileIds: string[]): Promise<void> {
    try {
      await this.deps.adapters.files.deleteFiles(fileIds);
    } catch (error) {
      this.deps.logger.warn({ err: error, fileIds }, 'could not remove unrecorded files now; scheduling their deletion');
      // no uploadId: the deletion must not mark the upload's own (recorded) files deleted
      await this.deps.adapters.deletions.schedule({ fileIds, reason: 'stored by a run that lost its claim' }).catch((scheduleError: unknown) => {
        this.deps.logger.error({ err: scheduleError, fileIds }, 'could not schedule the deletion of unrecorded files; they stay orphaned');
      });
    }
  }

  /** `retrying`, with the delay BullMQ's exponential backoff will wait. */
  private async recordRetrying(uploadId: string, retry: { attempt: number; failure: Failure; claim: string | undefined }): Promise<void> {
    const delayMs = this.deps.settings.backoffMs * 2 ** (retry.attempt - 1);
    await this.deps.repos.journal.record(
      uploadId,
      { status: 'retrying', event: { type: 'retrying', data: { attempt: retry.attempt, code: retry.failure.code, reason: retry.failure.message.slice(0, 300), delayMs } } },
      claimOption(retry.claim),
    );
  }

  /**
   * When the previous attempt failed because the database itself was away, its `retrying`
   * event could not be written. The upload then still says `processing` on a later attempt:
   * record the retry now, with the code that attempt wrote on the job, so clients see every
   * retry. An attempt that wrote nothing (its process died, or Redis was away too) counts as
   * `internal_error`.
   */
  private async recordMissedRetry(input: AttemptInput): Promise<void> {
    const failedAttempt = input.attempt - 1;
    const { uploads, events, journal } = this.deps.repos;
    const upload = await uploads.findById(input.uploadId);
    if (upload?.status !== 'processing') return;
    // a stalled job re-run (worker died) keeps its attempt number: its retry is already recorded
    if (await events.hasRetryForAttempt(input.uploadId, failedAttempt)) return;
    const written = input.lastFailure?.attempt === failedAttempt ? input.lastFailure : undefined;
    const code = written?.code ?? 'internal_error';
    const reason = written?.message ?? (input.failedReason || 'the previous attempt ended without recording why');
    await journal.record(input.uploadId, {
      status: 'retrying',
      event: { type: 'retrying', data: { attempt: failedAttempt, code, reason: reason.slice(0, 300), delayMs: 0 } },
    });
  }
}

/** A run with no claim yet records unconditionally; one with a claim only while it holds. */
function claimOption(claim: string | undefined): { claim?: string } {
  return claim === undefined ? {} : { claim };
}

/** Another run holds the upload's claim: this run's master could not be recorded. */
class ClaimLostError extends Error {
  constructor(uploadId: string) {
    super(`another run claimed upload ${uploadId}`);
  }
}
