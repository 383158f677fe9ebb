import { crc32 } from 'node:zlib';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RECORDS_PER_FRAME } from '@avatar/image-format';
import { gifBomb, webpBomb } from '@avatar/image-format/testing';
import { fetchBytes, getJson, postAvatarText, waitForTerminal, type TextResponse } from './support/http-client.js';
import { sidewaysJpegWithGps, solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { filesLeftIn, multipartBody, rawExchange, rawPost, requestHead, type RawResponse } from './support/raw-http.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

/** Small enough that "over the limit" stays cheap; every valid image here is far below it. */
const MAX_UPLOAD_BYTES = 256 * 1024;
const BODY_TIMEOUT_MS = 1_500;
const USER = 2;

let system: TestSystem;
let token: string;
const avatarPath = `/v1/users/${USER}/avatar`;

beforeAll(async () => {
  system = await startTestSystem({ env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), UPLOAD_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) } });
  token = system.token(USER);
});
afterAll(async () => {
  await system?.close();
});

// ---------------------------------------------------------------------------------------
// The corpus, built here from nothing but bytes and sharp.

/** Rewrites a PNG's IHDR to claim other dimensions, with a correct CRC so only the size lies. */
function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  expect(out.toString('latin1', 12, 16)).toBe('IHDR');
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** Rewrites a baseline JPEG's SOF0 frame header to claim other dimensions. */
function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  const sof = out.indexOf(Buffer.from([0xff, 0xc0]));
  expect(sof).toBeGreaterThan(0);
  out.writeUInt16BE(height, sof + 5);
  out.writeUInt16BE(width, sof + 7);
  return out;
}

