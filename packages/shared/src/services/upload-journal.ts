import type { NewUploadEvent } from '../domain/upload-event.js';
import type { NewUpload, Upload } from '../domain/upload.js';
import { canRetry } from '../domain/upload-retry.js';
import { canTransition, isTerminal, uploadStatuses, type UploadStatus } from '../domain/upload-status.js';
import type { Repositories } from '../repositories/repositories.js';
import type { UploadPatch } from '../repositories/uploads-repository.js';

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

/** The statuses a change may start from: those the state machine lets reach `to`, or every live one when the status stays. */
function statusesLeadingTo(to: UploadStatus | undefined): UploadStatus[] {
  return uploadStatuses.filter((from) => (to === undefined ? !isTerminal(from) : canTransition(from, to)));
}

export interface RecordOptions {
  /** The recording run's claim token: the change applies only while the row still holds it. */
  claim?: string;
}

/**
 * The only writer of upload status and events: each change updates the row and appends the
 * numbered event atomically (one statement), under the row's lock, and respects the state machine,
 * so a late or duplicate job can never move a finished upload.
 */
export class UploadJournal {
  constructor(private readonly repos: Pick<Repositories, 'transaction' | 'uploads'>) {}

  /**
   * Records a newly accepted upload with its `queued` event (seq 1). Throws
   * IdempotencyKeyTakenError, recording nothing, when the user already has an upload under
   * `upload.idempotencyKey` (a concurrent request with the same key won).
   */
  async accept(upload: NewUpload): Promise<Upload> {
    return this.repos.uploads.insertWithFirstEvent(upload, {
      type: 'queued',
      data: { size: upload.sizeBytes, detectedType: upload.detectedType, width: upload.width, height: upload.height },
    });
  }

  /**
   * Applies `change` and returns the updated upload, or undefined when the upload is gone or
   * the change is not allowed from its current status (terminal uploads take no events).
   * A journal of repositories bound to a transaction records in it (part of a larger change).
   * With `claim`, the change is also refused unless the row still holds that claim token:
   * BullMQ may run one job twice at once (a lost lock), and only the run that claimed the
   * upload last may write to it.
   */
  async record(uploadId: string, change: UploadChange, options: RecordOptions = {}): Promise<Upload | undefined> {
    // one statement (one round trip) that checks the rules under the row's lock
    return this.repos.uploads.updateWithEvent(uploadId, {
      from: statusesLeadingTo(change.status),
      claim: options.claim,
      patch: { ...change.patch, status: change.status },
      event: change.event,
    });
  }

  /**
   * An operator's retry: `failed → queued` with a `retried` event, the one way out of a
   * terminal status. Under the row's lock it checks the upload is failed and its staged
   * original still exists (`originalExists`), then clears what the failed run left: error,
   * progress, attempts, claim and the stored set (those files were scheduled for deletion
   * when it failed). The caller enqueues the job; creation order still decides the avatar.
   */
  async reopenFailed(uploadId: string, originalExists: (stagedPath: string) => Promise<boolean>): Promise<ReopenOutcome> {
    return this.repos.transaction(async ({ uploads, events }) => {
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
      await events.insert(uploadId, seq, 'retried', { previousCode: current.errorCode, by: 'operator' });
      return upload ? { kind: 'reopened', upload } : { kind: 'not_found' };
    });
  }
}
