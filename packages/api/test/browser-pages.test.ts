import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, HeadlessBrowser } from './support/headless-browser.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

/**
 * The security headers must not break the two HTML pages: a real Chromium loads Swagger UI
 * and the bull-board dashboard under their CSP and reports every violation. Only the
 * dashboard's web font from the internet may be refused. Skipped where Chromium is missing, outside CI.
 */
// CI installs chromium (.ci/run), so there a missing browser fails the suite instead of skipping it
describe.skipIf(!hasChromium && !process.env.CI)('the HTML pages in a real browser', () => {
  let system: TestSystem;
  let browser: HeadlessBrowser;

  beforeAll(async () => {
    system = await startTestSystem({ worker: false });
    browser = new HeadlessBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await system?.close();
  });

  it('renders Swagger UI at /docs with no CSP violation', async () => {
    const visit = await browser.visit(`${system.url}/docs/`, {}, (text) => text.includes('/v1/users/{userId}/avatar'));
    expect(visit.text).toContain('Avatar upload API');
    expect(visit.text).toContain('/v1/users/{userId}/avatar');
    expect(visit.violations).toEqual([]);
    expect(visit.errors).toEqual([]);
  }, 30_000);

  it('renders the queue dashboard with its queues, refusing nothing but the remote web font', async () => {
    const authorization = `Basic ${Buffer.from(`admin:${system.config.auth.adminPassword}`).toString('base64')}`;
    const visit = await browser.visit(`${system.url}/admin/queues`, { authorization }, (text) => text.includes('avatar-process'));
    expect(visit.text).toContain('avatar-process');
    expect(visit.text).toContain('avatar-cleanup');
    expect(visit.violations.filter((v) => !v.blocked.startsWith('https://fonts.'))).toEqual([]);
  }, 30_000);
});
