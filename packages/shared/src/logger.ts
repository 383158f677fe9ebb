import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level: string; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    // tokens and cookies never reach the logs
    redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
  });
}
