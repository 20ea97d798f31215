import type { EntityManager } from '@mikro-orm/postgresql';
import { Flattr, Thing, type FlattrEntity, type ThingEntity, type UserEntity } from '../entities/index.js';

/** The listing rules of spec §9 and §12.3-12.7, shared by GraphQL fields and through them by REST. */

export interface Page {
  offset: number;
  limit: number;
}

/** E3/E4: newest first (created_at desc, id desc); hidden things only for their owner (§12.3). */
export function thingsOfUser(em: EntityManager, owner: UserEntity, viewerId: number | null, page: Page): Promise<ThingEntity[]> {
  const includeHidden = viewerId === owner.id;
  return em.find(Thing, { owner: owner.id, ...(includeHidden ? {} : { hidden: false }) }, {
    orderBy: { createdAt: 'desc', id: 'desc' },
    offset: page.offset,
    limit: page.limit,
  });
}

/** E12/E13: newest first; empty for others when the user hides their flattrs (§12.5). Not filtered by `hidden` (D75). */
export async function flattrsByUser(em: EntityManager, user: UserEntity, viewerId: number | null, page: Page): Promise<FlattrEntity[]> {
  if (user.hideFlattrs && viewerId !== user.id) return [];
  return em.find(Flattr, { user: user.id }, { orderBy: { createdAt: 'desc', id: 'desc' }, offset: page.offset, limit: page.limit });
}

/** E14: newest first; flattrs by users who hide theirs are left out unless the viewer is that user (§12.5). */
export function flattrsOnThing(em: EntityManager, thing: ThingEntity, viewerId: number | null, page: Page): Promise<FlattrEntity[]> {
  return em.find(
    Flattr,
    { thing: thing.id, $or: [{ user: { hideFlattrs: false } }, ...(viewerId === null ? [] : [{ user: viewerId }])] },
    { orderBy: { createdAt: 'desc', id: 'desc' }, offset: page.offset, limit: page.limit },
  );
}

export type ActivityDirection = 'outgoing' | 'incoming';

/** One derived activity (§12.7): nothing is stored, items are computed from flattrs and things. */
export interface ActivityRecord {
  verb: 'like' | 'post';
  published: Date;
  actorId: number;
  thingId: number;
}

/**
 * Spec §12.7. outgoing: U's likes plus posts of U's things; incoming: likes on U's things by others.
 * Hidden things are left out of posts and hidden flattrs out of likes unless the viewer may see them.
 * Order: published desc, then the item's tag id desc (compared as JavaScript compares strings, hence
 * COLLATE "C"), so pages are stable.
 */
export async function activitiesOfUser(
  em: EntityManager,
  user: UserEntity,
  viewerId: number | null,
  direction: ActivityDirection,
  tagAuthority: string,
  page: Page,
): Promise<ActivityRecord[]> {
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
    const likes = `select 'like' as verb, f.created_at as published, f.user_id as actor_id, f.thing_id,
        ${tagId('flattr', 'f.created_at', 'u.username', 'f.thing_id')} as item_id
      from flattrs f join users u on u.id = f.user_id
      where f.user_id = ${p(user.id)} ${user.hideFlattrs && !isViewer ? 'and false' : ''}`;
    const posts = `select 'post' as verb, t.created_at as published, t.owner_id as actor_id, t.id as thing_id,
        ${tagId('thing', 't.created_at', 'u.username', 't.id')} as item_id
      from things t join users u on u.id = t.owner_id
      where t.owner_id = ${p(user.id)} ${isViewer ? '' : 'and not t.hidden'}`;
    sql = `${likes} union all ${posts}`;
  } else {
    sql = `select 'like' as verb, f.created_at as published, f.user_id as actor_id, f.thing_id,
        ${tagId('flattr', 'f.created_at', 'u.username', 'f.thing_id')} as item_id
      from flattrs f join things t on t.id = f.thing_id join users u on u.id = f.user_id
      where t.owner_id = ${p(user.id)} and f.user_id <> t.owner_id
        and (not u.hide_flattrs or u.id = ${p(viewerId ?? 0)})`;
  }
  const rows = await em.getConnection().execute<{ verb: 'like' | 'post'; published: Date; actor_id: number; thing_id: number }[]>(
    `select verb, published, actor_id, thing_id from (${sql}) items
     order by published desc, item_id collate "C" desc offset ${p(page.offset)} limit ${p(page.limit)}`,
    params,
  );
  return rows.map((r) => ({ verb: r.verb, published: new Date(r.published), actorId: r.actor_id, thingId: r.thing_id }));
}
