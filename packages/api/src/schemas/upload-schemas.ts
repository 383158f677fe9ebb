import { z } from 'zod';
import { uploadEventTypes, uploadStatuses } from '@avatar/shared';

/** Decimal user ids only: `1e3`, `01`, `-1` and `1.5` are refused before any lookup. */
export const userIdParams = z.object({
  userId: z.string().regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer').transform(Number),
});

export const uploadHeaders = z
  .object({ 'idempotency-key': z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -').optional() })
  .loose();

export const uploadIdParams = z.object({ uploadId: z.string().max(64) });

export const problemSchema = z
  .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() })
  .loose()
  .describe('application/problem+json');

export const notModifiedSchema = z.null().describe('Not modified');

export const acceptedSchema = z.object({
  uploadId: z.uuid(),
  status: z.enum(uploadStatuses),
  statusUrl: z.string(),
  eventsUrl: z.string(),
});

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
});
export type UploadSnapshot = z.infer<typeof snapshotSchema>;

export const MAX_WAIT_SECONDS = 60;

export const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
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
