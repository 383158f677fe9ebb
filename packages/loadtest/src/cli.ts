import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createSigner } from 'fast-jwt';
import { ConfigError, loadConfig } from '@avatar/shared';
import { formatReport, runLoadTest } from './run-load-test.js';
import { makeSampleJpegs, parseImageSpec } from './sample-images.js';

const usage = `pnpm loadtest [--url http://127.0.0.1:3000] [--uploads 200] [--concurrency 16] [--users 1,2,3]
              [--image 1600x1200] [--distinct 8] [--timeout 300] [--json report.json]
Sends uploads to a running system (pnpm start), follows each to a terminal status and prints
throughput and latency. Tokens are signed with JWT_SECRET from the environment (the same
config the system runs with). Set RATE_LIMIT_UPLOADS_PER_USER/PER_IP=0 and HELD_CONNECTIONS_PER_USER=0
on the system under test.`;

function positive(name: string, value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

/** Load is only ever sent to this machine. */
function assertLoopback(url: URL): void {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hostname.startsWith('127.')) {
    throw new Error(`--url must point at this machine (loopback), not ${url.hostname}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      uploads: { type: 'string' },
      concurrency: { type: 'string' },
      users: { type: 'string' },
      image: { type: 'string' },
      distinct: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const config = loadConfig();
  const baseUrl = new URL(values.url ?? `http://127.0.0.1:${config.http.port}`);
  assertLoopback(baseUrl);
  const users = (values.users ?? '1,2,3').split(',').map((u) => positive('users', u.trim(), 1));
  const uploads = positive('uploads', values.uploads, 200);
  const concurrency = positive('concurrency', values.concurrency, 16);
  const timeoutMs = positive('timeout', values.timeout, 300) * 1000;
  if (!config.auth.jwtSecret) throw new Error('JWT_SECRET is needed to sign the load test tokens');
  const sign = createSigner({ key: config.auth.jwtSecret, algorithm: 'HS256', expiresIn: timeoutMs + 600_000 });
  const tokens = new Map(users.map((u) => [u, sign({ sub: String(u), role: 'user' })]));
  const spec = parseImageSpec(values.image ?? '1600x1200');
  const images = await makeSampleJpegs(spec, positive('distinct', values.distinct, 8));
  const avgKb = images.reduce((s, b) => s + b.length, 0) / images.length / 1024;

  console.log(`load test: ${uploads} uploads of ${spec.width}x${spec.height} JPEG (~${avgKb.toFixed(0)} KB), ${concurrency} in flight, users ${users.join(',')} → ${baseUrl.origin}`);
  let lastPrint = 0;
  const { report, records } = await runLoadTest({
    baseUrl: baseUrl.origin,
    uploads,
    concurrency,
    users,
    images,
    tokenFor: (u) => tokens.get(u) as string,
    timeoutMs,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastPrint > 2_000) {
        lastPrint = now;
        console.log(`  … sent ${p.sent}, accepted ${p.accepted}, finished ${p.finished}`);
      }
    },
  });
  console.log(formatReport(report));
  if (values.json) await writeFile(values.json, JSON.stringify({ options: { uploads, concurrency, users, image: spec }, report, records }, null, 2));
  if (report.unfinished > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
