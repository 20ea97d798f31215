import { brandWithType } from '@pothos/core';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { badUserInput } from './errors.js';
import { decodeGlobalId, type DecodedGlobalId, type NodeTypeName } from './global-id.js';
import { findThingsWithOwners } from './loaders.js';
import { Flattr, Subscription, type FlattrEntity } from '../src/entities/index.js';
import { ownerRecordOf, usersById, type ThingRecord } from '../src/services/read-model/rows.js';
import { flattrsVisible, type ActivityRecord } from '../src/services/listings.js';

/**
 * `node(id:)` and `nodes(ids:)`: any object by its global id, with the visibility rules of the lists that show it.
 * A well-formed id of an object that does not exist, or that the caller may not see, resolves to null; a malformed
 * id, or one of an unknown type, is BAD_USER_INPUT.
 *
 * Visibility: users are public; a hidden thing only for its owner (as in the lists; `thing(id:)` keeps the
 * REST rule that a thing's number reaches it even hidden); a flattr (and a like activity) unless its user hides their
 * flattrs and is not the caller; a post activity like its thing; a subscription only for its own user with scope
 * flattr.
 */

export const MAX_NODE_IDS = 100;

type Loaded = object | null;

/** Loads the objects of one type, by their decoded keys, in the order given. */
type TypeLoader = (keys: (number | string)[][], ctx: GraphQLContext) => Promise<Loaded[]>;

const viewerIdOf = (ctx: GraphQLContext) => ctx.viewer?.user.id ?? null;

async function visibleThings(ids: number[], ctx: GraphQLContext): Promise<Map<number, ThingRecord>> {
  const rows = await findThingsWithOwners(ctx, [...new Set(ids)]);
  const viewerId = viewerIdOf(ctx);
  return new Map(rows.filter((t) => !t.hidden || t.owner.id === viewerId).map((t) => [t.id, t]));
}

async function visibleFlattrs(ids: number[], ctx: GraphQLContext): Promise<Map<number, FlattrEntity>> {
  if (ids.length === 0) return new Map();
  const rows = await ctx.em.find(Flattr, { id: { $in: [...new Set(ids)] } }, { populate: ['user'] });
  const viewerId = viewerIdOf(ctx);
  return new Map(rows.filter((f) => flattrsVisible(f.user, viewerId)).map((f) => [f.id, f]));
}

const LOADERS: Record<NodeTypeName, TypeLoader> = {
  User: async (keys, ctx) => {
    const ids = keys.map((k) => k[0] as number);
    const rows = await usersById(ctx.em, [...new Set(ids)]);
    const byId = new Map(rows.map((u) => [u.id, u]));
    return ids.map((id) => byId.get(id) ?? null);
  },
  Thing: async (keys, ctx) => {
    const ids = keys.map((k) => k[0] as number);
    const byId = await visibleThings(ids, ctx);
    return ids.map((id) => byId.get(id) ?? null);
  },
  Flattr: async (keys, ctx) => {
    const ids = keys.map((k) => k[0] as number);
    const byId = await visibleFlattrs(ids, ctx);
    return ids.map((id) => byId.get(id) ?? null);
  },
  ThingSubscription: async (keys, ctx) => {
    const viewer = ctx.viewer;
    if (!viewer?.scopes.has('flattr')) return keys.map(() => null);
    const own = keys.filter((k) => k[0] === viewer.user.id).map((k) => k[1] as number);
    const rows = own.length === 0 ? [] : await ctx.em.find(Subscription, { user: viewer.user.id, thing: { $in: [...new Set(own)] } });
    const byThing = new Map(rows.map((s) => [s.thing.id, s]));
    return keys.map((k) => (k[0] === viewer.user.id ? (byThing.get(k[1] as number) ?? null) : null));
  },
  Activity: async (keys, ctx) => {
    const likes = await visibleFlattrs(keys.filter((k) => k[0] === 'like').map((k) => k[1] as number), ctx);
    const posts = await visibleThings(keys.filter((k) => k[0] === 'post').map((k) => k[1] as number), ctx);
    return keys.map(([verb, id]): ActivityRecord | null => {
      if (verb === 'like') {
        const f = likes.get(id as number);
        return f ? activityOfFlattr(f, ctx) : null;
      }
      const t = posts.get(id as number);
      return t ? activityOfThing(t, ctx) : null;
    });
  },
};

/** The tag id of an activity item (§13), as listings.ts computes it in SQL. */
function itemId(ctx: GraphQLContext, kind: 'flattr' | 'thing', published: Date, username: string, thingId: number): string {
  return `tag:${ctx.config.tagAuthority},${published.toISOString().slice(0, 10)}:${username}/${kind}/${thingId}`;
}

function activityOfFlattr(f: FlattrEntity, ctx: GraphQLContext): ActivityRecord {
  return { verb: 'like', published: f.createdAt, actorId: f.user.id, thingId: f.thing.id, sourceId: f.id, itemId: itemId(ctx, 'flattr', f.createdAt, f.user.username, f.thing.id) };
}

function activityOfThing(t: ThingRecord, ctx: GraphQLContext): ActivityRecord {
  return { verb: 'post', published: t.createdAt, actorId: t.owner.id, thingId: t.id, sourceId: t.id, itemId: itemId(ctx, 'thing', t.createdAt, ownerRecordOf(t)!.username, t.id) };
}

/** Resolves decoded ids, one query per type whatever their number; each object is branded with its type. */
async function resolveNodes(ids: DecodedGlobalId[], ctx: GraphQLContext): Promise<Loaded[]> {
  const results: Loaded[] = ids.map(() => null);
  const byType = new Map<NodeTypeName, number[]>();
  ids.forEach((id, index) => byType.set(id.typename, [...(byType.get(id.typename) ?? []), index]));
  await Promise.all(
    [...byType].map(async ([typename, indexes]) => {
      const loaded = await LOADERS[typename](indexes.map((i) => ids[i]!.keys), ctx);
      loaded.forEach((value, j) => {
        if (value === null) return;
        brandWithType(value, typename as never);
        results[indexes[j]!] = value;
      });
    }),
  );
  return results;
}

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description:
      'Any object by its global id. Null when the object does not exist or is not visible to the caller; a malformed ' +
      'id, or one of an unknown type, fails with code BAD_USER_INPUT.',
    args: { id: t.arg.id({ required: true, description: 'A global id, as read from an `id` field.' }) },
    resolve: async (_root, { id }, ctx) => (await resolveNodes([decodeGlobalId(String(id), 'id')], ctx))[0] as never,
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    description:
      `Objects by global id, in the order given, null for each one that does not exist or is not visible (at most ${MAX_NODE_IDS} ids). ` +
      'A malformed id, or one of an unknown type, fails the whole field with code BAD_USER_INPUT.',
    args: { ids: t.arg.idList({ required: true, description: 'Global ids, as read from `id` fields.' }) },
    resolve: async (_root, { ids }, ctx) => {
      if (ids.length > MAX_NODE_IDS) throw badUserInput(`At most ${MAX_NODE_IDS} ids`, 'ids', { maxIds: MAX_NODE_IDS });
      return (await resolveNodes(ids.map((id) => decodeGlobalId(String(id), 'ids')), ctx)) as never;
    },
  }),
}));
