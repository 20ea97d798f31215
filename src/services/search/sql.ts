import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { isConnectionFailure } from '../../db/replicas.js';
import type { TagExpression } from './tag-expression.js';

/**
 * SQL fragments that carry their own bound values. Text comes only from the literal parts of `sql` templates
 * (and the constant `raw` fragments); every interpolated value becomes a `?` placeholder with its value kept
 * beside it, and fragments nest with their values in text order. So no request value is ever part of the
 * SQL text, and placeholders cannot get out of step with their values.
 */
export class Sql {
  constructor(
    readonly text: string,
    readonly values: readonly SqlValue[],
  ) {}
}

export type SqlValue = string | number | Date;

export function sql(strings: TemplateStringsArray, ...args: (Sql | SqlValue)[]): Sql {
  let text = strings[0]!;
  const values: SqlValue[] = [];
  args.forEach((arg, i) => {
    if (arg instanceof Sql) {
      text += arg.text;
      values.push(...arg.values);
    } else {
      text += '?';
      values.push(arg);
    }
    text += strings[i + 1]!;
  });
  return new Sql(text, values);
}

/** A constant SQL fragment (never built from request data). */
export const raw = (text: string) => new Sql(text, []);

export function join(parts: readonly Sql[], separator: string): Sql {
  return new Sql(parts.map((p) => p.text).join(separator), parts.flatMap((p) => p.values));
}

/** `?, ?, ?` for a non-empty list (the driver would expand an array value on its own). */
export function list(values: readonly SqlValue[]): Sql {
  if (values.length === 0) throw new Error('list needs at least one value');
  return join(values.map((v) => sql`${v}`), ', ');
}

/**
 * Runs a fragment with server-side bind parameters: knex turns each `?` into `$n` and the values travel
 * apart from the text (unlike `Connection.execute`, which inlines them client-side).
 *
 * Inside a transaction, on its connection. Otherwise on the request's read connection: a read replica for an
 * anonymous or read-only request when there are replicas (src/db/replicas.ts), else the primary. The caches
 * stay exact there: each result is read with the generation of the same snapshot, and a replica behind the server
 * an entry came from makes it count again (changes.ts). A replica that fails to answer is replaced by the primary.
 */
export async function query<Row>(em: EntityManager, fragment: Sql): Promise<Row[]> {
  const logger = em.config.getLogger();
  const run = async (knex: Knex, tx?: Knex.Transaction) => {
    const started = logger.isEnabled('query') ? performance.now() : 0;
    const q = knex.raw(fragment.text, fragment.values as never[]);
    if (tx) q.transacting(tx);
    const { rows } = (await q) as { rows: Row[] };
    // Logged like the ORM's own statements, so that query logs (and the tests counting statements) see search's.
    if (started) logger.logQuery({ query: fragment.text, params: [...fragment.values], took: Math.round(performance.now() - started), results: rows.length, level: 'info' });
    return rows;
  };
  const primary = em.getKnex('write');
  const tx = em.getTransactionContext<Knex.Transaction>();
  if (tx) return run(primary, tx);
  const read = em.getKnex('read');
  if (read === primary) return run(primary);
  try {
    return await run(read);
  } catch (error) {
    if (!isConnectionFailure(error)) throw error;
    return run(primary);
  }
}

/** A LIKE pattern that matches `text` literally (backslash is PostgreSQL's default LIKE escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Tag expression → boolean SQL over the thing alias `t`: TAG is `t.lower_tags @> array[tag]`, which the GIN
 * index on `lower_tags` serves (bitmap AND/OR for the operators). The tag is lower-cased here with
 * JavaScript's toLowerCase (spec §2.3), the column by `flattr_lower` (ICU root, the same mapping).
 */
export function compileTagExpression(expression: TagExpression): Sql {
  switch (expression.kind) {
    case 'tag':
      return sql`t.lower_tags @> array[${expression.tag.toLowerCase()}::text]`;
    case 'not':
      return sql`not (${compileTagExpression(expression.operand)})`;
    case 'and':
      return sql`(${join(expression.operands.map(compileTagExpression), ' and ')})`;
    case 'or':
      return sql`(${join(expression.operands.map(compileTagExpression), ' or ')})`;
  }
}
