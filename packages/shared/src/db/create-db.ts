import knex, { type Knex } from 'knex';

export type Db = Knex;

export interface DbOptions {
  databaseUrl: string;
  poolMax?: number;
  /** How long a query may wait for a connection; short in the API so an outage answers 503 at once. */
  acquireTimeoutMs?: number;
}

export function createDb(options: DbOptions): Db {
  return knex({
    client: 'pg',
    connection: {
      connectionString: options.databaseUrl,
      connectionTimeoutMillis: 3_000,
      statement_timeout: 15_000,
      keepAlive: true,
    },
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 5_000,
  });
}
