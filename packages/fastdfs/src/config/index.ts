export { ConfigError } from './config-error.js';
export { DEV_SERVER_ENV, DEV_SERVER_ENV_DEFAULTS, readDevServerEnv } from './dev-server-env.js';
export type { DevServerEnvSettings } from './dev-server-env.js';
