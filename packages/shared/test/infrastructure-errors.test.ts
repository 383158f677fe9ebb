import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import knex from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInfrastructureError, saysConnectionLost } from '../src/index.js';

/** A TCP server that accepts and never answers: every client waits for a reply that never comes. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

// Each case provokes the error from the real library, so a library upgrade that renames an
// error or rewords a message fails here instead of silently turning an outage into a bad input.
describe('isInfrastructureError, against the real libraries', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(async () => {
    await silent.close();
  });

  it('ioredis with the offline queue off, while disconnected', async () => {
    const redis = new Redis({ port: await closedPort(), lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    const error = await rejection(redis.ping());
    redis.disconnect();
    expect(saysConnectionLost(error.message)).toBe(true);
    expect(isInfrastructureError(error)).toBe(true);
  });

  it('ioredis after the connection is closed', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await redis.connect();
    redis.disconnect();
    const error = await rejection(redis.ping());
    expect(isInfrastructureError(error)).toBe(true);
  });

  it('ioredis giving up its retries, and a command timing out', async () => {
    const retries = new Redis({ port: await closedPort(), maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    retries.on('error', () => {});
    const gaveUp = await rejection(retries.ping());
    retries.disconnect();
    expect(gaveUp.name).toBe('MaxRetriesPerRequestError');
    expect(isInfrastructureError(gaveUp)).toBe(true);

    const slow = new Redis({ port: silent.port, commandTimeout: 100, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    slow.on('error', () => {});
    const timedOut = await rejection(slow.ping());
    slow.disconnect();
    expect(saysConnectionLost(timedOut.message)).toBe(true);
    expect(isInfrastructureError(timedOut)).toBe(true);
  });

  it('pg refused, pg-pool timing out, and knex timing out waiting for a connection', async () => {
    const refused = new pg.Client({ host: '127.0.0.1', port: await closedPort(), user: 'postgres' });
    expect(isInfrastructureError(await rejection(refused.connect()))).toBe(true);

    const pool = new pg.Pool({ host: '127.0.0.1', port: silent.port, user: 'postgres', connectionTimeoutMillis: 100 });
    const poolError = await rejection(pool.query('select 1'));
    await pool.end();
    expect(saysConnectionLost(poolError.message)).toBe(true);
    expect(isInfrastructureError(poolError)).toBe(true);

    const db = knex({ client: 'pg', connection: { host: '127.0.0.1', port: silent.port, user: 'postgres', connectionTimeoutMillis: 300 }, acquireConnectionTimeout: 100, pool: { min: 0, max: 1 } });
    const knexError = await rejection(db.raw('select 1'));
    await db.destroy();
    expect(knexError.name).toBe('KnexTimeoutError');
    expect(isInfrastructureError(knexError)).toBe(true);
  });

  it('pg after its backend is terminated', async () => {
    const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    client.on('error', () => {});
    await client.connect();
    const killed = await rejection(client.query('select pg_terminate_backend(pg_backend_pid())'));
    expect(isInfrastructureError(killed)).toBe(true);
    const after = await rejection(client.query('select 1'));
    expect(isInfrastructureError(after)).toBe(true);
    await client.end().catch(() => {});
  });

  it('is false for bad input and bugs', () => {
    expect(isInfrastructureError(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isInfrastructureError(new TypeError('cannot read properties of undefined'))).toBe(false);
    expect(isInfrastructureError(new Error('Input buffer contains unsupported image format'))).toBe(false);
    expect(isInfrastructureError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }))).toBe(true);
  });
});
