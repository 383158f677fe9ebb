import { z } from 'zod';

export const uploadEventTypes = ['queued', 'processing', 'progress', 'stored', 'retrying', 'done', 'failed', 'superseded', 'retried'] as const;
export type UploadEventType = (typeof uploadEventTypes)[number];

export const variantSchema = z.object({ size: z.number().int(), fileId: z.string(), url: z.string() });
export type AvatarVariant = z.infer<typeof variantSchema>;

/** What each event carries; the API returns `data` as is. */
export interface UploadEventData {
  queued: { size: number; detectedType: string; width: number; height: number };
  processing: { attempt: number };
  progress: { step: 'decoded' | 'rendered' | 'storing'; percent: number };
  stored: { fileId: string; variants: AvatarVariant[] };
  retrying: { attempt: number; code: string; reason: string; delayMs: number | null };
  done: { avatarUrl: string; variants: AvatarVariant[] };
  failed: { code: string; message: string };
  superseded: { by: string | null };
  /** an operator sent a failed upload back to the queue (`failed → queued`) */
  retried: { previousCode: string | null; by: 'operator' };
}

export type NewUploadEvent = { [K in UploadEventType]: { type: K; data: UploadEventData[K] } }[UploadEventType];

export interface UploadEvent {
  uploadId: string;
  seq: number;
  type: UploadEventType;
  data: Record<string, unknown>;
  createdAt: Date;
}
