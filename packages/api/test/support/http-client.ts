import { setTimeout as sleep } from 'node:timers/promises';

export interface UploadResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a multipart upload over real HTTP, as a browser or curl would; the answer parsed as JSON. */
export async function postAvatar(
  baseUrl: string,
  userId: number | string,
  token: string | undefined,
  file: Buffer,
  options: UploadOptions = {},
): Promise<UploadResponse> {
  const { status, headers, text } = await postAvatarText(baseUrl, userId, token, file, options);
  return { status, headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function getJson(url: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export interface Snapshot {
  id: string;
  status: string;
  progress: number;
  avatarUrl: string | null;
  variants: Array<{ size: number; url: string }>;
  error: { code: string; message: string } | null;
}

/** Polls the status URL until the upload is terminal (or `timeoutMs` passes). */
export async function waitForTerminal(baseUrl: string, uploadId: string, token: string, timeoutMs = 30_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson(`${baseUrl}/v1/uploads/${uploadId}`, token);
    const snapshot = body as unknown as Snapshot;
    if (['done', 'failed', 'superseded'].includes(snapshot.status)) return snapshot;
    if (Date.now() > deadline) throw new Error(`upload ${uploadId} still ${snapshot.status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function fetchBytes(url: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
}

export interface TextResponse {
  status: number;
  headers: Headers;
  contentType: string | null;
  text: string;
}

export interface UploadOptions {
  contentType?: string;
  filename?: string;
  field?: string;
  headers?: Record<string, string>;
}

/** Like `postAvatar`, but keeps the body as text, for answers that may not be JSON at all. */
export async function postAvatarText(
  baseUrl: string,
  userId: number | string,
  token: string | undefined,
  file: Buffer,
  options: UploadOptions = {},
): Promise<TextResponse> {
  const form = new FormData();
  form.append(options.field ?? 'file', new Blob([new Uint8Array(file)], { type: options.contentType ?? 'image/jpeg' }), options.filename ?? 'photo.jpg');
  const response = await fetch(`${baseUrl}/v1/users/${userId}/avatar`, {
    method: 'POST',
    body: form,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
  });
  return { status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), text: await response.text() };
}

/** A GET whose body is kept as text. */
export async function getText(url: string, headers: Record<string, string> = {}): Promise<TextResponse> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  return { status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), text: await response.text() };
}
