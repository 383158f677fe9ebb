import { ConfigError } from './config-error.js';

/** A setting's text and where it came from (a flag or a variable, named in problems). */
export interface GivenSetting {
  source: string;
  raw: string;
}

/** A value, or what is wrong with the text it was read from. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export type SettingParser<T> = (given: GivenSetting) => Parsed<T>;

/** The variable as a given setting, or undefined when it is unset or empty: both mean "use the default". */
export function fromEnv(env: NodeJS.ProcessEnv, variable: string): GivenSetting | undefined {
  const raw = env[variable];
  return raw === undefined || raw === '' ? undefined : { source: variable, raw };
}

/**
 * Reads settings one by one and collects every problem, so one start names every bad
 * setting at once rather than the first.
 */
export class SettingsReader {
  private readonly problems: string[] = [];

  /** The parsed value of `given`, or `fallback` when nothing was given (or it was bad: see {@link finish}). */
  read<T>(given: GivenSetting | undefined, parse: SettingParser<T>, fallback: T): T {
    if (given === undefined) return fallback;
    const parsed = parse(given);
    if (parsed.ok) return parsed.value;
    this.problems.push(parsed.problem);
    return fallback;
  }

  /** @throws ConfigError naming every problem found, if there was any */
  finish(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}
