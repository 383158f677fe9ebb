import { resolve } from 'node:path';
import { isValidGroup } from '../codec/field-rules.js';
import { GROUP_NAME_SIZE } from '../protocol/sizes.js';
import { type Parsed, type SettingParser, SettingsReader, fromEnv } from './settings-reader.js';

/**
 * The dev server's settings that come from the environment when it runs on fixed ports
 * (`pnpm start`, `pnpm fastdfs:dev`), and their variables.
 */
export const DEV_SERVER_ENV = {
  trackerPort: 'FDFS_DEV_TRACKER_PORT',
  storagePort: 'FDFS_DEV_STORAGE_PORT',
  httpPort: 'FDFS_DEV_HTTP_PORT',
  dataDir: 'FDFS_DEV_DATA_DIR',
} as const;

/** Their values when a variable is unset or empty; `dataDir` is relative to the working directory. */
export const DEV_SERVER_ENV_DEFAULTS = {
  trackerPort: 22122,
  storagePort: 23000,
  httpPort: 8888,
  dataDir: '.data/fastdfs',
} as const;

export interface DevServerEnvSettings {
  trackerPort: number;
  storagePort: number;
  httpPort: number;
  /** Absolute. */
  dataDir: string;
}

const invalid = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

/** A port from 0 (any free one) to 65535. */
export const parsePort: SettingParser<number> = ({ source, raw }) =>
  /^\d{1,5}$/.test(raw.trim()) && Number(raw) <= 65535
    ? { ok: true, value: Number(raw) }
    : invalid(`invalid ${source}: ${JSON.stringify(raw)} (expected a port number from 0 to 65535)`);

/** A folder, made absolute against `cwd`. */
export function folderParser(cwd: string): SettingParser<string> {
  return ({ source, raw }) => (raw.trim() === '' ? invalid(`invalid ${source}: empty`) : { ok: true, value: resolve(cwd, raw) });
}

export const parseGroup: SettingParser<string> = ({ source, raw }) =>
  isValidGroup(raw) ? { ok: true, value: raw } : invalid(`invalid ${source}: ${JSON.stringify(raw)} (1 to ${GROUP_NAME_SIZE} of A-Z a-z 0-9 _ -)`);

export const parseHost: SettingParser<string> = ({ source, raw }) => (raw.trim() === '' ? invalid(`invalid ${source}: empty`) : { ok: true, value: raw });

export const parseIpFieldSize: SettingParser<15 | 45> = ({ source, raw }) =>
  raw === '15' || raw === '45' ? { ok: true, value: raw === '45' ? 45 : 15 } : invalid(`invalid ${source}: ${JSON.stringify(raw)} (expected 15 or 45)`);

/**
 * Reads `FDFS_DEV_*`; each one unset or empty takes its default. `cwd` is where a relative
 * `FDFS_DEV_DATA_DIR` starts.
 * @throws ConfigError naming every bad variable
 */
export function readDevServerEnv(env: NodeJS.ProcessEnv, cwd: string): DevServerEnvSettings {
  const reader = new SettingsReader();
  const settings: DevServerEnvSettings = {
    trackerPort: reader.read(fromEnv(env, DEV_SERVER_ENV.trackerPort), parsePort, DEV_SERVER_ENV_DEFAULTS.trackerPort),
    storagePort: reader.read(fromEnv(env, DEV_SERVER_ENV.storagePort), parsePort, DEV_SERVER_ENV_DEFAULTS.storagePort),
    httpPort: reader.read(fromEnv(env, DEV_SERVER_ENV.httpPort), parsePort, DEV_SERVER_ENV_DEFAULTS.httpPort),
    dataDir: reader.read(fromEnv(env, DEV_SERVER_ENV.dataDir), folderParser(cwd), resolve(cwd, DEV_SERVER_ENV_DEFAULTS.dataDir)),
  };
  reader.finish();
  return settings;
}
