import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkspace, pnpmCommand } from '../src/system/build-workspace.js';

/** A package whose `build` script is `script`, in a folder of its own (pnpm runs it there). */
async function packageWithBuild(dir: string, script: string): Promise<string> {
  const root = await mkdtemp(path.join(dir, 'pkg-'));
  await writeFile(path.join(root, 'package.json'), JSON.stringify({ name: 'build-probe', private: true, scripts: { build: script } }));
  return root;
}

describe('buildWorkspace: `pnpm build` before the compiled roles run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'loadtest-build-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves when the build succeeds', async () => {
    const root = await packageWithBuild(dir, 'node -e "process.exit(0)"');
    await expect(buildWorkspace(root)).resolves.toBeUndefined();
  }, 30_000);

  it('fails with the exit code and the end of the build output, naming --source', async () => {
    const root = await packageWithBuild(dir, `node -e "console.error('TS2322: broken types'); process.exit(3)"`);
    const error = await buildWorkspace(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^pnpm build failed \(exit code \d+\)/);
    expect((error as Error).message).toMatch(/--source/);
    expect((error as Error).message).toMatch(/TS2322: broken types/);
  }, 30_000);
});

describe('pnpmCommand', () => {
  it('runs the pnpm that started the tool, through node when it is a script', () => {
    expect(pnpmCommand({ npm_execpath: '/opt/pnpm/bin/pnpm.cjs' })).toEqual({ file: process.execPath, args: ['/opt/pnpm/bin/pnpm.cjs'] });
    expect(pnpmCommand({ npm_execpath: '/usr/local/bin/pnpm' })).toEqual({ file: '/usr/local/bin/pnpm', args: [] });
    expect(pnpmCommand({})).toEqual({ file: 'pnpm', args: [] });
    expect(pnpmCommand({ npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' })).toEqual({ file: 'pnpm', args: [] });
  });
});