/** A 1×1 GIF with `frames` images, each a complete frame, written block by block. */
function gifWithFrames(frames: number): Buffer {
  const header = Buffer.from([...Buffer.from('GIF89a', 'latin1'), 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
  const frame = Buffer.from([
    0x21, 0xf9, 4, 0x04, 1, 0, 0, 0, // graphic control: 10 ms delay
    0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, // image descriptor 1×1 at 0,0
    2, 2, 0x44, 0x01, 0, // LZW code size 2, one data block, terminator
  ]);
  return Buffer.concat([header, ...Array.from({ length: frames }, () => frame), Buffer.from([0x3b])]);
}

/** A stored (uncompressed) ZIP with one text entry, as `zip -0` writes it. */
function zipFile(): Buffer {
  const name = Buffer.from('readme.txt');
  const data = Buffer.from('not an image\n');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const HTML = Buffer.from('<!DOCTYPE html><html><body><script>fetch("/v1/users/1/avatar",{method:"POST"})</script></body></html>');
const SVG = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>');
const TEXT = Buffer.from('just some text, definitely not a picture\n');

function noisyJpeg(side: number): Promise<Buffer> {
  const raw = Buffer.alloc(side * side * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

// ---------------------------------------------------------------------------------------
// Checks every refused case shares.

function problemOf(response: TextResponse | RawResponse): { status: number; contentType: string | null | undefined; text: string } {
  const contentType = 'contentType' in response ? response.contentType : response.headers['content-type'];
  return { status: response.status, contentType, text: response.text };
}

/** The documented status and code, no leak of the staging path, and nothing left in staging. */
async function expectRefused(response: TextResponse | RawResponse, status: number, code: string): Promise<void> {
  expectProblem(problemOf(response), status, code, [system.stagingDir, path.dirname(system.stagingDir)]);
  expect(await filesLeftIn(system.stagingDir)).toEqual([]);
}

function upload(bytes: Buffer, options: { contentType?: string; filename?: string; field?: string } = {}): Promise<TextResponse> {
  return postAvatarText(system.url, USER, token, bytes, options);
}

function postMultipart(parts: Parameters<typeof multipartBody>[0], extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
  const { body, contentType } = multipartBody(parts);
  return rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType, ...extraHeaders }, body);
}

// the process must survive every case: a crash would fail this before the next test
afterEach(async () => {
  expect((await getJson(`${system.url}/health/live`)).status).toBe(200);
});

describe('content that is not a supported image is refused by its bytes, whatever it claims to be', () => {
  it('refuses zero bytes with 415 unsupported_media_type', async () => {
    await expectRefused(await upload(Buffer.alloc(0), { contentType: 'image/png' }), 415, 'unsupported_media_type');
  });

  it.each([
    ['plain text', TEXT],
    ['HTML with a script', HTML],
    ['SVG with a script', SVG],
    ['a PDF', PDF],
    ['a ZIP archive', zipFile()],
  ])('refuses %s sent as image/png with 415 unsupported_media_type', async (_name, bytes) => {
    await expectRefused(await upload(bytes, { contentType: 'image/png', filename: 'avatar.png' }), 415, 'unsupported_media_type');
  });

  it.each([
    ['text/html'],
    ['image/svg+xml'],
    ['application/pdf'],
    ['application/xhtml+xml'],
  ])('refuses a real JPEG declared as %s (a polyglot a browser could render) with 415', async (declared) => {
    await expectRefused(await upload(await solidJpeg(32, 32, { r: 9, g: 9, b: 9 }), { contentType: declared }), 415, 'unsupported_media_type');
  });
});

describe('decompression bombs are refused from the header, before any decode', () => {
  it('refuses a PNG whose header claims 100000×100000 with 422 image_too_large', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const response = await upload(pngClaiming(png, 100_000, 100_000), { contentType: 'image/png' });
    await expectRefused(response, 422, 'image_too_large');
    expect(JSON.parse(response.text)).toMatchObject({ width: 100_000, height: 100_000 });
  });

  it('refuses a PNG within the side limit but over MAX_INPUT_PIXELS (8000×8000) with 422 image_too_large', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    await expectRefused(await upload(pngClaiming(png, 8_000, 8_000), { contentType: 'image/png' }), 422, 'image_too_large');
  });

  it('refuses a JPEG whose frame header claims 65000×65000 with 422 image_too_large', async () => {
    const jpeg = jpegClaiming(await solidJpeg(16, 16, { r: 1, g: 1, b: 1 }), 65_000, 65_000);
    await expectRefused(await upload(jpeg), 422, 'image_too_large');
  });

  it('refuses a GIF with thousands of frames with 422 image_too_large', async () => {
    const gif = gifWithFrames(3_000);
    expect(gif.length).toBeLessThan(MAX_UPLOAD_BYTES);
    const response = await upload(gif, { contentType: 'image/gif' });
    await expectRefused(response, 422, 'image_too_large');
    expect(JSON.parse(response.text)).toMatchObject({ maxFrames: system.config.limits.maxImageFrames });
  });
});

/** A progressive JPEG with its last scan (the table before it, the SOS segment, its data) repeated until it has `total` scans. */
async function jpegWithScans(total: number): Promise<Buffer> {
  // mozjpeg writes every scan with Ah = Al = 0, so repeating one is valid and decodes cleanly
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).jpeg({ progressive: true, mozjpeg: true }).toBuffer();
  let scans = 0; // in a tiny flat file every 0xFF 0xDA is an SOS marker (scan data stuffs 0xFF with 0x00)
  for (let at = jpeg.indexOf(Buffer.from([0xff, 0xda])); at >= 0; at = jpeg.indexOf(Buffer.from([0xff, 0xda]), at + 2)) scans++;
  const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
  const dht = jpeg.lastIndexOf(Buffer.from([0xff, 0xc4]), sos);
  const eoi = jpeg.length - 2;
  const scan = jpeg.subarray(dht, eoi);
  return Buffer.concat([jpeg.subarray(0, eoi), ...Array.from({ length: total - scans }, () => scan), jpeg.subarray(eoi)]);
}

