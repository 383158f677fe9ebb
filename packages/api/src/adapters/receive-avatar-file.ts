import type { FastifyRequest } from 'fastify';
import { AppError } from '@avatar/shared';
import { declaredTypeOf } from '../domain/declared-type.js';
import type { StagedFile, StagingStore } from './staging-store.js';

export interface ReceivedFile {
  staged: StagedFile;
  declaredType: string | undefined;
}

/**
 * Reads the multipart body: exactly one file part named `file`, streamed to staging; small
 * fields are ignored. Any other shape is refused and a partial staged file is removed. The
 * whole body must arrive within `timeoutMs`, so a slow sender cannot hold a worker slot.
 */
export async function receiveAvatarFile(
  request: FastifyRequest,
  staging: StagingStore,
  options: { maxBytes: number; timeoutMs: number },
): Promise<ReceivedFile> {
  if (!request.isMultipart()) throw new AppError('not_multipart', 'Send the image as multipart/form-data with a part named "file"');
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  let received: ReceivedFile | undefined;
  const reading = (async () => {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new AppError('file_missing', `Unexpected file part "${part.fieldname.slice(0, 64)}"; name it "file"`);
      }
      if (received) throw new AppError('too_many_parts', 'Send exactly one file');
      // busboy stops passing bytes at the limit but ends the part only when the client stops
      // sending: fail the stream now, so the answer is 413 at once rather than 408 later
      part.file.once('limit', () => {
        part.file.destroy(new AppError('file_too_large', `The file is larger than ${options.maxBytes} bytes`, { extra: { limit: options.maxBytes } }));
      });
      received = {
        staged: await staging.receive(part.file, { maxBytes: options.maxBytes, signal: controller.signal }),
        declaredType: declaredTypeOf(part.mimetype),
      };
    }
  })();
  const timedOut = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(new AppError('request_timeout', 'The upload was not received in time')), { once: true });
  });
  try {
    await Promise.race([reading, timedOut]);
  } catch (error) {
    // the reader may still settle later (socket closed); its files are removed below or by the sweeper
    reading.catch(() => undefined);
    if (received) await staging.discard(received.staged);
    throw clientAborted(request, error) ?? error;
  } finally {
    clearTimeout(timer);
  }
  if (!received) throw new AppError('file_missing', 'No part named "file" in the body');
  return received;
}

/**
 * The client closed the connection before its body ended: whatever the parser threw then
 * (ECONNRESET "aborted", an unexpected end of form) is the client's doing, not a failure of
 * ours. Our own verdicts (413, 408) stand.
 */
function clientAborted(request: FastifyRequest, error: unknown): AppError | undefined {
  if (error instanceof AppError || !request.raw.readableAborted) return undefined;
  return new AppError('client_aborted', 'The client closed the connection before the body ended', { cause: error });
}
