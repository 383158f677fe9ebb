import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export interface PageVisit {
  /** CSP violations the page reported (`securitypolicyviolation` events). */
  violations: Array<{ directive: string; blocked: string }>;
  /** Uncaught exceptions and console errors. */
  errors: string[];
  /** `document.body.innerText` after the page settled. */
  text: string;
}

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

/**
 * A headless Chromium driven over the DevTools protocol on a pipe (no WebSocket, no extra
 * package): open a page with extra request headers, let it settle, and report what it
 * refused to load and what it rendered.
 */
export class HeadlessBrowser {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: Message) => void>();
  private nextId = 1;
  private buffer = '';

  constructor() {
    this.child = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', '--no-first-run', 'about:blank'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
    });
    (this.child.stdio[4] as Readable).on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let end;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end)) as Message;
        this.buffer = this.buffer.slice(end + 1);
        if (message.id !== undefined) {
          const waiter = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) waiter?.reject(new Error(message.error.message));
          else waiter?.resolve(message);
        } else {
          for (const listener of this.listeners) listener(message);
        }
      }
    });
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve: (m) => resolve(m.result ?? {}), reject }));
  }

  async visit(url: string, headers: Record<string, string>, settle: (text: string) => boolean, timeoutMs = 15_000): Promise<PageVisit> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const errors: string[] = [];
    const listener = (m: Message): void => {
      if (m.sessionId !== sessionId) return;
      if (m.method === 'Runtime.exceptionThrown') errors.push(JSON.stringify((m.params as { exceptionDetails?: unknown }).exceptionDetails).slice(0, 300));
      if (m.method === 'Runtime.consoleAPICalled' && (m.params as { type?: string }).type === 'error') errors.push(JSON.stringify(m.params?.args).slice(0, 300));
    };
    this.listeners.add(listener);
    try {
      await this.send('Runtime.enable', {}, sessionId);
      await this.send('Page.enable', {}, sessionId);
      await this.send('Network.enable', {}, sessionId);
      await this.send('Network.setExtraHTTPHeaders', { headers }, sessionId);
      await this.send('Page.addScriptToEvaluateOnNewDocument', {
        source: "window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));",
      }, sessionId);
      await this.send('Page.navigate', { url }, sessionId);
      const deadline = Date.now() + timeoutMs;
      let text = '';
      for (;;) {
        const { result } = (await this.send('Runtime.evaluate', { expression: 'document.body ? document.body.innerText : ""', returnByValue: true }, sessionId)) as { result: { value: string } };
        text = result.value;
        if (settle(text) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const { result } = (await this.send('Runtime.evaluate', { expression: 'JSON.stringify(window.__violations || [])', returnByValue: true }, sessionId)) as { result: { value: string } };
      return { violations: JSON.parse(result.value) as PageVisit['violations'], errors, text };
    } finally {
      this.listeners.delete(listener);
      await this.send('Target.closeTarget', { targetId });
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.send('Browser.close').catch(() => undefined);
    this.child.kill('SIGTERM');
    await exited;
  }
}
