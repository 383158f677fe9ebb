import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A response read off a raw socket: status, lower-cased headers and the body as text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json(): Record<string, unknown>;
}

/**
 * Writes the request bytes itself, so a test controls every byte and its timing. `send`
 * gets the socket and a signal that aborts once the answer has arrived (a slow sender stops
 * there). Write errors after the server has answered (it may close a body it will not
 * read) are expected and ignored; the answer is what the test looks at.
 */
export function rawExchange(
  baseUrl: string,
  send: Buffer | ((socket: net.Socket, answered: AbortSignal) => Promise<void>),
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const answered = new AbortController();
    let received = Buffer.alloc(0);
    let settled = false;

    const finish = (response: RawResponse | Error): void => {
      if (settled) return;
      settled = true;
      answered.abort();
      socket.destroy();
      if (response instanceof Error) reject(response);
      else resolve(response);
    };
    const tryParse = (ended: boolean): void => {
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        if (ended) finish(new Error(`connection closed without an answer (${received.length} bytes)`));
        return;
      }
      const [statusLine = '', ...lines] = received.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = received.subarray(headEnd + 4);
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      if (length !== undefined && body.length < length && !ended) return;
      if (length === undefined && headers['transfer-encoding'] === 'chunked' && !body.includes('0\r\n\r\n') && !ended) return;
      if (length === undefined && headers['transfer-encoding'] !== 'chunked' && !ended) return;
      const text = length !== undefined ? body.subarray(0, length).toString('utf8') : dechunk(body, headers['transfer-encoding'] === 'chunked');
      finish({ status: Number(statusLine.split(' ')[1]), headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
    };

    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    socket.on('error', (error) => {
      // ECONNRESET/EPIPE once the server stops reading: whatever arrived is still the answer
      if (received.length > 0) tryParse(true);
      else if (!settled) finish(error);
    });
    socket.once('connect', () => {
      if (Buffer.isBuffer(send)) {
        socket.write(send, () => undefined);
        return;
      }
      send(socket, answered.signal).catch((error: unknown) => {
        if (!answered.signal.aborted && received.length === 0) finish(error as Error);
      });
    });
  });
}

function dechunk(body: Buffer, chunked: boolean): string {
  if (!chunked) return body.toString('utf8');
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(body.toString('latin1', at, lineEnd), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** An HTTP/1.1 request head (the blank line included) for a raw exchange. */
export function requestHead(method: string, path: string, headers: Record<string, string | number>): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

export interface MultipartPart {
  name: string;
  /** Present for a file part. */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
  /** Extra part headers, verbatim. */
  headers?: string[];
}

/** A multipart/form-data body built byte by byte, for the shapes `FormData` will not produce. */
export function multipartBody(parts: MultipartPart[], boundary = `----hostile${randomBytes(8).toString('hex')}`): { body: Buffer; contentType: string; boundary: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const headers = [`Content-Disposition: ${disposition}`, ...(part.contentType ? [`Content-Type: ${part.contentType}`] : []), ...(part.headers ?? [])];
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data, 'utf8'));
    chunks.push(Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}

/** A complete POST with a fixed body over a raw socket. */
export function rawPost(baseUrl: string, path: string, headers: Record<string, string | number>, body: Buffer): Promise<RawResponse> {
  return rawExchange(baseUrl, Buffer.concat([requestHead('POST', path, { ...headers, 'content-length': body.length }), body]));
}

/**
 * Polls `dir` until it holds no files (or `timeoutMs` passes) and returns what is left, so
 * the caller asserts on the list: an aborted stream's partial file is removed asynchronously.
 */
export async function filesLeftIn(dir: string, timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = await readdir(dir).catch(() => []);
    if (names.length === 0 || Date.now() > deadline) return names;
    await sleep(50);
  }
}
