import type { EntityManager } from '@mikro-orm/postgresql';
import { readRows, timestamp, type ReadStatement } from './statement.js';
import { createdWindowSql, createdWindowValues, inDisplayOrder, shapeKey, shapeOf, type CreatedWindow, type CreatedWindowShape } from './created-window.js';

export type FlattrSource = 'click' | 'subscription';

/**
 * A flattr as GraphQL shows it: plain values, its user and thing by id (loaded by the fields that need them). Lists
 * read these; a write answers with the entity or the row it wrote, which have the same shape.
 */
export interface FlattrRecord {
  id: number;
  user: { id: number };
  thing: { id: number };
  createdAt: Date;
  period: string;
  source: FlattrSource;
}

interface FlattrColumns {
  id: number;
  user_id: number;
  thing_id: number;
  created_at: string;
  period: string;
  source: FlattrSource;
}

const flattrOf = (row: FlattrColumns): FlattrRecord => ({
  id: row.id,
  user: { id: row.user_id },
  thing: { id: row.thing_id },
  createdAt: timestamp(row.created_at),
  period: row.period,
  source: row.source,
});


/**
 * E14's rule (spec §12.5): a thing's flattrs leave out those of users who hide theirs, unless the viewer is that user.
 * `viewer` is the parameter holding the viewer's id (0, which no user has, when anonymous); `u` is the flattr's user.
 */
const visibleOnThing = (viewer: string) => `(not u.hide_flattrs or f.user_id = ${viewer})`;

/** Whose flattrs: a user's own (E12/E13), or a thing's as a viewer may see them (E14: not those of users who hide theirs). */
type FlattrList = 'of_user' | 'on_thing';

const statements = new Map<string, ReadStatement>();

/**
 * One statement per list and window shape (after/before bounds, direction): at most 16 texts, each prepared once per
 * connection, on the flattrs_user_created_idx or flattrs_thing_created_idx index. Parameters: the user or thing,
 * limit, offset, the viewer (on_thing only), then each bound present (time, id).
 */
function windowStatement(list: FlattrList, shape: CreatedWindowShape): ReadStatement {
  const key = `${list}${shapeKey(shape)}`;
  let statement = statements.get(key);
  if (statement) return statement;
  const { bounds, orderBy } = createdWindowSql('f', shape, list === 'of_user' ? 4 : 5);
  const where = [...(list === 'of_user' ? ['f.user_id = $1'] : ['f.thing_id = $1', visibleOnThing('$4')]), ...bounds];
  const from = list === 'of_user' ? 'flattrs f' : 'flattrs f join users u on u.id = f.user_id';
  statement = {
    name: `read_flattrs_${key}`,
    text: `select f.id, f.user_id, f.thing_id, f.created_at, f.period, f.source from ${from} where ${where.join(' and ')} order by ${orderBy} limit $2 offset $3`,
  };
  statements.set(key, statement);
  return statement;
}

async function flattrWindow(em: EntityManager, list: FlattrList, subject: number, viewerId: number | null, window: CreatedWindow): Promise<FlattrRecord[]> {
  const values: unknown[] = [subject, window.limit, window.offset ?? 0];
  // A viewer id no user has (0) when anonymous: the condition then shows only users who do not hide their flattrs.
  if (list === 'on_thing') values.push(viewerId ?? 0);
  values.push(...createdWindowValues(window));
  const rows = (await readRows<FlattrColumns>(em, windowStatement(list, shapeOf(window)), values)).map(flattrOf);
  return inDisplayOrder(rows, window);
}

/** A window of the flattrs a user made, newest first (who may see them is the caller's rule, listings.ts). */
export function flattrsOfUser(em: EntityManager, userId: number, window: CreatedWindow): Promise<FlattrRecord[]> {
  return flattrWindow(em, 'of_user', userId, null, window);
}

/** A window of a thing's flattrs, newest first, without those of users who hide theirs unless the viewer is that user. */
export function flattrsOnThingFor(em: EntityManager, thingId: number, viewerId: number | null, window: CreatedWindow): Promise<FlattrRecord[]> {
  return flattrWindow(em, 'on_thing', thingId, viewerId, window);
}

const COUNT_ON_THING: ReadStatement = {
  name: 'count_flattrs_on_thing',
  text: `select count(*)::int as n from flattrs f join users u on u.id = f.user_id where f.thing_id = $1 and ${visibleOnThing('$2')}`,
};

/** How many of a thing's flattrs the viewer may see (the rule of `flattrsOnThingFor`). */
export async function countFlattrsOnThingFor(em: EntityManager, thingId: number, viewerId: number | null): Promise<number> {
  const [row] = await readRows<{ n: number }>(em, COUNT_ON_THING, [thingId, viewerId ?? 0]);
  return row!.n;
}
