import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FastdfsClient, FastdfsError } from '../src/index.js';
import { encodeHeader } from '../src/protocol/header.js';

/** A fake tracker whose answer to every request is scripted by the test. */
async function fakeTracker(answer: (socket: Socket, request: Buffer) => void): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (request: Buffer) => answer(socket, request));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0, accepted: () => accepted };
}

const servers: Server[] = [];
const sockets: Socket[] = [];
const clients: FastdfsClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function failureAgainst(answer: (socket: Socket, request: Buffer) => void, call: (client: FastdfsClient) => Promise<unknown> = (c) => c.activeTest()) {
  const fake = await fakeTracker(answer);
  servers.push(fake.server);
  const client = new FastdfsClient({ trackers: `127.0.0.1:${fake.port}`, networkTimeoutMs: 300, connectTimeoutMs: 300 });
  clients.push(client);
  const error = await call(client).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FastdfsError);
  // The connection that carried the bad answer is gone: the next call opens a new one.
  await call(client).catch(() => undefined);
  return { error: error as FastdfsError, accepted: fake.accepted() };
}

describe('the client facing malformed responses', () => {
  it('rejects a response with the wrong command byte as a protocol error and closes that connection', async () => {
    const { error, accepted } = await failureAgainst((socket) => socket.write(encodeHeader({ bodyLength: 0, command: 99 })));
    expect(error).toMatchObject({ kind: 'protocol', command: 111, transient: true });
    expect(accepted).toBe(2);
  });

  it('rejects a declared body larger than the answer can be', async () => {
    const { error, accepted } = await failureAgainst((socket) => socket.write(encodeHeader({ bodyLength: 1_000_000, command: 100 })), (c) => c.upload(Buffer.from('x'), { ext: 'jpg' }));
    expect(error).toMatchObject({ kind: 'protocol', command: 101 });
    expect(accepted).toBe(2);
  });

  it('rejects a tracker answer of a length that is neither the 15- nor the 45-byte form', async () => {
    const { error, accepted } = await failureAgainst((socket) => socket.write(Buffer.concat([encodeHeader({ bodyLength: 41, command: 100 }), Buffer.alloc(41)])), (c) => c.upload(Buffer.from('x'), { ext: 'jpg' }));
    expect(error).toMatchObject({ kind: 'protocol', command: 101 });
    expect(accepted).toBe(2);
  });

  it('rejects a short response followed by a close', async () => {
    const { error } = await failureAgainst((socket) => socket.end(Buffer.concat([encodeHeader({ bodyLength: 40, command: 100 }), Buffer.alloc(12)])), (c) => c.upload(Buffer.from('x'), { ext: 'jpg' }));
    expect(error).toMatchObject({ kind: 'closed', transient: true });
  });

  it('times out on a response that stops half-way, never hangs', async () => {
    const { error, accepted } = await failureAgainst((socket) => socket.write(encodeHeader({ bodyLength: 0, command: 100 }).subarray(0, 4)));
    expect(error).toMatchObject({ kind: 'timeout', transient: true });
    expect(accepted).toBe(2);
  });

  it('rejects bytes beyond the end of a response', async () => {
    const { error, accepted } = await failureAgainst((socket) => socket.write(Buffer.concat([encodeHeader({ bodyLength: 0, command: 100 }), Buffer.from('extra')])));
    expect(error).toMatchObject({ kind: 'protocol' });
    expect(accepted).toBe(2);
  });

  it('reports a server status with its errno', async () => {
    const { error, accepted } = await failureAgainst((socket) => socket.write(encodeHeader({ bodyLength: 0, command: 100, status: 28 })), (c) => c.upload(Buffer.from('x'), { ext: 'jpg' }));
    expect(error).toMatchObject({ kind: 'status', status: 28, command: 101, transient: true });
    // A tracker keeps the connection after an error status, and so does the client.
    expect(accepted).toBe(1);
  });
});
