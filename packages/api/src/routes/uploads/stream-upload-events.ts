import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type Upload, type UploadEventType, type UploadEventsRepository } from '@avatar/shared';
import type { UploadEventListener } from '../../adapters/upload-event-listener.js';
import { eventFrame, HEARTBEAT_FRAME, isTerminalEvent, retryFrame } from '../../domain/event-stream.js';

export interface EventStreamTiming {
  /** a comment this often while nothing happens */
  heartbeatMs: number;
  /** the stream ends after this; EventSource reconnects with Last-Event-ID */
  maxDurationMs: number;
  /** re-read the table at least this often while notifications arrive / while the listener reconnects */
  recheckListeningMs: number;
  recheckDeafMs: number;
  /** what EventSource should wait before reconnecting */
  reconnectMs: number;
}

export const defaultEventStreamTiming: EventStreamTiming = {
  heartbeatMs: 15_000,
  maxDurationMs: 60_000,
  recheckListeningMs: 10_000,
  recheckDeafMs: 1_000,
  reconnectMs: 2_000,
};

interface StreamContext {
  events: UploadEventsRepository;
  listener: UploadEventListener;
  /** aborts when the client leaves or the server starts draining */
  signal: AbortSignal;
  timing: EventStreamTiming;
}

const PAGE = 200;

/**
 * The frames of one stream: every event after `after`, then each new one as LISTEN/NOTIFY
 * announces it (re-reading the table on a timer too, so a missed notification costs latency
 * only), heartbeats in between; it ends after a terminal event that is the latest one stored,
 * after `maxDurationMs`, when the client leaves or when the server drains.
 */
async function* eventFrames(uploadId: string, after: number, context: StreamContext): AsyncGenerator<string> {
  const { events, listener, signal, timing } = context;
  const deadline = Date.now() + timing.maxDurationMs;
  let last = after;
  let lastType: UploadEventType | undefined;
  let nextHeartbeat = Date.now() + timing.heartbeatMs;
  yield retryFrame(timing.reconnectMs);
  while (!signal.aborted) {
    const found = await events.listAfter(uploadId, last, PAGE);
    for (const event of found) {
      yield eventFrame(event);
      last = event.seq;
      lastType = event.type;
    }
    if (found.length === PAGE) continue;
    // Only the latest event stored decides: an operator's retry follows a `failed` with `retried`
    // and a whole new run, so replaying a retried upload's history goes on past its old `failed`.
    if (lastType !== undefined && isTerminalEvent(lastType)) return;
    const now = Date.now();
    if (now >= deadline || signal.aborted) return;
    if (now >= nextHeartbeat) {
      yield HEARTBEAT_FRAME;
      nextHeartbeat = now + timing.heartbeatMs;
    }
    const recheck = listener.listening ? timing.recheckListeningMs : timing.recheckDeafMs;
    await listener.waitFor(uploadId, Math.max(0, Math.min(nextHeartbeat, deadline, now + recheck) - now), signal);
  }
}

export interface EventStreamRequest {
  upload: Upload;
  /** the last sequence number the client has */
  after: number;
  events: UploadEventsRepository;
  listener: UploadEventListener;
  /** aborts when the server starts draining: the stream ends and EventSource reconnects elsewhere */
  drainSignal: AbortSignal;
  timing?: EventStreamTiming;
}

/**
 * Answers the events of `upload` after `after` as Server-Sent Events. An upload that has
 * already finished and has nothing after `after` is answered `204`, which tells EventSource
 * to stop reconnecting. The events route's own writer: no other route uses it.
 */
export function streamUploadEvents(request: FastifyRequest, reply: FastifyReply, stream: EventStreamRequest): FastifyReply {
  const { upload, after } = stream;
  const timing = stream.timing ?? defaultEventStreamTiming;
  reply.header('cache-control', 'private, no-store');
  if (upload.lastEventSeq <= after && isTerminal(upload.status)) return reply.code(204).send();

  // One controller per stream, aborted by the client leaving or the drain. Not AbortSignal.any():
  // on Node 20 every any() leaves an entry on the app-long drain signal that is never freed.
  const stop = new AbortController();
  const drain = (): void => stop.abort();
  if (stream.drainSignal.aborted) stop.abort();
  else stream.drainSignal.addEventListener('abort', drain, { once: true });
  reply.raw.once('close', () => {
    stream.drainSignal.removeEventListener('abort', drain);
    stop.abort();
  });
  // a stream is long on purpose: the idle timeout sized for stalled bodies must not cut it
  extendIdleTimeout(request, timing.maxDurationMs + 15_000);
  return reply
    .type('text/event-stream; charset=utf-8')
    // nginx and friends would otherwise hold the frames back
    .header('x-accel-buffering', 'no')
    .send(Readable.from(eventFrames(upload.id, after, { events: stream.events, listener: stream.listener, signal: stop.signal, timing }), { objectMode: false }));
}

/** Raises the socket's idle timeout to `ms` (never lowers it; 0 means none); the next request on the connection gets the server's again. */
export function extendIdleTimeout(request: FastifyRequest, ms: number): void {
  const socket = request.raw.socket;
  if (socket.timeout !== undefined && socket.timeout > 0 && socket.timeout < ms) socket.setTimeout(ms);
}
