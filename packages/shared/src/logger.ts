import { pino, type DestinationStream, type Logger } from 'pino';

export type { DestinationStream, Logger };

/** `destination` defaults to stdout; `pnpm start`'s supervisor passes one that labels its lines. */
export function createLogger(options: { level: string; name: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      // tokens and cookies never reach the logs
      redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
    },
    options.destination,
  );
}
