import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, skipBrowserTests, watchPage } from './support/browser.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

/**
 * The security headers must not break the two HTML pages: a real Chromium loads Swagger UI
 * and the bull-board dashboard under their CSP and reports every violation. Only the
 * dashboard's web font from the internet may be refused. Skipped where Chromium is missing, outside CI.
 */
describe.skipIf(skipBrowserTests)('the HTML pages in a real browser', () => {
  let system: TestSystem;
  let browser: Browser;

  beforeAll(async () => {
    system = await startTestSystem({ worker: false });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await system?.close();
  });

  /** Opens `url` with extra request headers, waits until its text holds `settledWhen`, and reports what it refused. */
  async function visit(url: string, headers: Record<string, string>, settledWhen: string, name: string) {
    const context = await browser.newContext({ extraHTTPHeaders: headers });
    try {
      const page = await context.newPage();
      const watch = await watchPage(page);
      await page.goto(url);
      await page.waitForFunction((expected) => (globalThis as unknown as { document: { body?: { innerText: string } } }).document.body?.innerText.includes(expected), settledWhen, { timeout: 15_000 }).catch(() => undefined);
      await screenshot(page, name);
      return { text: await page.innerText('body'), violations: await watch.violations(), errors: watch.errors };
    } finally {
      await context.close();
    }
  }

  it('renders Swagger UI at /docs with no CSP violation', async () => {
    const page = await visit(`${system.url}/docs/`, {}, '/v1/users/{userId}/avatar', 'docs');
    expect(page.text).toContain('Avatar upload API');
    expect(page.text).toContain('/v1/users/{userId}/avatar');
    expect(page.violations).toEqual([]);
    expect(page.errors).toEqual([]);
  }, 30_000);

  it('renders the queue dashboard with its queues, refusing nothing but the remote web font', async () => {
    const authorization = `Basic ${Buffer.from(`admin:${system.config.auth.adminPassword}`).toString('base64')}`;
    const page = await visit(`${system.url}/admin/queues`, { authorization }, 'avatar-process', 'queue-dashboard');
    expect(page.text).toContain('avatar-process');
    expect(page.text).toContain('avatar-cleanup');
    expect(page.violations.filter((v) => !v.blocked.startsWith('https://fonts.'))).toEqual([]);
  }, 30_000);
});