/** A little-endian one-page TIFF grown to `pages` pages by chaining copies of its directory (same pixels each time). */
function tiffWithPages(tiff: Buffer, pages: number): Buffer {
  const first = tiff.readUInt32LE(4);
  const directoryBytes = 2 + tiff.readUInt16LE(first) * 12 + 4;
  const directory = tiff.subarray(first, first + directoryBytes);
  const copies = Array.from({ length: pages - 1 }, (_, i) => {
    const copy = Buffer.from(directory);
    const next = i === pages - 2 ? 0 : tiff.length + (i + 1) * directoryBytes;
    copy.writeUInt32LE(next, directoryBytes - 4);
    return copy;
  });
  const head = Buffer.from(tiff);
  head.writeUInt32LE(tiff.length, first + directoryBytes - 4);
  return Buffer.concat([head, ...copies]);
}

async function uploadsOfUser(): Promise<number> {
  const [row] = await system.db('uploads').where({ user_id: USER }).count<Array<{ count: string }>>({ count: '*' });
  return Number(row?.count);
}

describe('CPU bombs (few bytes, long decodes) are refused from their structure, before anything is recorded or queued', () => {
  it('refuses a progressive JPEG repeating one scan 1,000 times with 422 image_too_complex', async () => {
    const bomb = await jpegWithScans(1_000);
    expect(bomb.length).toBeLessThan(MAX_UPLOAD_BYTES);
    const before = await uploadsOfUser();
    const response = await upload(bomb);
    await expectRefused(response, 422, 'image_too_complex');
    expect(JSON.parse(response.text)).toMatchObject({ maxJpegScans: system.config.limits.maxJpegScans });
    // the job id is the upload id and a job is added only after its row: no row, no job
    expect(await uploadsOfUser()).toBe(before);
  });

  it('accepts and renders the same JPEG with as many scans as MAX_JPEG_SCANS allows', async () => {
    const response = await upload(await jpegWithScans(system.config.limits.maxJpegScans));
    expect(response.status, response.text).toBe(202);
    const final = await waitForTerminal(system.url, (JSON.parse(response.text) as { uploadId: string }).uploadId, token);
    expect(final.status).toBe('done');
    expect(await filesLeftIn(system.stagingDir, 10_000)).toEqual([]);
  });

  it('refuses a TIFF with more pages than MAX_IMAGE_FRAMES (libvips opens every directory) with 422 image_too_large', async () => {
    const tiff = tiffWithPages(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#5a5a5a' } }).tiff({ compression: 'none' }).toBuffer(), system.config.limits.maxImageFrames + 1);
    expect(tiff.length).toBeLessThan(MAX_UPLOAD_BYTES);
    const before = await uploadsOfUser();
    const response = await upload(tiff, { contentType: 'image/tiff', filename: 'pages.tif' });
    await expectRefused(response, 422, 'image_too_large');
    expect(JSON.parse(response.text)).toMatchObject({ maxFrames: system.config.limits.maxImageFrames });
    expect(await uploadsOfUser()).toBe(before);
  });

  it('refuses a GIF and a WebP of countless empty blocks or chunks around one frame with 422 image_too_complex', async () => {
    const maxRecords = RECORDS_PER_FRAME * system.config.limits.maxImageFrames;
    const gif = gifBomb({ extensions: maxRecords });
    const webp = await webpBomb({ chunks: maxRecords });
    const before = await uploadsOfUser();
    for (const [bytes, contentType, limit] of [
      [gif, 'image/gif', { maxGifBlocks: maxRecords }],
      [webp, 'image/webp', { maxWebpChunks: maxRecords }],
    ] as const) {
      expect(bytes.length).toBeLessThan(MAX_UPLOAD_BYTES);
      const response = await upload(bytes, { contentType });
      await expectRefused(response, 422, 'image_too_complex');
      expect(JSON.parse(response.text)).toMatchObject(limit);
    }
    expect(await uploadsOfUser()).toBe(before);
  });
});

describe('size limits are enforced while streaming', () => {
  it('refuses a file one byte over MAX_UPLOAD_BYTES with 413 file_too_large and removes the partial file', async () => {
    const response = await upload(Buffer.alloc(MAX_UPLOAD_BYTES + 1, 0x41));
    await expectRefused(response, 413, 'file_too_large');
  });

  it('does not count a file of exactly MAX_UPLOAD_BYTES as too large', async () => {
    // not an image, so it is refused, but by content, which proves the size check let it through
    await expectRefused(await upload(Buffer.alloc(MAX_UPLOAD_BYTES, 0x41)), 415, 'unsupported_media_type');
  });

  it('answers 413 as soon as the limit is passed, without waiting for the rest of the body', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'big.jpg', contentType: 'image/jpeg', data: Buffer.alloc(MAX_UPLOAD_BYTES * 4, 0x42) }]);
    // the declared length promises more than is ever sent: a server that waited for the end
    // would answer 408 after the body timeout instead
    const sent = body.subarray(0, MAX_UPLOAD_BYTES + 64 * 1024);
    const response = await rawExchange(system.url, async (socket) => {
      socket.write(requestHead('POST', avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length }));
      socket.write(sent);
    });
    await expectRefused(response, 413, 'file_too_large');
    expect(response.headers.connection).toBe('close');
  });
});

