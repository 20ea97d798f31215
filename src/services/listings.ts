import type { EntityManager } from '@mikro-orm/postgresql';
import type { FilterQuery } from '@mikro-orm/core';
import { Flattr, Thing, type ThingEntity } from '../entities/index.js';
import { thingsOfOwner, type ThingRecord, type UserRecord } from './read-model/rows.js';
import { inDisplayOrder } from './read-model/created-window.js';
import { countFlattrsOnThingFor, flattrsOfUser, flattrsOnThingFor, type FlattrRecord } from './read-model/flattrs.js';

/** What the listing rules read of a user: who it is and whether they hide their flattrs. */
type ListedUser = Pick<UserRecord, 'id' | 'hideFlattrs'>;

/** The listing rules of spec §9 and §12.3-12.7, shared by GraphQL fields and through them by REST. */

/**
 * Which part of a list to read. Lists are in display order (newest first); `after` and `before` are sort keys of
 * items (keyset pagination: a page starts right after the key, whether or not that item still exists, so rows
 * inserted or deleted elsewhere in the list never shift it). `offset` skips items from the start (REST page numbers).
 * `fromEnd` takes the `limit` items closest to `before` (or to the end of the list) instead of those closest to `after`;
 * the rows still come back in display order.
 */
export interface ListWindow<Key> {
  limit: number;
  offset?: number;
  after?: Key | null;
  before?: Key | null;
  fromEnd?: boolean;
}

/** A window by position only (search reads its computed order this way). */
export interface Page {
  offset: number;
  limit: number;
}

/** Sort key of lists ordered by created_at desc, id desc. Timestamps are written with millisecond precision. */
export interface CreatedKey {
  createdAt: Date;
  id: number;
}

export const createdKeyOf = (row: { createdAt: Date; id: number }): CreatedKey => ({ createdAt: row.createdAt, id: row.id });

function thingsOfUserWhere(owner: ListedUser, viewerId: number | null): FilterQuery<ThingEntity> {
  return { owner: owner.id, ...(viewerId === owner.id ? {} : { hidden: false }) } as FilterQuery<ThingEntity>;
}

/** E3/E4: newest first (created_at desc, id desc); hidden things only for their owner (§12.3). Plain records. */
export function thingsOfUser(em: EntityManager, owner: UserRecord, viewerId: number | null, window: ListWindow<CreatedKey>): Promise<ThingRecord[]> {
  return thingsOfOwner(em, owner, viewerId === owner.id, window);
}

export function countThingsOfUser(em: EntityManager, owner: ListedUser, viewerId: number | null): Promise<number> {
  return em.count(Thing, thingsOfUserWhere(owner, viewerId));
}

/** Whether the viewer may see the flattrs a user made (§12.5): not when the user hides them, unless it is them. */
export function flattrsVisible(user: ListedUser, viewerId: number | null): boolean {
  return !user.hideFlattrs || viewerId === user.id;
}

/** E12/E13: newest first; empty for others when the user hides their flattrs (§12.5). Not filtered by `hidden` (D75). Plain records. */
export async function flattrsByUser(em: EntityManager, user: ListedUser, viewerId: number | null, window: ListWindow<CreatedKey>): Promise<FlattrRecord[]> {
  if (!flattrsVisible(user, viewerId)) return [];
  return flattrsOfUser(em, user.id, window);
}

/**
 * The website profile's "Recently flattred": the things of the user's `limit` newest flattrs, newest first, each thing
 * once (where it was flattred last), read with their flattrs in one query. Empty where `flattrsByUser` is.
 */
export async function recentlyFlattredThings(em: EntityManager, user: ListedUser, viewerId: number | null, limit: number): Promise<ThingEntity[]> {
  if (!flattrsVisible(user, viewerId)) return [];
  const flattrs = await em.find(Flattr, { user: user.id }, { populate: ['thing'], orderBy: { createdAt: 'desc', id: 'desc' }, limit });
  const things = new Map<number, ThingEntity>();
  for (const flattr of flattrs) {
    const thing = flattr.thing as ThingEntity;
    if (!things.has(thing.id)) things.set(thing.id, thing);
  }
  return [...things.values()];
}

export async function countFlattrsByUser(em: EntityManager, user: ListedUser, viewerId: number | null): Promise<number> {
  if (!flattrsVisible(user, viewerId)) return 0;
  return em.count(Flattr, { user: user.id });
}

/** E14: newest first; flattrs by users who hide theirs are left out unless the viewer is that user (§12.5). Plain records. */
export function flattrsOnThing(em: EntityManager, thing: Pick<ThingRecord, 'id'>, viewerId: number | null, window: ListWindow<CreatedKey>): Promise<FlattrRecord[]> {
  return flattrsOnThingFor(em, thing.id, viewerId, window);
}

export function countFlattrsOnThing(em: EntityManager, thing: Pick<ThingRecord, 'id'>, viewerId: number | null): Promise<number> {
  return countFlattrsOnThingFor(em, thing.id, viewerId);
}

export type ActivityDirection = 'outgoing' | 'incoming';

