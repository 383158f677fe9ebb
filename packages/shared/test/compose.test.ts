import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSchema, loadConfig } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const composeFile = join(root, 'docker-compose.yml');
const envExample = join(root, '.env.example');
const nginxConf = join(root, 'deploy/nginx.conf');
const dockerfile = join(root, 'Dockerfile');

/** The services that run this repository's image: their environment is read by the config schema. */
const APP_IMAGE = 'avatar-pipeline:latest';

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: Array<string | { published?: string | number; target?: number }>;
}

const dockerCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).stdout?.trim() ?? '';
const hasDockerCompose = dockerCompose !== '' && spawnSync(dockerCompose, ['version'], { stdio: 'ignore' }).status === 0;
const missing = 'docker-compose (v1) is not installed: apt-get install -y docker-compose';

/**
 * The compose file as Debian's docker-compose resolves it with `.env.example`. v1 refuses the
 * top-level `name:`, so it reads a copy without it, relative paths still resolved from the
 * repository. A clean environment: the caller's variables would override `.env.example`.
 */
function resolveCompose(workDir: string): Record<string, ComposeService> {
  const copy = join(workDir, 'docker-compose.yml');
  writeFileSync(copy, readFileSync(composeFile, 'utf8').replace(/^name:.*\n/m, ''));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir };
  const run = spawnSync(dockerCompose, ['-f', copy, '--project-directory', root, '--env-file', envExample, 'config'], { env, encoding: 'utf8', cwd: workDir });
  if (run.status !== 0) throw new Error(`docker-compose config failed (${run.status}):\n${run.stderr}`);
  // docker-compose prints YAML; its own interpreter (the shebang), which has PyYAML, turns it into JSON
  const python = /^#!\s*(?:\S*\/env\s+)?(\S+)/.exec(readFileSync(dockerCompose, 'utf8').split('\n', 1)[0]!)?.[1] ?? 'python3';
  const json = spawnSync(python, ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: run.stdout, encoding: 'utf8' });
  if (json.status !== 0) throw new Error(`YAML to JSON failed:\n${json.stderr}`);
  return (JSON.parse(json.stdout) as { services: Record<string, ComposeService> }).services;
}

const publishesHostPort = (service: ComposeService): boolean =>
  (service.ports ?? []).some((port) => (typeof port === 'string' ? port.includes(':') : port.published !== undefined));

const stringEnv = (service: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value ?? '')]));

/** `16m` → bytes, as nginx reads a size. */
function nginxSize(value: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (!match) throw new Error(`not an nginx size: ${value}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

if (!hasDockerCompose && process.env.CI) {
  it('has docker-compose to check docker-compose.yml with', () => expect.fail(missing));
}

describe.skipIf(!hasDockerCompose)(`docker-compose.yml against the code${hasDockerCompose ? '' : ` (skipped: ${missing})`}`, () => {
  let workDir = '';
  let services: Record<string, ComposeService> = {};
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'compose-check-'));
    services = resolveCompose(workDir);
  });
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const appServices = (): Array<[string, ComposeService]> => Object.entries(services).filter(([, s]) => s.image === APP_IMAGE);

  it('sets on the app services only variables the config schema knows, and valid ones', () => {
    const known = new Set(Object.keys(envSchema.shape));
    expect(appServices().map(([name]) => name).sort()).toEqual(['api', 'migrate', 'worker']);
    for (const [name, service] of appServices()) {
      const unknown = Object.keys(service.environment ?? {}).filter((key) => !known.has(key));
      expect(unknown, `${name} sets variables the config schema does not know`).toEqual([]);
      // the placeholders of .env.example pass the same validation a real start does
      expect(() => loadConfig(stringEnv(service)), name).not.toThrow();
    }
  });

  it('runs each app service with plain node on a compiled entry of a package the image deploys', () => {
    // the runtime stage copies every `pnpm … deploy /out/<dir>` of the build stage to /app
    const text = readFileSync(dockerfile, 'utf8');
    const deployed = new Map([...text.matchAll(/--filter @avatar\/([a-z-]+) [^\n]*deploy \/out\/([a-z-]+)/g)].map((m) => [m[2]!, m[1]!]));
    expect(text).toMatch(/^COPY --from=build \/out \/app$/m);
    for (const [name, service] of appServices()) {
      const [program, entry, ...rest] = Array.isArray(service.command) ? service.command : [];
      expect(program, `${name} is started by plain node, no tsx, no pnpm`).toBe('node');
      const match = /^\/app\/([a-z-]+)\/dist\/(.+)\.js$/.exec(entry ?? '');
      expect(match, `${name} runs ${entry}: not /app/<package>/dist/…js`).not.toBeNull();
      const [, dir, modulePath] = match!;
      const pkg = deployed.get(dir!);
      expect(pkg, `${name}: the Dockerfile deploys nothing to /out/${dir}`).toBeDefined();
      expect(existsSync(join(root, 'packages', pkg!, 'src', `${modulePath}.ts`)), `${name}: packages/${pkg}/src/${modulePath}.ts`).toBe(true);
      expect(rest, name).toEqual([]);
    }
  });

  it('gives .env.example every variable the compose file reads', () => {
    const read = new Set([...readFileSync(composeFile, 'utf8').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    const offered = new Set([...readFileSync(envExample, 'utf8').matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
    expect([...read].filter((name) => !offered.has(name))).toEqual([]);
    expect([...offered].filter((name) => !read.has(name))).toEqual([]);
  });

  it('publishes the proxy, never the API, which trusts the proxy', () => {
    const api = services.api!;
    expect(publishesHostPort(api), 'the API publishes a host port: --scale api=2 would clash').toBe(false);
    expect(publishesHostPort(services.proxy!)).toBe(true);
    expect(loadConfig(stringEnv(api)).http.trustProxy).toBe(true);
  });

  it('proxies to the port the API listens on, and lets through the largest upload', () => {
    const conf = readFileSync(nginxConf, 'utf8');
    const api = loadConfig(stringEnv(services.api!));
    const targets = [...conf.matchAll(/set \$api http:\/\/api:(\d+);/g)].map((m) => Number(m[1]));
    expect(targets.length).toBeGreaterThan(0);
    for (const port of targets) expect(port).toBe(api.http.port);
    const bodyLimit = /client_max_body_size\s+(\S+);/.exec(conf)?.[1];
    expect(bodyLimit, 'client_max_body_size').toBeDefined();
    expect(nginxSize(bodyLimit!)).toBeGreaterThanOrEqual(api.limits.maxUploadBytes);
    expect(conf).toMatch(/proxy_request_buffering off;/);
  });
});