describe('the multipart body must have exactly one file part named "file"', () => {
  const png = () => sharp({ create: { width: 16, height: 16, channels: 3, background: '#00ff00' } }).png().toBuffer();

  it('refuses two file parts with 400 too_many_parts', async () => {
    const data = await png();
    const response = await postMultipart([
      { name: 'file', filename: 'a.png', contentType: 'image/png', data },
      { name: 'file', filename: 'b.png', contentType: 'image/png', data },
    ]);
    await expectRefused(response, 400, 'too_many_parts');
  });

  it('refuses a body with fields but no file part with 400 file_missing', async () => {
    await expectRefused(await postMultipart([{ name: 'comment', data: 'hello' }]), 400, 'file_missing');
  });

  it('refuses an empty multipart body with 400 file_missing', async () => {
    await expectRefused(await postMultipart([]), 400, 'file_missing');
  });

  it('refuses a file part under another name with 400 file_missing', async () => {
    await expectRefused(await upload(await png(), { contentType: 'image/png', field: 'avatar' }), 400, 'file_missing');
  });

  it('refuses more than a few fields with 400 too_many_parts', async () => {
    const fields = Array.from({ length: 8 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    await expectRefused(await postMultipart([...fields, { name: 'file', filename: 'a.png', contentType: 'image/png', data: await png() }]), 400, 'too_many_parts');
  });

  it('refuses a part named __proto__ with 400 malformed_multipart', async () => {
    await expectRefused(await postMultipart([{ name: '__proto__', filename: 'a.png', contentType: 'image/png', data: await png() }]), 400, 'malformed_multipart');
  });

  it('refuses a body cut off in the middle of the file part with 400 malformed_multipart', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'a.png', contentType: 'image/png', data: await png() }]);
    const cut = body.subarray(0, body.length - 60);
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType }, cut);
    await expectRefused(response, 400, 'malformed_multipart');
  });

  it('refuses a body whose boundary never appears with 400 malformed_multipart', async () => {
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=nowhere-to-be-seen' }, Buffer.from('garbage without any delimiter\r\n'));
    await expectRefused(response, 400, 'malformed_multipart');
  });

  it('refuses multipart without a boundary parameter with 400 malformed_multipart', async () => {
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data' }, Buffer.from('--x\r\n\r\n--x--\r\n'));
    await expectRefused(response, 400, 'malformed_multipart');
  });

  it('refuses a boundary longer than RFC 2046 allows with 400 malformed_multipart', async () => {
    const boundary = 'b'.repeat(300);
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'a.png', contentType: 'image/png', data: await png() }], boundary);
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType }, body);
    await expectRefused(response, 400, 'malformed_multipart');
  });

  it('reads only the first header pairs of a part: hundreds of junk headers after Content-Disposition still upload', async () => {
    const headers = Array.from({ length: 500 }, (_, i) => `X-Junk-${i}: ${'y'.repeat(40)}`);
    const response = await postMultipart([{ name: 'file', filename: 'a.png', contentType: 'image/png', data: await png(), headers }]);
    expect(response.status, response.text).toBe(202);
    expect((await waitForTerminal(system.url, response.json().uploadId as string, token)).status).toBe('done');
    expect(await filesLeftIn(system.stagingDir, 10_000)).toEqual([]);
  });

  it('ignores a Content-Disposition hidden behind too many part headers: 400 file_missing', async () => {
    const { body, contentType, boundary } = multipartBody([]);
    const junk = Array.from({ length: 40 }, (_, i) => `X-Junk-${i}: y`).join('\r\n');
    const part = Buffer.concat([
      Buffer.from(`--${boundary}\r\n${junk}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`, 'latin1'),
      await png(),
      Buffer.from('\r\n', 'latin1'),
      body,
    ]);
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType }, part);
    await expectRefused(response, 400, 'file_missing');
  });
});

