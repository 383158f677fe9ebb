import { z } from 'zod';
import { uploadEventTypes, uploadStatuses } from '@avatar/shared';
import { parseUserId } from '../domain/user-id.js';

/** Decimal user ids only: `1e3`, `01`, `-1`, `1.5` and ids beyond 2^53 are refused before any lookup. */
export const userIdParams = z.object({
  userId: z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer').refine((id) => parseUserId(id) !== undefined, 'must be below 2^53').transform(Number),
});

export const uploadHeaders = z
  .object({ 'idempotency-key': z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -').optional() })
  .loose();

export const uploadIdParams = z.object({ uploadId: z.string().max(64) });

export const problemSchema = z
  .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() })
  .loose()
  .describe('application/problem+json');

/**
 * Response headers for OpenAPI: a response schema's `headers` metadata becomes the response's
 * documented headers (@fastify/swagger moves it out of the body schema).
 */
function withHeaders(description: string, headers: Record<string, { description: string; type?: string; enum?: string[] }>): { description: string; headers: Record<string, object> } {
  return { description, headers: Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, { type: 'string', ...h }])) };
}

/** A response with no body (the docs plugin documents `z.null()` as "no content"); handlers send nothing. */
function emptyResponse(description: string, headers: Parameters<typeof withHeaders>[1]): z.ZodNull {
  return z.null().meta(withHeaders(description, headers));
}

const etagHeader = { description: 'Changes whenever the snapshot changes; send it back as If-None-Match' };
const retryAfterHeader = { description: 'Seconds before polling again; only while the upload is not finished', type: 'integer' };

export const notModifiedSchema = emptyResponse('Not modified: the snapshot still has this ETag', { etag: etagHeader, 'retry-after': retryAfterHeader });

export const redirectSchema = emptyResponse('Found: the chosen variant', {
  location: { description: 'URL of the smallest variant at least `size` wide (else the largest)' },
  'cache-control': { description: 'public, max-age=60: a new upload changes the target' },
});

/** The multipart body of an upload, for OpenAPI only: the handler streams it itself, so Fastify never validates it. */
export const avatarUploadForm = {
  type: 'object',
  required: ['file'],
  properties: { file: { type: 'string', format: 'binary', description: 'The picture; its type is judged by its bytes, never by the declared Content-Type' } },
} as const;

/**
 * A short-lived token for this upload's status and events only, for clients that cannot send
 * Authorization (a browser's EventSource); it is never a bearer token for anything else.
 */
const uploadAccessFields = {
  accessToken: z.string().describe('Reads this upload only: pass it as `?access_token=` to the status and events URLs'),
  accessTokenExpiresAt: z.string().describe('When `accessToken` stops working (UPLOAD_TOKEN_TTL_SECONDS after it was issued)'),
  eventStreamUrl: z.string().describe('The events URL with `accessToken`, ready for `new EventSource(...)`'),
};

export const acceptedSchema = z
  .object({
    uploadId: z.uuid(),
    status: z.enum(uploadStatuses),
    statusUrl: z.string(),
    eventsUrl: z.string(),
    ...uploadAccessFields,
  })
  .meta(withHeaders('Accepted: the picture is staged and queued', {
    location: { description: 'The status URL' },
    'idempotent-replayed': { description: 'true when an earlier upload with the same Idempotency-Key is answered again', enum: ['true', 'false'] },
  }));

const variantOut = z.object({ size: z.number().int(), url: z.string() });

export const snapshotSchema = z.object({
  id: z.uuid(),
  userId: z.number().int(),
  status: z.enum(uploadStatuses),
  progress: z.number().int(),
  avatarUrl: z.string().nullable(),
  variants: z.array(variantOut),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  ...uploadAccessFields,
});
export type UploadSnapshot = z.infer<typeof snapshotSchema>;

export const snapshotResponse = snapshotSchema.meta(withHeaders('The upload now', { etag: etagHeader, 'retry-after': retryAfterHeader }));

export const MAX_WAIT_SECONDS = 60;

/** `upload_events.seq` is an int4: a larger `after` is a client error (400), never an SQL one. */
export const MAX_EVENT_SEQ = 2_147_483_647;

const accessTokenQuery = { access_token: z.string().max(4096).optional().describe('An upload token (`accessToken`) instead of Authorization') };

export const snapshotQuery = z.object(accessTokenQuery);

/** `Last-Event-ID`: where an EventSource resumes after a reconnect (the `id` of the last event it saw). */
export const eventsHeaders = z.object({ 'last-event-id': z.coerce.number().int().min(0).max(MAX_EVENT_SEQ).optional() }).loose();

export const eventsQuery = z.object({
  ...accessTokenQuery,
  after: z.coerce.number().int().min(0).max(MAX_EVENT_SEQ).default(0),
  /** seconds to wait for the first new event; more than 60 is cut to 60, so a request never outlives proxies' timeouts */
  wait: z.coerce.number().min(0).default(0).transform((seconds) => Math.min(seconds, MAX_WAIT_SECONDS)),
});

export const eventsSchema = z.object({
  uploadId: z.uuid(),
  status: z.enum(uploadStatuses),
  events: z.array(z.object({ seq: z.number().int(), type: z.enum(uploadEventTypes), data: z.record(z.string(), z.unknown()), createdAt: z.string() })),
  /** pass as `after` on the next call */
  lastSeq: z.number().int(),
});

export const avatarQuery = z.object({ size: z.coerce.number().int().min(1).max(4096).optional() });
