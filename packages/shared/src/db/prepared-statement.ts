import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { QueryResultRow } from 'pg';

/**
 * A statement PostgreSQL parses and plans once per connection and afterwards only executes
 * (a named prepared statement). For the statements every job runs: the journal's write costs
 * the server about half the CPU this way (measured 0.19 instead of 0.41 ms), and its text is
 * built once instead of by knex on every call. Everything else stays with knex.
 *
 * The text lists the columns it returns, never `*`: a prepared statement whose result type
 * changes (a column added by a migration while workers run) would fail until its connection
 * is replaced. Behind PgBouncer in transaction pooling, prepared statements need
 * `max_prepared_statements` > 0 (its default since PgBouncer 1.24).
 */
export interface PreparedStatement {
  /** Derived from the text: two texts never share a name on one connection. */
  readonly name: string;
  /** With `$1`, `$2`… placeholders. */
  readonly text: string;
}

export function preparedStatement(text: string): PreparedStatement {
  return { name: `avatar_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
}

/** An identifier (a configured table name) quoted for a statement's text, as knex quotes one. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `columns` as a select or `returning` list, each qualified by `alias` when one is given (statements name their columns, never `*`). */
export function columnList(columns: readonly string[], alias?: string): string {
  return columns.map((column) => (alias === undefined ? column : `${alias}.${column}`)).join(', ');
}

/** What a knex handle's pg connection is asked here. */
interface PgConnection {
  query<Row extends QueryResultRow>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
  __knexUid?: string;
  __knexTxId?: string;
}

/** The part of knex's client used here: its pool (in a transaction, the transaction's one connection) and its events. */
interface KnexClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
  emit(event: 'query', query: object): boolean;
}

/**
 * Runs `statement` on a pooled connection of `db`, or on the transaction's connection when
 * `db` is a transaction, and returns its rows. Errors are pg's, as knex would raise them
 * (same `code` and `constraint`), without knex's copy of the SQL in the message.
 */
export async function runPrepared<Row extends QueryResultRow>(db: Knex, statement: PreparedStatement, values: unknown[]): Promise<Row[]> {
  if (db.isTransaction && (db as Knex.Transaction).isCompleted()) throw new Error('the transaction is already complete');
  const client = db.client as KnexClient;
  const connection = await client.acquireConnection();
  try {
    // announced as knex announces its own queries, so whoever counts statements sees these too
    client.emit('query', { method: 'raw', sql: statement.text, bindings: values, __knexUid: connection.__knexUid, __knexTxId: connection.__knexTxId });
    const result = await connection.query<Row>({ name: statement.name, text: statement.text, values });
    return result.rows;
  } finally {
    await client.releaseConnection(connection);
  }
}
