import { terminalStatuses } from '@avatar/shared';
import { FormData, fetch, type Dispatcher } from 'undici';

export interface UploadAnswer {
  status: number;
  code: string | undefined;
  uploadId: string | undefined;
}

export interface SampleFile {
  blob: Blob;
  bytes: number;
}

/** One avatar upload as a browser sends it: multipart, one `file` part, the bearer token. */
export async function postUpload(dispatcher: Dispatcher, baseUrl: string, userId: number, token: string, file: SampleFile, name: string): Promise<UploadAnswer> {
  const form = new FormData();
  form.append('file', file.blob, name);
  const response = await fetch(`${baseUrl}/v1/users/${userId}/avatar`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
    dispatcher,
  });
  const body = (await response.json().catch(() => ({}))) as { uploadId?: string; code?: string };
  return { status: response.status, code: body.code, uploadId: response.status === 202 ? body.uploadId : undefined };
}

export interface UploadOutcome {
  status: 'done' | 'failed' | 'superseded';
  /** Wall-clock ms of the terminal event, as the database recorded it: exact whenever it is read. */
  finishedAtWallMs: number;
  code: string | undefined;
}

const TERMINAL: ReadonlySet<string> = terminalStatuses;

interface EventsPage {
  status: string;
  lastSeq: number;
  events: Array<{ type: string; createdAt: string; data: { code?: string } | null }>;
}

/**
 * Follows one upload through the events long poll until it is terminal, or undefined at
 * `deadlineMs` (performance.now). The finish time is the terminal event's own timestamp, so a
 * follower that starts late (they are capped) still measures it exactly.
 */
export async function followUpload(dispatcher: Dispatcher, baseUrl: string, uploadId: string, token: string, deadlineMs: number, signal: AbortSignal): Promise<UploadOutcome | undefined> {
  let after = 0;
  let lastTerminal: { type: string; createdAt: string; code: string | undefined } | undefined;
  while (performance.now() < deadlineMs && !signal.aborted) {
    const wait = Math.max(1, Math.min(20, Math.floor((deadlineMs - performance.now()) / 1000)));
    const response = await fetch(`${baseUrl}/v1/uploads/${uploadId}/events?after=${after}&wait=${wait}`, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher,
      signal,
    }).catch(() => undefined);
    if (!response?.ok) {
      await response?.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    const page = (await response.json()) as EventsPage;
    after = page.lastSeq;
    for (const event of page.events) {
      if (TERMINAL.has(event.type)) lastTerminal = { type: event.type, createdAt: event.createdAt, code: event.data?.code ?? undefined };
      // an operator's retry reopens a failed upload: its old terminal event no longer counts
      else if (event.type === 'retried') lastTerminal = undefined;
    }
    // the status is read after the events, so a terminal status whose event is not on this page yet needs one more page
    if (TERMINAL.has(page.status) && lastTerminal?.type === page.status) {
      return { status: page.status as UploadOutcome['status'], finishedAtWallMs: Date.parse(lastTerminal.createdAt), code: lastTerminal.code };
    }
  }
  return undefined;
}
