import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
/** CI installs chromium (.ci/run), so there a missing browser fails the suite instead of skipping it. */
export const skipBrowserTests = !hasChromium && !process.env.CI;

/** Screenshots go here: under the gitignored `.data/`, never committed. */
export const ARTIFACTS_DIR = path.resolve(fileURLToPath(new URL('../../../../.data/test-artifacts/', import.meta.url)));

/** Debian's chromium, headless, never a downloaded browser; no network beyond loopback is needed. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
}

export interface PageWatch {
  /** CSP violations the page reported (`securitypolicyviolation` events). */
  violations(): Promise<Array<{ directive: string; blocked: string }>>;
  /** Uncaught exceptions and console errors. */
  errors: string[];
}

/** Records what a page refuses to load (CSP) and what goes wrong in it, from its first script on. */
export async function watchPage(page: Page): Promise<PageWatch> {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message.slice(0, 300)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text().slice(0, 300));
  });
  // page scripts are strings: this project type-checks without the DOM library
  await page.addInitScript({
    content: "window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));",
  });
  return {
    errors,
    violations: () => page.evaluate<Array<{ directive: string; blocked: string }>>('window.__violations || []'),
  };
}

/**
 * Uppy core and its XHR upload plugin as one browser ES module, bundled from node_modules in
 * memory (Uppy ships ES modules with bare imports and CommonJS dependencies, which a browser
 * cannot load as they are).
 */
export async function uppyBundle(): Promise<string> {
  const result = await esbuild.build({
    stdin: {
      contents: "export { default as Uppy } from '@uppy/core';\nexport { default as XHRUpload } from '@uppy/xhr-upload';\n",
      resolveDir: fileURLToPath(new URL('../../', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}
