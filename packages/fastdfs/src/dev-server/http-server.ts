import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseFileId } from '../file-id.js';
import { contentTypeFor } from './content-type.js';
import type { DiskStore } from './disk-store.js';
import { listen } from './listen.js';

export interface HttpServerSettings {
  /** The store paths of a group's storage servers; none for a group the dev server lacks. */
  storesOf(group: string): readonly DiskStore[];
}

interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a single `bytes=` range against `size`. Returns undefined when the header is
 * not a single byte range (the file is then served whole, as nginx does for what it
 * ignores) and 'unsatisfiable' when the range lies outside the file.
 */
export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serves `GET|HEAD /<group>/M00/XX/YY/<name>` from the store, like nginx in front of a
 * real storage server: Content-Type by extension, ETag and Last-Modified with 304s, long
 * caching (a file id never changes content), single byte ranges,
 * and 404 for anything that is not a stored file.
 */
export class HttpServer {
  /** Connections accepted since start. */
  accepted = 0;
  private readonly server: Server;

  constructor(private readonly settings: HttpServerSettings) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) this.plain(response, 500, 'Internal Server Error');
        else response.destroy();
      });
    });
    this.server.on('connection', () => this.accepted++);
  }

  listen(host: string, port: number): Promise<number> {
    return listen(this.server, host, port);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** The stored file behind a name, on whichever storage of the group holds it. */
  private async find(group: string, remoteName: string): Promise<{ path: string; info: Stats } | undefined> {
    for (const store of this.settings.storesOf(group)) {
      const filePath = store.pathOf(remoteName);
      if (filePath === undefined) return undefined;
      const info = await stat(filePath).catch(() => undefined);
      if (info === undefined || !info.isFile()) continue;
      // `<name>-m` beside a stored file is its metadata, which nginx setups do not expose.
      if (remoteName.endsWith('-m') && (await store.exists(filePath.slice(0, -2)))) return undefined;
      return { path: filePath, info };
    }
    return undefined;
  }

  private plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
    response.end(response.req.method === 'HEAD' ? undefined : text);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      this.plain(response, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
      return;
    }
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    let file: { group: string; remoteName: string; ext: string };
    try {
      file = parseFileId(path.slice(1));
    } catch {
      this.plain(response, 404, 'Not Found');
      return;
    }
    const { remoteName, ext } = file;
    const found = await this.find(file.group, remoteName);
    if (found === undefined) {
      this.plain(response, 404, 'Not Found');
      return;
    }
    const { path: filePath, info } = found;

    const mtimeSeconds = Math.floor(info.mtimeMs / 1000);
    const etag = `"${mtimeSeconds.toString(16)}-${info.size.toString(16)}"`;
    const headers: Record<string, string> = {
      'Content-Type': contentTypeFor(ext),
      ETag: etag,
      'Last-Modified': new Date(mtimeSeconds * 1000).toUTCString(),
      'Cache-Control': 'public, max-age=31536000, immutable',
      'Accept-Ranges': 'bytes',
      'X-Content-Type-Options': 'nosniff',
    };

    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      response.writeHead(304, headers);
      response.end();
      return;
    }

    const rangeHeader = request.headers.range;
    const ifRange = request.headers['if-range'];
    const range = rangeHeader !== undefined && (ifRange === undefined || ifRange === etag) ? parseRange(rangeHeader, info.size) : undefined;
    if (range === 'unsatisfiable') {
      this.plain(response, 416, 'Range Not Satisfiable', { 'Content-Range': `bytes */${info.size}` });
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? info.size - 1;
    const length = info.size === 0 ? 0 : end - start + 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
    headers['Content-Length'] = String(length);
    response.writeHead(range ? 206 : 200, headers);
    if (request.method === 'HEAD' || length === 0) {
      response.end();
      return;
    }
    const stream = createReadStream(filePath, { start, end });
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  }
}
