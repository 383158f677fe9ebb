import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/index.js';

describe('loadConfig', () => {
  it('runs on defaults outside production', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.avatar.sizes).toEqual([512, 256, 128, 64]);
    expect(config.limits.maxUploadBytes).toBe(10 * 1024 * 1024);
    expect(config.limits.maxInputPixels).toBe(50_000_000);
    expect(config.fastdfs.embedded).toBe(true);
    expect(config.fastdfs.trackers).toEqual(['127.0.0.1:22122']);
    expect(config.fastdfs.publicUrl).toBe('http://127.0.0.1:8888/');
  });

  it('sorts sizes largest first and parses trackers', () => {
    const config = loadConfig({ AVATAR_SIZES: '64, 512,128', FDFS_TRACKERS: '10.0.0.1:22122,10.0.0.2:22122', FDFS_PUBLIC_URL: 'https://cdn.example/x' });
    expect(config.avatar.sizes).toEqual([512, 128, 64]);
    expect(config.fastdfs.trackers).toEqual(['10.0.0.1:22122', '10.0.0.2:22122']);
    expect(config.fastdfs.publicUrl).toBe('https://cdn.example/x/');
  });

  it('listens on DATABASE_URL unless DATABASE_LISTEN_URL names a direct connection', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://pgbouncer:6432/avatars' }).databaseListenUrl).toBe('postgres://pgbouncer:6432/avatars');
    const split = loadConfig({ DATABASE_URL: 'postgres://pgbouncer:6432/avatars', DATABASE_LISTEN_URL: 'postgres://db:5432/avatars' });
    expect(split.databaseUrl).toBe('postgres://pgbouncer:6432/avatars');
    expect(split.databaseListenUrl).toBe('postgres://db:5432/avatars');
    expect(() => loadConfig({ DATABASE_LISTEN_URL: 'mysql://db/avatars' })).toThrow(/DATABASE_LISTEN_URL/);
  });

  it('pins uploads to FDFS_GROUP when set, and checks it is a group name', () => {
    expect(loadConfig({}).fastdfs.group).toBeUndefined();
    expect(loadConfig({ FDFS_GROUP: 'group2' }).fastdfs.group).toBe('group2');
    expect(() => loadConfig({ FDFS_GROUP: 'no spaces allowed' })).toThrow(/FDFS_GROUP/);
  });

  it("reads FDFS_DEV_* with the dev server's own reader: its defaults, and a bad value named like any other", () => {
    expect(loadConfig({}).fastdfs.dev).toEqual({ trackerPort: 22122, storagePort: 23000, httpPort: 8888, dataDir: path.resolve('.data/fastdfs') });
    const config = loadConfig({ FDFS_DEV_TRACKER_PORT: '4000', FDFS_DEV_HTTP_PORT: '4001', FDFS_DEV_DATA_DIR: '/tmp/fdfs' });
    expect(config.fastdfs).toMatchObject({ trackers: ['127.0.0.1:4000'], publicUrl: 'http://127.0.0.1:4001/', dev: { trackerPort: 4000, dataDir: '/tmp/fdfs' } });
    expect(() => loadConfig({ FDFS_DEV_STORAGE_PORT: 'x' })).toThrow(ConfigError);
    expect(() => loadConfig({ FDFS_DEV_STORAGE_PORT: 'x', PORT: 'eighty' })).toThrow(/- PORT: [\s\S]*- invalid FDFS_DEV_STORAGE_PORT: "x"/);
  });

  it('names each bad variable instead of falling back to a default', () => {
    try {
      loadConfig({ PORT: 'eighty', MAX_UPLOAD_BYTES: '-1', AVATAR_FORMAT: 'bmp' });
      expect.unreachable('loadConfig accepted bad values');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toContain('PORT');
      expect(message).toContain('MAX_UPLOAD_BYTES');
      expect(message).toContain('AVATAR_FORMAT');
    }
  });

  it('refuses production without real secrets', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET[\s\S]*ADMIN_PASSWORD/);
  });

  it('refuses both a JWT secret and a public key, which would make one of them silently unused', () => {
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(32), JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----' })).toThrow(/not both/);
  });

  it('refuses REDIS_URL beside REDIS_CLUSTER_NODES, and braces the prefix on a cluster so every key hashes to one slot', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toThrow(/REDIS_CLUSTER_NODES: set either REDIS_URL .* not both/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1' })).toThrow(/REDIS_CLUSTER_NODES/);
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, [::1]:7001', REDIS_PREFIX: 'av' }).redis;
    expect(cluster).toMatchObject({ cluster: [{ host: '127.0.0.1', port: 7000 }, { host: '::1', port: 7001 }], prefix: '{av}' });
    expect(loadConfig({ REDIS_PREFIX: 'av' }).redis).toMatchObject({ url: 'redis://127.0.0.1:6379', cluster: undefined, prefix: 'av' });
  });

  it('requires UPLOAD_TOKEN_SECRET with a public key in every environment, so upload tokens are never keyed off the development secret', () => {
    const publicKey = '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----';
    for (const NODE_ENV of ['development', 'test', 'production'] as const) {
      expect(() => loadConfig({ NODE_ENV, ADMIN_PASSWORD: 'a-real-password', JWT_PUBLIC_KEY: publicKey })).toThrow(/UPLOAD_TOKEN_SECRET: required with JWT_PUBLIC_KEY/);
    }
    const secret = 'u'.repeat(32);
    expect(loadConfig({ JWT_PUBLIC_KEY: publicKey, UPLOAD_TOKEN_SECRET: secret }).uploadTokens.secret).toBe(secret);
  });

  it('derives the upload-token key from JWT_SECRET when UPLOAD_TOKEN_SECRET is unset, never using JWT_SECRET itself', () => {
    const config = loadConfig({ JWT_SECRET: 'j'.repeat(32) });
    expect(config.uploadTokens.secret).not.toBe('j'.repeat(32));
    expect(config.uploadTokens.secret).not.toBe(loadConfig({ JWT_SECRET: 'k'.repeat(32) }).uploadTokens.secret);
  });

  it('requires a public URL when real trackers are configured', () => {
    expect(() => loadConfig({ FDFS_TRACKERS: '10.0.0.1:22122' })).toThrow(/FDFS_PUBLIC_URL/);
  });

  it('refuses a header timeout that the whole-request timeout would silently cut', () => {
    expect(() => loadConfig({ UPLOAD_BODY_TIMEOUT_MS: '30000', HEADERS_TIMEOUT_MS: '45001' })).toThrow(/HEADERS_TIMEOUT_MS: at most/);
    expect(loadConfig({ UPLOAD_BODY_TIMEOUT_MS: '30000', HEADERS_TIMEOUT_MS: '45000' }).http.headersTimeoutMs).toBe(45_000);
  });
});