/** One derived activity (§12.7): nothing is stored, items are computed from flattrs and things. */
export interface ActivityRecord {
  verb: 'like' | 'post';
  published: Date;
  actorId: number;
  thingId: number;
  /** The row the item derives from: the flattr's id for a like, the thing's id for a post. */
  sourceId: number;
  /** The item's tag id (§13), the second sort key. */
  itemId: string;
}

/** Sort key of activities: published desc, then the tag id desc (compared byte-wise). */
export interface ActivityKey {
  published: Date;
  itemId: string;
}

export const activityKeyOf = (a: ActivityRecord): ActivityKey => ({ published: a.published, itemId: a.itemId });

/** The items of a user's activity list (§12.7) as SQL, with its parameters. */
function activitySql(user: ListedUser, viewerId: number | null, direction: ActivityDirection, tagAuthority: string) {
  const isViewer = viewerId === user.id;
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return '?';
  };
  const tagId = (kind: 'flattr' | 'thing', published: string, username: string, thingId: string) =>
    `'tag:' || ${p(tagAuthority)}::text || ',' || to_char(${published} at time zone 'UTC', 'YYYY-MM-DD') || ':' || ${username} || '/${kind}/' || ${thingId}`;

  let sql: string;
  if (direction === 'outgoing') {
    const likes = `select 'like' as verb, f.created_at as published, f.user_id as actor_id, f.thing_id, f.id as source_id,
        ${tagId('flattr', 'f.created_at', 'u.username', 'f.thing_id')} as item_id
      from flattrs f join users u on u.id = f.user_id
      where f.user_id = ${p(user.id)} ${user.hideFlattrs && !isViewer ? 'and false' : ''}`;
    const posts = `select 'post' as verb, t.created_at as published, t.owner_id as actor_id, t.id as thing_id, t.id as source_id,
        ${tagId('thing', 't.created_at', 'u.username', 't.id')} as item_id
      from things t join users u on u.id = t.owner_id
      where t.owner_id = ${p(user.id)} ${isViewer ? '' : 'and not t.hidden'}`;
    sql = `${likes} union all ${posts}`;
  } else {
    sql = `select 'like' as verb, f.created_at as published, f.user_id as actor_id, f.thing_id, f.id as source_id,
        ${tagId('flattr', 'f.created_at', 'u.username', 'f.thing_id')} as item_id
      from flattrs f join things t on t.id = f.thing_id join users u on u.id = f.user_id
      where t.owner_id = ${p(user.id)} and f.user_id <> t.owner_id
        and (not u.hide_flattrs or u.id = ${p(viewerId ?? 0)})`;
  }
  return { sql, params, p };
}

/**
 * Spec §12.7. outgoing: U's likes plus posts of U's things; incoming: likes on U's things by others.
 * Hidden things are left out of posts and hidden flattrs out of likes unless the viewer may see them.
 * Order: published desc, then the item's tag id desc (compared as JavaScript compares strings, hence
 * COLLATE "C"), so pages are stable.
 */
export async function activitiesOfUser(
  em: EntityManager,
  user: ListedUser,
  viewerId: number | null,
  direction: ActivityDirection,
  tagAuthority: string,
  window: ListWindow<ActivityKey>,
): Promise<ActivityRecord[]> {
  const { sql, params, p } = activitySql(user, viewerId, direction, tagAuthority);
  const conditions: string[] = [];
  if (window.after) {
    const at = p(window.after.published);
    const again = p(window.after.published);
    conditions.push(`(published < ${at} or (published = ${again} and item_id collate "C" < ${p(window.after.itemId)} collate "C"))`);
  }
  if (window.before) {
    const at = p(window.before.published);
    const again = p(window.before.published);
    conditions.push(`(published > ${at} or (published = ${again} and item_id collate "C" > ${p(window.before.itemId)} collate "C"))`);
  }
  const order = window.fromEnd ? 'asc' : 'desc';
  const rows = await em.getConnection().execute<
    { verb: 'like' | 'post'; published: Date; actor_id: number; thing_id: number; source_id: number; item_id: string }[]
  >(
    `select verb, published, actor_id, thing_id, source_id, item_id from (${sql}) items
     ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
     order by published ${order}, item_id collate "C" ${order} offset ${p(window.offset ?? 0)} limit ${p(window.limit)}`,
    params,
  );
  const records = rows.map((r) => ({
    verb: r.verb,
    published: new Date(r.published),
    actorId: r.actor_id,
    thingId: r.thing_id,
    sourceId: r.source_id,
    itemId: r.item_id,
  }));
  return inDisplayOrder(records, window);
}

export async function countActivitiesOfUser(
  em: EntityManager,
  user: ListedUser,
  viewerId: number | null,
  direction: ActivityDirection,
  tagAuthority: string,
): Promise<number> {
  const { sql, params } = activitySql(user, viewerId, direction, tagAuthority);
  const [row] = await em.getConnection().execute<{ count: string | number }[]>(`select count(*) as count from (${sql}) items`, params);
  return Number(row?.count ?? 0);
}
