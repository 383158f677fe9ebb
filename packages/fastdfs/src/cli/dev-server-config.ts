import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import {
  DEV_SERVER_ENV,
  DEV_SERVER_ENV_DEFAULTS,
  folderParser,
  parseGroup,
  parseHost,
  parseIpFieldSize,
  parsePort,
} from '../config/dev-server-env.js';
import { type GivenSetting, SettingsReader, fromEnv } from '../config/settings-reader.js';
import { DEV_SERVER_DEFAULTS, type DevServerOptions } from '../dev-server/dev-server.js';

export const USAGE = `Usage: fastdfs-dev-server [options]

Runs a FastDFS-compatible tracker, storage server and HTTP reader on loopback.

Options (each falls back to an environment variable, then a default):
  --tracker-port N    tracker port     (${DEV_SERVER_ENV.trackerPort}, ${DEV_SERVER_ENV_DEFAULTS.trackerPort}; 0 = any free port)
  --storage-port N    storage port     (${DEV_SERVER_ENV.storagePort}, ${DEV_SERVER_ENV_DEFAULTS.storagePort})
  --http-port N       HTTP read port   (${DEV_SERVER_ENV.httpPort}, ${DEV_SERVER_ENV_DEFAULTS.httpPort})
  --data-dir DIR      store path       (${DEV_SERVER_ENV.dataDir}, ./${DEV_SERVER_ENV_DEFAULTS.dataDir})
  --group NAME        group name       (${DEV_SERVER_DEFAULTS.group})
  --host ADDRESS      listen address   (${DEV_SERVER_DEFAULTS.host})
  --ip-field-size N   15 or 45: IP field size in tracker answers (${DEV_SERVER_DEFAULTS.ipFieldSize})
  -h, --help          show this help`;

export type CliCommand = { kind: 'help' } | { kind: 'run'; options: DevServerOptions & Required<Pick<DevServerOptions, 'host' | 'group' | 'trackerPort' | 'storagePort' | 'httpPort'>> };

/**
 * Reads flags, then environment variables, then defaults; validates every value once.
 * @throws ConfigError naming every bad flag or variable
 */
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
    throw new ConfigError([error instanceof Error ? error.message : String(error)]);
  }
  if (values.help === true) return { kind: 'help' };

  /** The flag if given, else the variable (when the setting has one and it is set). */
  const given = (flag: string, variable?: string): GivenSetting | undefined => {
    const fromFlag = values[flag];
    if (typeof fromFlag === 'string') return { source: `--${flag}`, raw: fromFlag };
    return variable === undefined ? undefined : fromEnv(env, variable);
  };
  const reader = new SettingsReader();
  const options = {
    trackerPort: reader.read(given('tracker-port', DEV_SERVER_ENV.trackerPort), parsePort, DEV_SERVER_ENV_DEFAULTS.trackerPort),
    storagePort: reader.read(given('storage-port', DEV_SERVER_ENV.storagePort), parsePort, DEV_SERVER_ENV_DEFAULTS.storagePort),
    httpPort: reader.read(given('http-port', DEV_SERVER_ENV.httpPort), parsePort, DEV_SERVER_ENV_DEFAULTS.httpPort),
    dataDir: reader.read(given('data-dir', DEV_SERVER_ENV.dataDir), folderParser(cwd), resolve(cwd, DEV_SERVER_ENV_DEFAULTS.dataDir)),
    group: reader.read(given('group'), parseGroup, DEV_SERVER_DEFAULTS.group),
    host: reader.read(given('host'), parseHost, DEV_SERVER_DEFAULTS.host),
    ipFieldSize: reader.read(given('ip-field-size'), parseIpFieldSize, DEV_SERVER_DEFAULTS.ipFieldSize),
  };
  reader.finish();
  return { kind: 'run', options };
}
