import type { EntityManager } from '@mikro-orm/postgresql';
import type { RoutedPostgreSqlDriver } from '../../db/replicas.js';

/**
 * A read statement with a fixed text and a name: PostgreSQL parses and plans it once per pooled connection (a
 * prepared statement), and no query builder, entity or unit of work is involved per request. Read paths use these;
 * writes keep entities and the unit of work (src/services/things.ts, flattring.ts, ...).
 */
export interface ReadStatement {
  /** Unique per text: pg keeps one prepared statement per name and connection. */
  name: string;
  /** `$1`-style parameters only: values never enter the text. */
  text: string;
}

interface PgConnection {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
}

interface KnexClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
}

/**
 * Runs a read statement on the request's connection: inside a transaction, the transaction's own connection (knex
 * hands its transaction client that connection); otherwise a pooled connection of the ORM's `read` connection: a
 * read replica's when the request may read one (src/db/replicas.ts), else the primary's. Logged through the ORM's query logger when query logging is on (the tests that count queries see it).
 *
 * Values come back as the ORM's pg connection parses them: timestamptz as text (MikroORM's own setting; map with
 * `new Date(text)`, as the ORM does), integers and booleans as numbers and booleans, text[] as string arrays.
 */
export function readRows<Row>(em: EntityManager, statement: ReadStatement, values: readonly unknown[]): Promise<Row[]> {
  return runStatement<Row>(em, statement, values, 'read');
}

/**
 * A statement on the primary: a write (with `returning`), or a read that must see what this client just wrote
 * (a write's answer read back after its commit). Outside a transaction each statement commits on its own.
 */
export function primaryRows<Row>(em: EntityManager, statement: ReadStatement, values: readonly unknown[]): Promise<Row[]> {
  return runStatement<Row>(em, statement, values, 'write');
}

async function runStatement<Row>(em: EntityManager, statement: ReadStatement, values: readonly unknown[], on: 'read' | 'write'): Promise<Row[]> {
  const transaction = em.getTransactionContext();
  if (transaction) return runOn<Row>(em, transaction as unknown as KnexLike, statement, values);
  const connection = em.getConnection(on);
  const chosen = connection.getKnex() as unknown as KnexLike;
  const primary = on === 'read' ? (em.getConnection('write').getKnex() as unknown as KnexLike) : chosen;
  if (chosen === primary) return runOn<Row>(em, chosen, statement, values);
  try {
    return await runOn<Row>(em, chosen, statement, values);
  } catch (error) {
    // A read replica that went away (or hangs: REPLICA_CONNECT_TIMEOUT_MS) between two health checks: the read is
    // run again on the primary, so no request fails because of it, and a connection failure takes the replica out
    // of rotation at once, so the next reads do not wait on it too (src/db/replicas.ts).
    const driver = em.getDriver() as unknown as Partial<RoutedPostgreSqlDriver>;
    driver.replicaFailed?.(connection, error);
    return runOn<Row>(em, primary, statement, values);
  }
}

interface KnexLike {
  client: KnexClient;
}

async function runOn<Row>(em: EntityManager, knex: KnexLike, statement: ReadStatement, values: readonly unknown[]): Promise<Row[]> {
  const logger = em.config.getLogger();
  const started = logger.isEnabled('query') ? performance.now() : 0;
  const connection = await knex.client.acquireConnection();
  try {
    const { rows } = await connection.query({ name: statement.name, text: statement.text, values });
    if (started) logger.logQuery({ query: statement.text, params: [...values], took: Math.round(performance.now() - started), results: rows.length, level: 'info' });
    return rows as Row[];
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

/** A timestamptz as the ORM's connection returns it (text) → Date, as MikroORM maps it. */
export const timestamp = (value: string | Date): Date => (value instanceof Date ? value : new Date(value));

export const nullableTimestamp = (value: string | Date | null): Date | null => (value === null ? null : timestamp(value));
