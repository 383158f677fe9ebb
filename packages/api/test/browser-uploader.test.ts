import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, skipBrowserTests, uppyBundle, watchPage } from './support/browser.js';
import { solidJpeg } from './support/images.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/** A static web app on its own origin: its page and script, and Uppy bundled from node_modules. Loopback only. */
async function servePage(files: Record<string, { type: string; body: string }>): Promise<PageServer> {
  const server = http.createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://page').pathname];
    if (!file) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

interface Report {
  phase: string;
  uploadStatus?: number;
  accepted?: { uploadId: string; statusUrl: string; eventStreamUrl: string };
  statuses: string[];
  events: Array<{ id: string; type: string }>;
  etag?: string | null;
  error?: string;
}

/**
 * Web apps on another origin: a page served from a second local origin uploads with Uppy's XHR
 * upload plugin, follows the status URL with fetch and the event stream with EventSource, in a
 * real Chromium; a page on an origin that is not listed is blocked by the browser; and the
 * try-it page at / works end to end. Skipped where Chromium is missing, outside CI.
 */
describe.skipIf(skipBrowserTests)('browser clients', () => {
  let system: TestSystem;
  let browser: Browser;
  let allowed: PageServer;
  let stranger: PageServer;
  let photo: Buffer;

  beforeAll(async () => {
    const dir = new URL('./fixtures/cross-origin-page/', import.meta.url);
    const files = {
      '/': { type: 'text/html; charset=utf-8', body: await readFile(new URL('index.html', dir), 'utf8') },
      '/uploader.js': { type: 'text/javascript', body: await readFile(new URL('uploader.js', dir), 'utf8') },
      '/vendor/uppy.js': { type: 'text/javascript', body: await uppyBundle() },
    };
    allowed = await servePage(files);
    stranger = await servePage(files);
    system = await startTestSystem({ env: { CORS_ORIGINS: allowed.origin } });
    browser = await launchBrowser();
    photo = await solidJpeg(640, 480, { r: 30, g: 120, b: 200 });
  });
  afterAll(async () => {
    await browser?.close();
    await system?.close();
    await allowed?.close();
    await stranger?.close();
  });

  async function openUploader(origin: string, userId: number): Promise<Page> {
    const page = await browser.newPage();
    const query = new URLSearchParams({ api: system.url, token: system.token(userId), user: String(userId) });
    await page.goto(`${origin}/?${query}`);
    await page.waitForFunction('window.report && window.report.phase === "ready"');
    return page;
  }

  const reportOf = (page: Page): Promise<Report> => page.evaluate<Report>('window.report');

  it('uploads with Uppy from a listed origin, polls the status to done and sees the terminal event on the stream', async () => {
    const page = await openUploader(allowed.origin, 1);
    try {
      await page.setInputFiles('#file', { name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
      await page.waitForFunction('["finished", "error", "upload-error"].includes(window.report.phase)', undefined, { timeout: 30_000 });
      await screenshot(page, 'cross-origin-uploader');
      const report = await reportOf(page);
      expect(report.error).toBeUndefined();
      expect(report.phase).toBe('finished');
      expect(report.uploadStatus).toBe(202);
      expect(report.statuses.at(-1)).toBe('done');
      expect(report.etag).toMatch(/^"/);
      expect(report.events[0]).toEqual({ id: '1', type: 'queued' });
      expect(report.events.at(-1)?.type).toBe('done');
    } finally {
      await page.close();
    }
  }, 45_000);

  it('blocks a page on an origin that is not listed: the upload and a status read both fail in the browser', async () => {
    const [row] = await system.db('uploads').where({ user_id: 2 }).count({ n: '*' });
    const page = await openUploader(stranger.origin, 2);
    try {
      await page.setInputFiles('#file', { name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
      await page.waitForFunction('window.report.phase !== "ready"', undefined, { timeout: 15_000 });
      const report = await reportOf(page);
      expect(report.phase).toBe('upload-error');
      expect(report.uploadStatus ?? 0).toBe(0);
      const read = await page.evaluate<string, { url: string; token: string }>(
        async ({ url, token }) => fetch(url, { headers: { authorization: `Bearer ${token}` } }).then((r) => `read ${r.status}`, (e: Error) => e.name),
        { url: `${system.url}/v1/uploads/00000000-0000-4000-8000-000000000000`, token: system.token(2) },
      );
      expect(read).toBe('TypeError');
      // the preflight was refused, so the browser never sent the upload itself
      const [after] = await system.db('uploads').where({ user_id: 2 }).count({ n: '*' });
      expect(Number(after?.n)).toBe(Number(row?.n));
    } finally {
      await page.close();
    }
  }, 30_000);

  it('the try-it page at / uploads a picked file, follows it live to done and shows the four variants', async () => {
    const page = await browser.newPage();
    try {
      const watch = await watchPage(page);
      await page.goto(`${system.url}/`);
      await page.fill('#token', system.token(3));
      await page.setInputFiles('input[type=file]', { name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
      // locators and evaluate, never waitForFunction with a string: the page's CSP forbids eval
      await page.locator('#status[data-state=done], #status[data-state=error]').waitFor({ timeout: 30_000 });
      expect(await page.textContent('#status')).toBe('done');
      const loadedWidths = (): Promise<number[]> => page.evaluate<number[]>('[...document.querySelectorAll("#variants img")].filter((img) => img.complete).map((img) => img.naturalWidth)');
      await expect.poll(loadedWidths, { timeout: 10_000 }).toEqual(system.config.avatar.sizes);
      const log = await page.textContent('#log');
      expect(log).toContain('processing');
      await screenshot(page, 'try-it-done');
      expect({ violations: await watch.violations(), errors: watch.errors }).toEqual({ violations: [], errors: [] });
    } finally {
      await page.close();
    }
  }, 45_000);

  it('the try-it page follows an upload an operator retries past its `failed` to `done`', async () => {
    // no worker: the test moves the upload itself, as a failed run and an operator's retry would
    await system.stopWorker();
    const page = await browser.newPage();
    try {
      await page.goto(`${system.url}/`);
      await page.fill('#token', system.token(2));
      await page.setInputFiles('input[type=file]', { name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
      await page.locator('#log li', { hasText: 'queued' }).waitFor({ timeout: 15_000 });
      const row = await system.db('uploads').where({ user_id: 2, status: 'queued' }).orderBy('created_at', 'desc').first<{ id: string }>('id');
      const id = row?.id ?? '';
      const journal = system.repos.journal;
      await journal.record(id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
      await journal.record(id, { status: 'failed', patch: { errorCode: 'storage_unavailable', errorMessage: 'no storage' }, event: { type: 'failed', data: { code: 'storage_unavailable', message: 'no storage' } } });
      expect((await journal.reopenFailed(id, async () => true)).kind).toBe('reopened');
      await journal.record(id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
      await journal.record(id, { status: 'done', patch: { progress: 100 }, event: { type: 'done', data: { avatarUrl: `${system.config.fastdfs.publicUrl}x.webp`, variants: [] } } });

      await page.locator('#status[data-state=done]').waitFor({ timeout: 20_000 });
      const log = await page.textContent('#log');
      expect(log).toMatch(/failed[\s\S]*retried[\s\S]*done/);
    } finally {
      await page.close();
      await system.startWorker();
    }
  }, 45_000);

  it('the try-it page shows a refusal with its code', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${system.url}/`);
      await page.fill('#token', system.token(3));
      await page.setInputFiles('input[type=file]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture at all') });
      await page.locator('#status[data-state=error]').waitFor({ timeout: 15_000 });
      expect(await page.textContent('#status')).toContain('415 unsupported_media_type');
    } finally {
      await page.close();
    }
  }, 30_000);
});
