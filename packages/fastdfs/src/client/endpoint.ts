import { invalidArgument } from '../errors/fastdfs-error.js';

export interface Endpoint {
  host: string;
  port: number;
}

export function endpointKey(endpoint: Endpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

function checkPort(port: number, source: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument(`invalid tracker port in ${JSON.stringify(source)}`);
  return port;
}

/** Parses `host:port` (or `[v6]:port`). */
export function parseEndpoint(text: string): Endpoint {
  const trimmed = text.trim();
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(trimmed);
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined) throw invalidArgument(`invalid tracker address ${JSON.stringify(text)}: expected host:port`);
  return { host, port: checkPort(Number(match[3]), text) };
}

/** Accepts `"host:port,host:port"` or a list of `{host, port}`; refuses an empty list. */
export function parseTrackers(trackers: string | ReadonlyArray<Endpoint>): Endpoint[] {
  const list =
    typeof trackers === 'string'
      ? trackers
          .split(',')
          .filter((part) => part.trim() !== '')
          .map(parseEndpoint)
      : trackers.map((t) => {
          if (typeof t.host !== 'string' || t.host === '') throw invalidArgument('tracker host must be a non-empty string');
          return { host: t.host, port: checkPort(t.port, `${t.host}:${t.port}`) };
        });
  if (list.length === 0) throw invalidArgument('at least one tracker is required');
  return list;
}
