import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { UploadEventsRepository, UploadsRepository, isTerminal, type UploadEvent } from '@avatar/shared';
import type { AppDeps } from '../../deps.js';
import { eventsQuery, eventsSchema, problemSchema, uploadIdParams } from '../../schemas/upload-schemas.js';
import { loadVisibleUpload } from './get-upload.js';

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

/** GET /v1/uploads/:uploadId/events?after=SEQ&wait=SECONDS — the long poll. */
export async function getUploadEventsRoute(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const uploads = new UploadsRepository(deps.db);
  const events = new UploadEventsRepository(deps.db);
  app.withTypeProvider<ZodTypeProvider>().get('/v1/uploads/:uploadId/events', {
    schema: {
      summary: 'Events after a sequence number, waiting up to `wait` seconds for the first new one',
      security: [{ bearer: [] }],
      params: uploadIdParams,
      querystring: eventsQuery,
      response: { 200: eventsSchema, '4xx': problemSchema, '5xx': problemSchema },
    },
    preHandler: app.authenticate,
  }, async (request, reply) => {
    let upload = await loadVisibleUpload(uploads, request, request.params.uploadId);
    const { after, wait } = request.query;
    const deadline = Date.now() + wait * 1000;
    // a long poll is idle on purpose: the server's idle timeout, sized for stalled bodies, must not cut it
    extendIdleTimeout(request.raw.socket, wait * 1000 + ANSWER_MARGIN_MS);
    const gone = new AbortController();
    request.raw.once('close', () => gone.abort());

    let found: UploadEvent[] = await events.listAfter(upload.id, after, MAX_EVENTS);
    while (found.length === 0 && !isTerminal(upload.status) && Date.now() < deadline && !gone.signal.aborted && !app.isDraining()) {
      const recheck = deps.events.listening ? RECHECK_LISTENING_MS : RECHECK_DEAF_MS;
      await deps.events.waitFor(upload.id, Math.min(recheck, deadline - Date.now()), gone.signal);
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

/** Raises the socket's idle timeout to `ms` (never lowers it; 0 means none); the next request on the connection gets the server's again. */
function extendIdleTimeout(socket: Socket, ms: number): void {
  if (socket.timeout !== undefined && socket.timeout > 0 && socket.timeout < ms) socket.setTimeout(ms);
}
