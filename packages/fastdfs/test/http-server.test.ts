import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastdfsClient } from '../src/index.js';
import { type TestServer, startTestServer } from './helpers/dev-server.js';

describe('dev server HTTP reader', () => {
  let server: TestServer;
  let client: FastdfsClient;
  let fileId: string;
  const content = Buffer.from('0123456789abcdefghij');

  beforeAll(async () => {
    server = await startTestServer();
    client = new FastdfsClient({ trackers: server.trackers });
    fileId = await client.upload(content, { ext: 'webp' });
    await client.setMetadata(fileId, { secret: 'not for http' });
  });
  afterAll(async () => {
    await client.close();
    await server.dispose();
  });

  it('serves a stored file with type, validators and long caching', async () => {
    const response = await fetch(`${server.publicUrl}${fileId}`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('content-length')).toBe('20');
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]+-14"$/);
    expect(response.headers.get('cache-control')).toContain('max-age=31536000');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('last-modified')).not.toBeNull();
  });

  it('answers HEAD with headers and no body', async () => {
    const response = await fetch(`${server.publicUrl}${fileId}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('20');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await fetch(`${server.publicUrl}${fileId}`);
    const etag = first.headers.get('etag') ?? '';
    await first.arrayBuffer();
    const second = await fetch(`${server.publicUrl}${fileId}`, { headers: { 'If-None-Match': etag } });
    expect(second.status).toBe(304);
  });

  it.each([
    ['bytes=2-5', 206, '2345', 'bytes 2-5/20'],
    ['bytes=15-', 206, 'fghij', 'bytes 15-19/20'],
    ['bytes=-3', 206, 'hij', 'bytes 17-19/20'],
    ['bytes=18-100', 206, 'ij', 'bytes 18-19/20'],
  ])('serves Range %s', async (range, status, body, contentRange) => {
    const response = await fetch(`${server.publicUrl}${fileId}`, { headers: { Range: range } });
    expect(response.status).toBe(status);
    expect(await response.text()).toBe(body);
    expect(response.headers.get('content-range')).toBe(contentRange);
  });

  it('answers 416 to a range past the end', async () => {
    const response = await fetch(`${server.publicUrl}${fileId}`, { headers: { Range: 'bytes=20-30' } });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe('bytes */20');
  });

  it.each([
    ['a missing file', 'group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['another group', () => fileId.replace('group1', 'group2')],
    ['path traversal', 'group1/M00/00/00/../../../../etc/passwd'],
    ['encoded traversal', 'group1/M00/00/00/%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
    ['the metadata file', () => `${fileId}-m`],
    ['the root', ''],
  ])('answers 404 for %s', async (_what, path) => {
    const target = typeof path === 'function' ? path() : path;
    const response = await fetch(`${server.publicUrl}${target}`);
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it('answers 405 to other methods', async () => {
    const response = await fetch(`${server.publicUrl}${fileId}`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});
