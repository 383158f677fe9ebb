import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, isTerminal, type UploadEvent } from '@avatar/shared';
import type { AppDeps } from '../../deps.js';
import { acceptsEventStream } from '../../domain/event-stream.js';
import { HELD_CONNECTION_RETRY_AFTER_SECONDS, HeldConnections, holdKeys, type HeldConnectionLimits } from '../../domain/held-connections.js';
import { documentEventStream } from '../../plugins/external/docs.js';
import { eventsHeaders, eventsQuery, eventsSchema, problemSchema, uploadIdParams } from '../../schemas/upload-schemas.js';
import { loadVisibleUpload } from '../route-helpers.js';
import { extendIdleTimeout, streamUploadEvents } from './stream-upload-events.js';

const MAX_EVENTS = 200;
/**
 * Re-read the table at least this often while waiting: rarely while notifications arrive (a
 * missed one costs only latency), often while the listener is reconnecting. Each waiter
 * costs a query per interval, so this bounds the load of many idle long polls.
 */
const RECHECK_LISTENING_MS = 10_000;
const RECHECK_DEAF_MS = 1_000;
/** Time beyond `wait` for the last re-read and the answer, so the poll ends with a 200, never a closed socket. */
const ANSWER_MARGIN_MS = 15_000;

/**
 * GET /v1/uploads/:uploadId/events?after=SEQ&wait=SECONDS — the long poll; with
 * `Accept: text/event-stream` the same events as Server-Sent Events, resuming after
 * `Last-Event-ID` (or `after`). Both hold their connection open, so both count against the
 * caller's held-connection limits.
 */
export async function getUploadEventsRoute(app: FastifyInstance, deps: Pick<AppDeps, 'config' | 'repos' | 'eventListener'>): Promise<void> {
  const { uploads, events } = deps.repos;
  const held = new HeldConnections();
  const { heldConnectionsPerUser, heldConnectionsPerUploadToken } = deps.config.rateLimit;
  const limits: HeldConnectionLimits = { perUser: heldConnectionsPerUser, perUploadToken: heldConnectionsPerUploadToken };

  /** Takes the caller's slot until this answer's connection closes, or refuses with 429 while it holds too many. */
  const holdConnection = (request: FastifyRequest, reply: FastifyReply): void => {
    const outcome = held.tryHold(holdKeys(request, limits));
    if (outcome.kind === 'full') {
      reply.header('retry-after', String(HELD_CONNECTION_RETRY_AFTER_SECONDS));
      throw new AppError('rate_limited', 'Too many event streams and long polls open at once; close one or retry later', { extra: { limit: outcome.full.max } });
    }
    reply.raw.once('close', outcome.release);
  };
  app.withTypeProvider<ZodTypeProvider>().get('/v1/uploads/:uploadId/events', {
    schema: {
      summary: 'Events after a sequence number, waiting up to `wait` seconds for the first new one; or a stream of them (text/event-stream)',
      security: [{ bearer: [] }],
      params: uploadIdParams,
      querystring: eventsQuery,
      headers: eventsHeaders,
      response: { 200: eventsSchema, '4xx': problemSchema, '5xx': problemSchema },
    },
    config: { swaggerTransform: documentEventStream },
    preHandler: app.authenticateUploadReader,
  }, async (request, reply) => {
    let upload = await loadVisibleUpload(uploads, request, request.params.uploadId);
    holdConnection(request, reply);
    if (acceptsEventStream(request.headers.accept)) {
      const after = request.headers['last-event-id'] ?? request.query.after;
      return streamUploadEvents(request, reply, { upload, after, events, listener: deps.eventListener, drainSignal: app.drainSignal });
    }
    const { after, wait } = request.query;
    const deadline = Date.now() + wait * 1000;
    // a long poll is idle on purpose: the server's idle timeout, sized for stalled bodies, must not cut it
    extendIdleTimeout(request, wait * 1000 + ANSWER_MARGIN_MS);
    const gone = new AbortController();
    request.raw.once('close', () => gone.abort());

    let found: UploadEvent[] = await events.listAfter(upload.id, after, MAX_EVENTS);
    while (found.length === 0 && !isTerminal(upload.status) && Date.now() < deadline && !gone.signal.aborted && !app.isDraining()) {
      const recheck = deps.eventListener.listening ? RECHECK_LISTENING_MS : RECHECK_DEAF_MS;
      await deps.eventListener.waitFor(upload.id, Math.min(recheck, deadline - Date.now()), gone.signal);
      found = await events.listAfter(upload.id, after, MAX_EVENTS);
      if (found.length === 0) upload = (await uploads.findById(upload.id)) ?? upload;
    }
    if (found.length > 0) upload = (await uploads.findById(upload.id)) ?? upload;
    reply.header('cache-control', 'private, no-store');
    return {
      uploadId: upload.id,
      status: upload.status,
      events: found.map((e) => ({ seq: e.seq, type: e.type, data: e.data, createdAt: e.createdAt.toISOString() })),
      lastSeq: found.at(-1)?.seq ?? after,
    };
  });
}