describe('bodies that are not multipart at all', () => {
  it.each([
    ['application/json', Buffer.from('{"file":"aGVsbG8="}')],
    ['image/png', Buffer.from('\x89PNG\r\n\x1a\n', 'latin1')],
    ['text/plain', TEXT],
    ['application/x-www-form-urlencoded', Buffer.from('file=hello')],
  ])('refuses a %s body with 415 not_multipart', async (contentType, body) => {
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType }, body);
    await expectRefused(response, 415, 'not_multipart');
  });

  it('refuses a body with no content type with 415 not_multipart', async () => {
    const response = await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}` }, TEXT);
    await expectRefused(response, 415, 'not_multipart');
  });
});

describe('HTTP-level abuse is refused by the parser and the process stays up', () => {
  it.each([
    ['a 20 KB header', 431, requestHead('POST', avatarPath, { authorization: 'Bearer x', 'x-big': 'a'.repeat(20_000), 'content-length': 0 })],
    ['a request line that is not HTTP', 400, Buffer.from('GARBAGE\r\n\r\n')],
    ['both Content-Length and chunked (request smuggling)', 400, Buffer.from(`POST ${avatarPath} HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`)],
    ['a non-numeric Content-Length', 400, Buffer.from(`POST ${avatarPath} HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n`)],
  ])('answers %s with %i', async (_name, status, request) => {
    const response = await rawExchange(system.url, request);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json()).toMatchObject({ status, code: status === 431 ? 'headers_too_large' : 'malformed_request' });
    for (const leak of [/\/work\b/, /\/tmp\b/, /node_modules/, /\n\s+at /]) expect(response.text).not.toMatch(leak);
  });
});

describe('slow senders', () => {
  it('answers 408 request_timeout to a body that trickles in, and removes what was staged', async () => {
    const jpeg = await noisyJpeg(200);
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'slow.jpg', contentType: 'image/jpeg', data: jpeg }]);
    let sentBytes = 0;
    const response = await rawExchange(system.url, async (socket, answered) => {
      socket.write(requestHead('POST', avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length }));
      // the multipart head and the start of the file at once, so a staging file exists, then a trickle
      const first = 2_048;
      socket.write(body.subarray(0, first));
      sentBytes = first;
      while (!answered.aborted && sentBytes < body.length - 1) {
        await sleep(100);
        if (answered.aborted || socket.destroyed) break;
        socket.write(body.subarray(sentBytes, sentBytes + 8));
        sentBytes += 8;
      }
    });
    // the whole body was never sent, so this answer came from the timeout, not from the end
    expect(sentBytes).toBeLessThan(body.length - 1);
    await expectRefused(response, 408, 'request_timeout');
    expect(response.headers.connection).toBe('close');
  });
});

describe('senders that stop', () => {
  it('answers 408 request_timeout to a request whose body never comes', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'never.jpg', contentType: 'image/jpeg', data: Buffer.alloc(1_000, 1) }]);
    const response = await rawExchange(system.url, async (socket) => {
      socket.write(requestHead('POST', avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length }));
    });
    await expectRefused(response, 408, 'request_timeout');
  });
});

describe('client file names never touch a path', () => {
  it('stores an upload named ../../etc/passwd under a generated name inside staging', async () => {
    const response = await upload(await solidJpeg(40, 40, { r: 200, g: 100, b: 0 }), { filename: '../../etc/passwd' });
    expect(response.status, response.text).toBe(202);
    const uploadId = (JSON.parse(response.text) as { uploadId: string }).uploadId;
    const row = await system.db('uploads').where({ id: uploadId }).first();
    const staged = String(row.staged_path);
    expect(path.dirname(staged)).toBe(system.stagingDir);
    expect(path.basename(staged)).toMatch(/^[0-9a-f-]{36}\.upload$/);
    expect(staged).not.toContain('passwd');
    expect((await waitForTerminal(system.url, uploadId, token)).status).toBe('done');
    expect(await filesLeftIn(system.stagingDir, 10_000)).toEqual([]);
  });
});

describe('truncated images', () => {
  it('accepts a JPEG with an intact header but its tail cut off, then fails it for good with image_undecodable', async () => {
    const whole = await noisyJpeg(256);
    const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
    const response = await upload(truncated);
    expect(response.status, response.text).toBe(202);
    const uploadId = (JSON.parse(response.text) as { uploadId: string }).uploadId;

    const final = await waitForTerminal(system.url, uploadId, token);
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('image_undecodable');
    expect(final.error?.message ?? '').not.toMatch(/\/tmp|\/work|node_modules/);
    const row = await system.db('uploads').where({ id: uploadId }).first();
    expect(row).toMatchObject({ status: 'failed', error_code: 'image_undecodable', attempts: 1 });
    expect(await filesLeftIn(system.stagingDir, 10_000)).toEqual([]);
  });

  it('refuses a JPEG cut off inside its header with 422 image_undecodable', async () => {
    const whole = await solidJpeg(64, 64, { r: 50, g: 60, b: 70 });
    const sof = whole.indexOf(Buffer.from([0xff, 0xc0]));
    await expectRefused(await upload(whole.subarray(0, sof + 4)), 422, 'image_undecodable');
  });
});

describe('metadata never reaches the stored avatar', () => {
  it('strips GPS EXIF, XMP and a non-sRGB ICC profile from every stored variant', async () => {
    const withGps = await sharp(await sidewaysJpegWithGps()).keepMetadata().withIccProfile('p3').withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><secret>GPSsecret</secret></x:xmpmeta>').jpeg().toBuffer();
    const input = await sharp(withGps).metadata();
    expect(input.exif).toBeDefined(); // the corpus really carries what must be removed
    expect(input.icc).toBeDefined();

    const response = await upload(withGps);
    expect(response.status, response.text).toBe(202);
    const final = await waitForTerminal(system.url, (JSON.parse(response.text) as { uploadId: string }).uploadId, token);
    expect(final.status).toBe('done');
    expect(final.variants.length).toBeGreaterThan(0);
    for (const variant of final.variants) {
      const stored = await fetchBytes(variant.url);
      expect(stored.status).toBe(200);
      const meta = await sharp(stored.body).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.iptc).toBeUndefined();
      if (meta.icc) expect(meta.icc.toString('latin1')).toMatch(/sRGB/);
      const bytes = stored.body.toString('latin1');
      for (const marker of ['Exif\0', 'GPS', 'Someone', 'xmpmeta', 'Display P3']) expect(bytes.includes(marker), marker).toBe(false);
    }
  });
});

describe('after all of that', () => {
  it('leaves no staged file behind and still accepts and finishes a valid upload', async () => {
    expect(await filesLeftIn(system.stagingDir, 10_000)).toEqual([]);
    const response = await upload(await solidJpeg(120, 90, { r: 10, g: 120, b: 240 }), { contentType: 'image/jpeg' });
    expect(response.status, response.text).toBe(202);
    const final = await waitForTerminal(system.url, (JSON.parse(response.text) as { uploadId: string }).uploadId, token);
    expect(final.status).toBe('done');
    expect(await filesLeftIn(system.stagingDir, 10_000)).toEqual([]);
  });
});
