import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@avatar/shared';
import { toAppError } from '../src/plugins/app/error-handler.js';
import { isMalformedMultipartMessage, multipartPlugin } from '../src/plugins/external/multipart.js';
import { multipartBody } from './support/raw-http.js';

/** What reading a body part by part, as the upload route does, ended with. */
type Outcome = { kind: 'read'; files: string[] } | { kind: 'failed'; error: Error };

/**
 * The real @fastify/multipart (and its busboy) with the API's own limits, reading every part
 * and streaming each file to a sink, as staging does. No server, no database: `inject` only.
 */
let app: FastifyInstance;
let outcome: Outcome | undefined;

beforeAll(async () => {
  app = Fastify();
  await app.register(multipartPlugin, { limits: loadConfig({}).limits });
  app.post('/', async (request) => {
    const files: string[] = [];
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        await pipeline(part.file, new Writable({ write: (_chunk, _encoding, done) => done() }));
        files.push(part.fieldname);
      }
      outcome = { kind: 'read', files };
    } catch (error) {
      outcome = { kind: 'failed', error: error as Error };
    }
    return {};
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

async function read(contentType: string, body: Buffer | string): Promise<Outcome> {
  outcome = undefined;
  await app.inject({ method: 'POST', url: '/', headers: { 'content-type': contentType }, payload: body });
  if (!outcome) throw new Error('the route did not run');
  return outcome;
}

async function failure(contentType: string, body: Buffer | string): Promise<Error> {
  const result = await read(contentType, body);
  if (result.kind !== 'failed') throw new Error(`expected a failure, read ${JSON.stringify(result.files)}`);
  return result.error;
}

const onePart = (boundary?: string): { body: Buffer; contentType: string } =>
  multipartBody([{ name: 'file', filename: 'a.png', contentType: 'image/png', data: Buffer.alloc(64 * 1024, 7) }], boundary);

/**
 * busboy throws plain Errors without a code: these pin the texts `isMalformedMultipartMessage`
 * reads, so an upgrade that rewords one fails here instead of turning a 400 into a 500.
 */
describe("busboy's refusals of a malformed body", () => {
  it('a body cut short inside the file part: "Part terminated early …"', async () => {
    const { body, contentType } = onePart();
    const error = await failure(contentType, body.subarray(0, 30 * 1024));
    expect(error.message).toBe('Part terminated early due to unexpected end of multipart data');
    expect(isMalformedMultipartMessage(error.message)).toBe(true);
    expect(toAppError(error).code).toBe('malformed_multipart');
  });

  it('a body cut short between parts, or a boundary that never appears: "Unexpected end of multipart data"', async () => {
    const { body, contentType, boundary } = multipartBody([{ name: 'file', filename: 'a.png', contentType: 'image/png', data: 'x' }]);
    const beforeClosing = await failure(contentType, body.subarray(0, body.length - `--${boundary}--\r\n`.length));
    const nowhere = await failure('multipart/form-data; boundary=nowhere-to-be-seen', 'garbage without any delimiter\r\n');
    const inHeaders = await failure(contentType, `--${boundary}\r\nContent-Disposition: form-da`);
    for (const error of [beforeClosing, nowhere, inHeaders]) {
      expect(error.message).toBe('Unexpected end of multipart data');
      expect(toAppError(error).code).toBe('malformed_multipart');
    }
  });

  it('multipart without a boundary parameter: "Multipart: Boundary not found"', async () => {
    const error = await failure('multipart/form-data', '--x\r\n\r\n--x--\r\n');
    expect(error.message).toBe('Multipart: Boundary not found');
    expect(toAppError(error).code).toBe('malformed_multipart');
  });

  it('a boundary over 70 characters is read up to 252; longer ones fail in the searcher: "The needle cannot have a length bigger than 256."', async () => {
    // RFC 2046 allows 70; busboy is laxer, and a readable body is no reason to refuse an upload
    const seventyOne = onePart('b'.repeat(71));
    expect(await read(seventyOne.contentType, seventyOne.body)).toEqual({ kind: 'read', files: ['file'] });
    const longest = onePart('b'.repeat(252));
    expect(await read(longest.contentType, longest.body)).toEqual({ kind: 'read', files: ['file'] });

    const tooLong = onePart('b'.repeat(253));
    const error = await failure(tooLong.contentType, tooLong.body);
    expect(error.message).toBe('The needle cannot have a length bigger than 256.');
    expect(toAppError(error).code).toBe('malformed_multipart');
  });

  it('a malformed part header is no error: busboy skips the part (the route then answers file_missing)', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'a.png', data: 'x', headers: ['this line is not a header'] }]);
    const broken = Buffer.from(body.toString('latin1').replace(/Content-Disposition: [^\r]*\r\n/, ''), 'latin1');
    expect(await read(contentType, broken)).toEqual({ kind: 'read', files: [] });
  });

  it('reads nothing else as malformed multipart', () => {
    expect(isMalformedMultipartMessage('Connection terminated unexpectedly')).toBe(false);
    expect(isMalformedMultipartMessage('Unexpected end of JSON input')).toBe(false);
    expect(toAppError(new Error('something else broke')).code).toBe('internal_error');
  });
});
