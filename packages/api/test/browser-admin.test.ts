import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CLEANUP_QUEUE } from '@avatar/shared';
import { launchBrowser, screenshot, skipBrowserTests, watchPage, type PageWatch } from './support/browser.js';
import { postAvatar, waitForTerminal } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

/**
 * The operator console as an operator uses it, in Debian's Chromium: log in, read the
 * counts, open an upload that failed during a storage outage, end the outage, press Retry
 * and watch it become done, its thumbnails loaded under the console's CSP. Screenshots go to
 * the gitignored .data/test-artifacts. Skipped where Chromium is missing, outside CI.
 */
describe.skipIf(skipBrowserTests)('the operator console in a real browser', () => {
  let system: TestSystem;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;
  let failedId: string;

  beforeAll(async () => {
    system = await startTestSystem({ env: { JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '100' } });
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    watch = await watchPage(page);
    // an outage that outlasts the job's attempts: the upload fails for good, its original kept
    await system.devServer.storage.stop();
    const accepted = await postAvatar(system.url, 1, system.token(1), await solidJpeg(300, 200, { r: 200, g: 40, b: 40 }));
    expect(accepted.status).toBe(202);
    failedId = String(accepted.body.uploadId);
    const snapshot = await waitForTerminal(system.url, failedId, system.token(1), 30_000);
    expect(snapshot.status).toBe('failed');
    expect(snapshot.error?.code).toBe('storage_unavailable');
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await system?.close();
  });

  /** Logs in through the login form, as an operator does; lands on the overview. */
  async function logIn(into: Page): Promise<void> {
    await into.goto(`${system.url}/admin/login`);
    await into.fill('input[name="password"]', system.config.auth.adminPassword);
    await Promise.all([into.waitForURL(`${system.url}/admin`), into.click('button[type="submit"]')]);
  }

  /** A fresh browser context (its own cookies), closed after `use`. */
  async function inNewContext(use: (page: Page, context: BrowserContext) => Promise<void>, options: Parameters<Browser['newContext']>[0] = {}): Promise<void> {
    const own = await browser.newContext(options);
    try {
      await use(await own.newPage(), own);
    } finally {
      await own.close();
    }
  }

  function cleanupQueue(): Queue {
    return new Queue(CLEANUP_QUEUE, { connection: { url: system.config.redis.url, maxRetriesPerRequest: null }, prefix: system.config.redis.prefix });
  }

  it('answers 401 on the admin paths without a login, stylesheet and bull-board included', async () => {
    const stranger = await browser.newContext();
    try {
      const visit = await stranger.newPage();
      for (const pathname of ['/admin', `/admin/uploads/${failedId}`, '/admin/assets/console.css']) {
        const answer = await visit.goto(`${system.url}${pathname}`);
        expect(answer?.status(), pathname).toBe(401);
      }
      // bull-board challenges for Basic, which a page navigation turns into a credentials prompt: asked directly
      expect((await stranger.request.get(`${system.url}/admin/queues`)).status()).toBe(401);
      await screenshot(visit, 'admin-401');
      expect(await visit.goto(`${system.url}/admin/login`).then((a) => a?.status())).toBe(200);
    } finally {
      await stranger.close();
    }
  }, 30_000);

  it('logs in, shows the counts, retries the failed upload once storage is back, and it ends done', async () => {
    await page.goto(`${system.url}/admin/login`);
    await screenshot(page, 'admin-login');
    await logIn(page);
    const lastHour = page.locator('section', { hasText: 'Last hour' }).locator('td.status-failed');
    expect(await lastHour.innerText()).toBe('1');
    expect(await page.locator('svg').count()).toBe(2);
    await screenshot(page, 'admin-overview');

    await page.goto(`${system.url}/admin/uploads?status=failed`);
    await screenshot(page, 'admin-uploads-failed');
    await Promise.all([page.waitForURL(`**/admin/uploads/${failedId}`), page.click(`a[href="/admin/uploads/${failedId}"]`)]);
    expect(await page.locator('#status').innerText()).toBe('failed');
    expect(await page.locator('#error').innerText()).toContain('storage_unavailable');
    await screenshot(page, 'admin-upload-failed');

    await system.devServer.storage.start();
    await Promise.all([page.waitForURL(`**/admin/uploads/${failedId}?notice=retried`), page.click('#retry')]);
    expect(await page.locator('[role=status]').innerText()).toContain('Sent back to the queue');
    const deadline = Date.now() + 30_000;
    while ((await page.locator('#status').innerText()) !== 'done' && Date.now() < deadline) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    expect(await page.locator('#status').innerText()).toBe('done');
    const events = await page.locator('table.events td:nth-child(3)').allInnerTexts();
    expect(events).toContain('retried');
    expect(events.at(-1)).toBe('done');
    // every variant's thumbnail loaded from the file server, under the console's CSP
    const thumbnails = page.locator('.variants img');
    expect(await thumbnails.count()).toBe(system.config.avatar.sizes.length);
    await page.waitForFunction('[...document.querySelectorAll(".variants img")].every((img) => img.complete && img.naturalWidth > 0)');
    await screenshot(page, 'admin-upload-done');
    expect(await watch.violations()).toEqual([]);
    expect(watch.errors).toEqual([]);
  }, 60_000);

  it('refuses a POST without the CSRF token even with the session cookie', async () => {
    await inNewContext(async (own) => {
      await logIn(own);
      const answer = await own.request.post(`${system.url}/admin/uploads/${failedId}/retry`, { form: { reason: 'no token' }, maxRedirects: 0 });
      expect(answer.status()).toBe(403);
      expect(answer.headers()['content-type']).toMatch(/^application\/problem\+json/);
      expect(((await answer.json()) as { code: string }).code).toBe('csrf_token_invalid');
    });
  }, 30_000);

  it("bull-board's own buttons work with the console's session: same-origin requests pass the cross-site check", async () => {
    const queue = cleanupQueue();
    try {
      await inNewContext(async (own) => {
        await logIn(own);
        await own.goto(`${system.url}/admin/queues/queue/${CLEANUP_QUEUE}`);
        await own.locator('button[aria-haspopup="menu"]').last().click();
        await own.getByRole('menuitem', { name: 'Pause' }).click();
        const [answer] = await Promise.all([
          own.waitForResponse((r) => r.url().endsWith(`/api/queues/${CLEANUP_QUEUE}/pause`) && r.request().method() === 'PUT'),
          own.getByRole('button', { name: 'Confirm' }).click(),
        ]);
        expect(answer.status()).toBe(200);
        // what the browser sent: its own origin, so the guard let the session through
        expect(await answer.request().headerValue('sec-fetch-site')).toBe('same-origin');
        expect(await queue.isPaused()).toBe(true);
        await screenshot(own, 'admin-bull-board-paused');
      });
    } finally {
      await queue.resume();
      await queue.close();
    }
  }, 30_000);

  it("refuses another site's form post that rides on cached Basic credentials to bull-board's API", async () => {
    const queue = cleanupQueue();
    const evil = `http://localhost:${new URL(system.url).port}/evil`;
    try {
      const waitingBefore = await queue.getWaitingCount();
      await inNewContext(async (own) => {
        // the page of another site (localhost is not 127.0.0.1), served by the browser itself
        await own.route(evil, (route) => route.fulfill({
          contentType: 'text/html',
          body: `<form method="post" enctype="text/plain" action="${system.url}/admin/queues/api/queues/${CLEANUP_QUEUE}/add"><input name='{"name":"x","data":{},"x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
        }));
        const [answer] = await Promise.all([own.waitForResponse((r) => r.url().endsWith(`/api/queues/${CLEANUP_QUEUE}/add`)), own.goto(evil)]);
        // 403, not 401: the browser sent the credentials, they were right, and the origin was refused
        expect(answer.status()).toBe(403);
        expect(await answer.text()).toContain('csrf_token_invalid');
      }, { httpCredentials: { username: 'admin', password: system.config.auth.adminPassword, origin: system.url, send: 'always' } });
      expect(await queue.getWaitingCount()).toBe(waitingBefore);
    } finally {
      await queue.close();
    }
  }, 30_000);
});
