/**
 * A bad setting found when a process starts. Each problem names its flag or variable; the
 * process prints them and stops. The one configuration error of the workspace:
 * `@avatar/shared` re-exports it for `loadConfig`.
 */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
