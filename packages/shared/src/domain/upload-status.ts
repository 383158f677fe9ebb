export const uploadStatuses = ['queued', 'processing', 'retrying', 'done', 'failed', 'superseded'] as const;
export type UploadStatus = (typeof uploadStatuses)[number];

/** Finished for good: no job touches it again (an operator's retry is the one way back). */
export const terminalStatusList = ['done', 'failed', 'superseded'] as const satisfies readonly UploadStatus[];
export const terminalStatuses: ReadonlySet<UploadStatus> = new Set(terminalStatusList);
/** Not finished: a job is (or should be) on its way. */
export const liveStatuses = uploadStatuses.filter((s) => !terminalStatuses.has(s));

export function isTerminal(status: UploadStatus): boolean {
  return terminalStatuses.has(status);
}

const allowed: Record<UploadStatus, readonly UploadStatus[]> = {
  queued: ['processing', 'failed', 'superseded'],
  // processing → processing: a stalled job picked up again by another worker
  processing: ['processing', 'retrying', 'done', 'failed', 'superseded'],
  retrying: ['processing', 'failed', 'superseded'],
  done: [],
  failed: [],
  superseded: [],
};

/** Terminal states never change: a late retry or duplicate job cannot reopen an upload. */
export function canTransition(from: UploadStatus, to: UploadStatus): boolean {
  return allowed[from].includes(to);
}
