import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDevServerArgs } from '../src/cli/dev-server-config.js';
import { ConfigError } from '../src/config/config-error.js';
import { readDevServerEnv } from '../src/config/dev-server-env.js';
import { FastdfsClient } from '../src/index.js';
import { spawnDevServer } from './helpers/dev-server-process.js';

describe('dev server CLI settings', () => {
  it('uses defaults, then environment variables, then flags', () => {
    expect(parseDevServerArgs([], {}, '/srv')).toEqual({
      kind: 'run',
      options: { trackerPort: 22122, storagePort: 23000, httpPort: 8888, dataDir: '/srv/.data/fastdfs', group: 'group1', host: '127.0.0.1', ipFieldSize: 15 },
    });
    const env = { FDFS_DEV_TRACKER_PORT: '1', FDFS_DEV_STORAGE_PORT: '2', FDFS_DEV_HTTP_PORT: '3', FDFS_DEV_DATA_DIR: 'd' };
    expect(parseDevServerArgs([], env, '/srv')).toMatchObject({ options: { trackerPort: 1, storagePort: 2, httpPort: 3, dataDir: '/srv/d' } });
    const args = ['--tracker-port', '11', '--storage-port=12', '--http-port', '0', '--data-dir', '/abs', '--group', 'avatars', '--host', '0.0.0.0', '--ip-field-size', '45'];
    expect(parseDevServerArgs(args, env, '/srv')).toMatchObject({
      options: { trackerPort: 11, storagePort: 12, httpPort: 0, dataDir: '/abs', group: 'avatars', host: '0.0.0.0', ipFieldSize: 45 },
    });
    expect(parseDevServerArgs(['--help'], {}, '/')).toEqual({ kind: 'help' });
  });

  it.each([
    [['--tracker-port', 'abc'], {}, /--tracker-port: "abc"/],
    [['--storage-port', '70000'], {}, /--storage-port: "70000"/],
    [['--http-port', '-1'], {}, /http-port/],
    [[], { FDFS_DEV_HTTP_PORT: '8o88' }, /FDFS_DEV_HTTP_PORT: "8o88"/],
    [['--group', 'a/b'], {}, /--group/],
    [['--ip-field-size', '16'], {}, /--ip-field-size/],
    [['--unknown'], {}, /unknown/i],
  ])('refuses %j %j with a message naming the setting', (args, env, message) => {
    expect(() => parseDevServerArgs(args, env, '/')).toThrow(ConfigError);
    expect(() => parseDevServerArgs(args, env, '/')).toThrow(message);
  });
});

describe('dev server environment (read the same way by loadConfig)', () => {
  it('takes defaults for unset or empty variables and resolves the folder against cwd', () => {
    const defaults = { trackerPort: 22122, storagePort: 23000, httpPort: 8888, dataDir: '/srv/.data/fastdfs' };
    expect(readDevServerEnv({}, '/srv')).toEqual(defaults);
    expect(readDevServerEnv({ FDFS_DEV_TRACKER_PORT: '', FDFS_DEV_DATA_DIR: '' }, '/srv')).toEqual(defaults);
    expect(readDevServerEnv({ FDFS_DEV_TRACKER_PORT: '1', FDFS_DEV_STORAGE_PORT: '0', FDFS_DEV_HTTP_PORT: '3', FDFS_DEV_DATA_DIR: 'd' }, '/srv')).toEqual({
      trackerPort: 1,
      storagePort: 0,
      httpPort: 3,
      dataDir: '/srv/d',
    });
  });

  it('names every bad variable in one ConfigError', () => {
    let caught: unknown;
    try {
      readDevServerEnv({ FDFS_DEV_TRACKER_PORT: '70000', FDFS_DEV_HTTP_PORT: '8o88' }, '/');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      'invalid FDFS_DEV_TRACKER_PORT: "70000" (expected a port number from 0 to 65535)',
      'invalid FDFS_DEV_HTTP_PORT: "8o88" (expected a port number from 0 to 65535)',
    ]);
  });
});

describe('dev server CLI process', () => {
  it('serves, then exits 0 promptly on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fastdfs-cli-'));
    try {
      const running = await spawnDevServer(['--tracker-port', '0', '--storage-port', '0', '--http-port', '0', '--data-dir', dataDir]);
      expect(running.output()).toContain(`data     ${dataDir}`);
      const client = new FastdfsClient({ trackers: `127.0.0.1:${running.trackerPort}` });
      await client.upload(Buffer.from('x'), { ext: 'txt' });
      const started = Date.now();
      running.child.kill('SIGTERM');
      expect(await running.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(2_000);
      await client.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('stops with exit code 2 and names a bad flag', async () => {
    await expect(spawnDevServer(['--tracker-port', 'nope'])).rejects.toThrow(/exited with 2[\s\S]*--tracker-port: "nope"/);
  });
});
