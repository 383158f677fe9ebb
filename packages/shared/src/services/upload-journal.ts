import type { Knex } from 'knex';
import type { NewUploadEvent } from '../domain/upload-event.js';
import type { NewUpload, Upload } from '../domain/upload.js';
import { canRetry } from '../domain/upload-retry.js';
import { canTransition, isTerminal, type UploadStatus } from '../domain/upload-status.js';
import { UploadEventsRepository } from '../repositories/upload-events-repository.js';
import { UploadsRepository, type UploadPatch } from '../repositories/uploads-repository.js';

export interface UploadChange {
  status?: UploadStatus;
  patch?: Omit<UploadPatch, 'status' | 'lastEventSeq'>;
  event: NewUploadEvent;
}

export type ReopenOutcome =
  | { kind: 'reopened'; upload: Upload }
  | { kind: 'not_found' }
  | { kind: 'not_failed'; status: UploadStatus }
  | { kind: 'original_gone' };

export interface RecordOptions {
  /** The recording run's claim token: the change applies only while the row still holds it. */
  claim?: string;
}

/**
 * The only writer of upload status and events: each change updates the row and appends the
 * numbered event in one transaction, under the row's lock, and respects the state machine,
 * so a late or duplicate job can never move a finished upload.
 */
export class UploadJournal {
  constructor(private readonly db: Knex) {}

  /** Records a newly accepted upload with its `queued` event (seq 1). */
  async accept(upload: NewUpload): Promise<Upload> {
    return this.db.transaction(async (trx) => {
      const inserted = await new UploadsRepository(trx).insert(upload);
      await new UploadEventsRepository(trx).insert(upload.id, 1, 'queued', {
        size: upload.sizeBytes,
        detectedType: upload.detectedType,
        width: upload.width,
        height: upload.height,
      });
      const withSeq = await new UploadsRepository(trx).update(upload.id, { lastEventSeq: 1 });
      return withSeq ?? inserted;
    });
  }

  /**
   * Applies `change` and returns the updated upload, or undefined when the upload is gone or
   * the change is not allowed from its current status (terminal uploads take no events).
   * Pass `trx` to make the change part of a larger transaction. With `claim`, the change is
   * also refused unless the row still holds that claim token: BullMQ may run one job twice
   * at once (a lost lock), and only the run that claimed the upload last may write to it.
   */
  async record(uploadId: string, change: UploadChange, trx?: Knex.Transaction, options: RecordOptions = {}): Promise<Upload | undefined> {
    if (trx) return this.recordIn(trx, uploadId, change, options);
    return this.db.transaction((t) => this.recordIn(t, uploadId, change, options));
  }

  /**
   * An operator's retry: `failed → queued` with a `retried` event, the one way out of a
   * terminal status. Under the row's lock it checks the upload is failed and its staged
   * original still exists (`originalExists`), then clears what the failed run left: error,
   * progress, attempts, claim and the stored set (those files were scheduled for deletion
   * when it failed). The caller enqueues the job; creation order still decides the avatar.
   */
  async reopenFailed(uploadId: string, originalExists: (stagedPath: string) => Promise<boolean>): Promise<ReopenOutcome> {
    return this.db.transaction(async (trx) => {
      const uploads = new UploadsRepository(trx);
      const current = await uploads.findById(uploadId, { forUpdate: true });
      if (!current) return { kind: 'not_found' };
      if (!canRetry(current.status)) return { kind: 'not_failed', status: current.status };
      if (!current.stagedPath || !(await originalExists(current.stagedPath))) return { kind: 'original_gone' };
      const seq = current.lastEventSeq + 1;
      const upload = await uploads.update(uploadId, {
        status: 'queued',
        progress: 0,
        attempts: 0,
        claimToken: null,
        errorCode: null,
        errorMessage: null,
        masterFileId: null,
        variants: null,
        lastEventSeq: seq,
      });
      await new UploadEventsRepository(trx).insert(uploadId, seq, 'retried', { previousCode: current.errorCode, by: 'operator' });
      return upload ? { kind: 'reopened', upload } : { kind: 'not_found' };
    });
  }

  private async recordIn(trx: Knex.Transaction, uploadId: string, change: UploadChange, options: RecordOptions): Promise<Upload | undefined> {
    const uploads = new UploadsRepository(trx);
    const current = await uploads.findById(uploadId, { forUpdate: true });
    if (!current) return undefined;
    if (options.claim !== undefined && current.claimToken !== options.claim) return undefined;
    if (change.status !== undefined) {
      if (!canTransition(current.status, change.status)) return undefined;
    } else if (isTerminal(current.status)) {
      return undefined;
    }
    const seq = current.lastEventSeq + 1;
    const updated = await uploads.update(uploadId, { ...change.patch, status: change.status, lastEventSeq: seq });
    await new UploadEventsRepository(trx).insert(uploadId, seq, change.event.type, change.event.data);
    return updated;
  }
}
