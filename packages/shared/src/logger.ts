import { pino, type DestinationStream, type Logger } from 'pino';

export type { DestinationStream, Logger };

/** `destination` defaults to stdout; `pnpm start`'s supervisor passes one that labels its lines. */
export function createLogger(options: { level: string; name: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      // tokens and cookies never reach the logs, nor an upload token in a request's query string
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'req.url'], censor: censorSecret },
    },
    options.destination,
  );
}

/** A URL keeps its path and every parameter but `access_token`; any other redacted value is hidden whole. */
function censorSecret(value: unknown, path: string[]): unknown {
  if (path.at(-1) !== 'url' || typeof value !== 'string') return '[Redacted]';
  return value.replace(/([?&]access_token=)[^&#]*/gi, '$1[Redacted]');
}
