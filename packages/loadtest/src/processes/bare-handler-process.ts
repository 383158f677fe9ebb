import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fastifyMultipart from '@fastify/multipart';
import Fastify from 'fastify';
import { readChildOptions, sendToParent, stopWhenParentSays } from './child-channel.js';

export interface BareHandlerOptions {
  dir: string;
  maxFileBytes: number;
}

/**
 * The accept path's limit: Fastify 5 and @fastify/multipart doing the least an upload needs —
 * stream the one file part to disk through a sha256 and answer 202 — with no authentication,
 * database, queue or content checks. The API can only be slower; the ratio says by how much.
 */
async function main(): Promise<void> {
  const options = readChildOptions<BareHandlerOptions>();
  const app = Fastify({ logger: false });
  await app.register(fastifyMultipart, { limits: { fileSize: options.maxFileBytes, files: 1, parts: 5 }, throwFileSizeLimit: true });
  app.post('/v1/users/:userId/avatar', async (request, reply) => {
    const part = await request.file();
    if (!part) return reply.code(400).send({ code: 'file_missing' });
    const id = randomUUID();
    const file = path.join(options.dir, id);
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(part.file, hashing, createWriteStream(file));
    // the file is not needed afterwards; removing it after the answer keeps the disk from filling
    reply.raw.once('finish', () => void unlink(file).catch(() => undefined));
    return reply.code(202).send({ uploadId: id, sha256: hash.digest('hex') });
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  stopWhenParentSays(() => app.close());
  sendToParent({ type: 'listening', port: Number(new URL(address).port) });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
