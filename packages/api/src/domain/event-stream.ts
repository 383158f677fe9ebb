import { terminalStatusList, type UploadEvent, type UploadEventType } from '@avatar/shared';

/** The event types after which an upload never changes again (each terminal status has its event): the stream ends with them. */
const terminalEventTypes: ReadonlySet<UploadEventType> = new Set(terminalStatusList);

export function isTerminalEvent(type: UploadEventType): boolean {
  return terminalEventTypes.has(type);
}

/** True when the client asked for Server-Sent Events (EventSource sends exactly `text/event-stream`). */
export function acceptsEventStream(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => part.split(';')[0]?.trim().toLowerCase() === 'text/event-stream');
}

/**
 * One event as an SSE frame: `id` is the sequence number (EventSource sends it back as
 * Last-Event-ID when it reconnects), `event` the type, `data` the same object the long poll
 * returns. JSON never holds a raw newline, so `data` is one line.
 */
export function eventFrame(event: UploadEvent): string {
  const data = { seq: event.seq, type: event.type, data: event.data, createdAt: event.createdAt.toISOString() };
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by EventSource, it keeps proxies and idle timers from closing a quiet stream. */
export const HEARTBEAT_FRAME = ': keep-alive\n\n';

/** Sent first: how long EventSource waits before reconnecting after the stream ends. */
export function retryFrame(ms: number): string {
  return `retry: ${ms}\n\n`;
}
