import http from 'node:http';

export interface StreamFrame {
  id: string | undefined;
  event: string | undefined;
  data: Record<string, unknown> | undefined;
}

export interface EventStreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  frames: StreamFrame[];
  /** comment lines (`: ...`), the heartbeats */
  comments: string[];
  /** the `retry:` the server asked for */
  retry: number | undefined;
}

/** Parses a complete text/event-stream body into its frames (the subset of the format the API writes). */
export function parseEventStream(text: string): Pick<EventStreamResponse, 'frames' | 'comments' | 'retry'> {
  const frames: StreamFrame[] = [];
  const comments: string[] = [];
  let retry: number | undefined;
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    const frame: StreamFrame = { id: undefined, event: undefined, data: undefined };
    let hasField = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('retry: ')) retry = Number(line.slice(7));
      else if (line.startsWith('id: ')) [frame.id, hasField] = [line.slice(4), true];
      else if (line.startsWith('event: ')) [frame.event, hasField] = [line.slice(7), true];
      else if (line.startsWith('data: ')) [frame.data, hasField] = [JSON.parse(line.slice(6)) as Record<string, unknown>, true];
    }
    if (hasField) frames.push(frame);
  }
  return { frames, comments, retry };
}

/**
 * GETs an event stream and reads it until the server ends it (or `timeoutMs`, which fails),
 * as a plain HTTP client: the test sees exactly the bytes an EventSource would.
 */
export function readEventStream(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<EventStreamResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, ...parseEventStream(text) });
      });
      response.on('error', reject);
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`event stream ${url} still open after ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
