import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isValidGroup } from '../codec/field-rules.js';
import type { DevServerOptions } from '../dev-server/dev-server.js';

export const USAGE = `Usage: fastdfs-dev-server [options]

Runs a FastDFS-compatible tracker, storage server and HTTP reader on loopback.

Options (each falls back to an environment variable, then a default):
  --tracker-port N    tracker port     (FDFS_DEV_TRACKER_PORT, 22122; 0 = any free port)
  --storage-port N    storage port     (FDFS_DEV_STORAGE_PORT, 23000)
  --http-port N       HTTP read port   (FDFS_DEV_HTTP_PORT, 8888)
  --data-dir DIR      store path       (FDFS_DEV_DATA_DIR, ./.data/fastdfs)
  --group NAME        group name       (group1)
  --host ADDRESS      listen address   (127.0.0.1)
  --ip-field-size N   15 or 45: IP field size in tracker answers (15)
  -h, --help          show this help`;

/** A bad flag or variable: the message names it, and the process stops. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type CliCommand = { kind: 'help' } | { kind: 'run'; options: DevServerOptions & Required<Pick<DevServerOptions, 'host' | 'group' | 'trackerPort' | 'storagePort' | 'httpPort'>> };

function port(source: string, raw: string): number {
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65535) {
    throw new ConfigError(`invalid ${source}: ${JSON.stringify(raw)} (expected a port number from 0 to 65535)`);
  }
  return Number(raw);
}

/** Reads flags, then environment variables, then defaults; validates every value once. */
export function parseDevServerArgs(argv: string[], env: NodeJS.ProcessEnv, cwd: string): CliCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'tracker-port': { type: 'string' },
        'storage-port': { type: 'string' },
        'http-port': { type: 'string' },
        'data-dir': { type: 'string' },
        group: { type: 'string' },
        host: { type: 'string' },
        'ip-field-size': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return { kind: 'help' };

  const pick = (flag: string, envName: string | undefined, fallback: string): { source: string; raw: string } => {
    const fromFlag = values[flag];
    if (typeof fromFlag === 'string') return { source: `--${flag}`, raw: fromFlag };
    const fromEnv = envName === undefined ? undefined : env[envName];
    if (envName !== undefined && fromEnv !== undefined && fromEnv !== '') return { source: envName, raw: fromEnv };
    return { source: `--${flag}`, raw: fallback };
  };
  const portOf = (flag: string, envName: string, fallback: number): number => {
    const { source, raw } = pick(flag, envName, String(fallback));
    return port(source, raw);
  };

  const group = pick('group', undefined, 'group1');
  if (!isValidGroup(group.raw)) throw new ConfigError(`invalid ${group.source}: ${JSON.stringify(group.raw)} (1 to 16 of A-Z a-z 0-9 _ -)`);
  const host = pick('host', undefined, '127.0.0.1');
  if (host.raw.trim() === '') throw new ConfigError(`invalid ${host.source}: empty`);
  const dataDir = pick('data-dir', 'FDFS_DEV_DATA_DIR', '.data/fastdfs');
  if (dataDir.raw.trim() === '') throw new ConfigError(`invalid ${dataDir.source}: empty`);
  const ipField = pick('ip-field-size', undefined, '15');
  if (ipField.raw !== '15' && ipField.raw !== '45') throw new ConfigError(`invalid ${ipField.source}: ${JSON.stringify(ipField.raw)} (expected 15 or 45)`);

  return {
    kind: 'run',
    options: {
      trackerPort: portOf('tracker-port', 'FDFS_DEV_TRACKER_PORT', 22122),
      storagePort: portOf('storage-port', 'FDFS_DEV_STORAGE_PORT', 23000),
      httpPort: portOf('http-port', 'FDFS_DEV_HTTP_PORT', 8888),
      dataDir: resolve(cwd, dataDir.raw),
      group: group.raw,
      host: host.raw,
      ipFieldSize: ipField.raw === '45' ? 45 : 15,
    },
  };
}
