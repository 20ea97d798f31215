import DataLoader from 'dataloader';
import { createContextCache } from '@pothos/core';
import { builder, nullWhenUnauthorized } from '../builder.js';
import { CategoryRef, LanguageRef, ThingOwnerViewRef, ThingRef, ThingViewerStateRef, UserRef } from '../refs.js';
import { periodOf } from '../../src/entities/index.js';
import { ownerRecordOf, type ThingRecord } from '../../src/services/read-model/rows.js';
import { flattredThingIds, subscribedThingIds } from '../../src/services/read-model/viewer-state.js';
import { INVALID_PARAMETERS } from '../../src/services/domain-error.js';
import { badUserInput } from '../errors.js';
import type { GraphQLContext } from '../context.js';
import { findThingsWithOwners } from '../loaders.js';

export const MAX_THING_IDS = 100;


function ownsThing(thing: ThingRecord, ctx: GraphQLContext): boolean {
  return ctx.viewer?.user.id === thing.owner.id;
}

ThingRef.implement({
  description: 'A registered URL that users can flattr.',
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The numeric thing id the REST API uses.' }),
    url: t.exposeString('url', { description: 'The URL the thing stands for; unique.' }),
    title: t.exposeString('title', { description: 'The title (the url when none was given).' }),
    description: t.exposeString('description', { description: 'The description, plain text.' }),
    tags: t.exposeStringList('tags', { description: 'Tags, in the order given.' }),
    // The `{ id }` (or the entity's reference) as is: no resolver per thing; Category.text and Language.text look up the text.
    category: t.expose('category', { type: CategoryRef, description: 'The category.' }),
    language: t.expose('language', { type: LanguageRef, description: 'The language.' }),
    hidden: t.exposeBoolean('hidden', { description: 'Hidden from listings, search and `node` for everybody but the owner; still reachable by its numeric id with `thing(id:)`.' }),
    image: t.exposeString('image', { description: 'URL of an image, "" if none.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the thing was created.' }),
    flattrCount: t.exposeInt('flattrsCount', { description: 'Flattrs ever made on the thing.' }),
    flattrUserCount: t.exposeInt('flattrsUserCount', { description: 'Distinct users who ever flattred it.' }),
    // The owner read with the thing as is; otherwise (things from writes) loaded by id.
    owner: t.field({ type: UserRef, description: 'The user who owns the thing.', resolve: (thing) => ownerRecordOf(thing) ?? thing.owner.id }),
    resourceUrl: t.string({ description: 'The REST v2 resource URL.', resolve: (thing, _args, ctx) => `${ctx.config.apiUrl}/things/${thing.id}` }),
    webUrl: t.string({ description: 'The page of the thing on the website.', resolve: (thing, _args, ctx) => `${ctx.config.siteUrl}/thing/${thing.id}` }),
    viewerState: t.field({
      type: ThingViewerStateRef,
      nullable: true,
      description: 'What the caller has done with this thing; null for anonymous callers.',
      authScopes: { authenticated: true },
      ...nullWhenUnauthorized,
      resolve: (thing) => thing,
    }),
    ownerView: t.field({
      type: ThingOwnerViewRef,
      nullable: true,
      description: "Fields only the thing's owner sees; null for everybody else.",
      authScopes: (thing, _args, ctx) => ownsThing(thing, ctx),
      ...nullWhenUnauthorized,
      resolve: (thing) => thing,
    }),
  }),
});

/** Per request: which things the viewer flattred this period / subscribes to, batched per tick. */
const viewerFlattred = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader(async (thingIds: readonly number[]) => {
      const flattred = await flattredThingIds(ctx.em, ctx.viewer!.user.id, thingIds, periodOf(ctx.clock.now()));
      return thingIds.map((id) => flattred.has(id));
    }),
);
const viewerSubscribed = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader(async (thingIds: readonly number[]) => {
      const subscribed = await subscribedThingIds(ctx.em, ctx.viewer!.user.id, thingIds);
      return thingIds.map((id) => subscribed.has(id));
    }),
);

// Read in the thing's own statement when it was read for the viewer (src/services/read-model/rows.ts); otherwise
// (things from writes or search) batched.
ThingViewerStateRef.implement({
  description: 'What the caller has done with a thing.',
  fields: (t) => ({
    flattred: t.boolean({
      description: 'The caller flattred this thing in the current month (UTC).',
      resolve: (thing, _args, ctx) => thing.viewer?.flattred ?? viewerFlattred(ctx).load(thing.id),
    }),
    subscribed: t.boolean({
      description: 'The caller has a subscription to this thing, active or paused.',
      resolve: (thing, _args, ctx) => thing.viewer?.subscribed ?? viewerSubscribed(ctx).load(thing.id),
    }),
  }),
});

ThingOwnerViewRef.implement({
  description: "Fields of a thing that only its owner sees.",
  fields: (t) => ({
    lastFlattrAt: t.expose('lastFlattrAt', { type: 'DateTime', nullable: true, description: 'Newest flattr; null if none.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true, description: 'Last successful update; null if never.' }),
  }),
});

builder.queryFields((t) => ({
  thing: t.field({
    type: ThingRef,
    nullable: true,
    description:
      'A thing by its numeric database id (the id of the REST API); hidden things too, as REST shows them. ' +
      'For global ids use `node`.',
    args: { id: t.arg.int({ required: true, description: 'The numeric thing id (Thing.databaseId), not a global id.' }) },
    // The owner comes in the same query: every REST shape of a thing shows it.
    resolve: async (_root, { id }, ctx) => (await findThingsWithOwners(ctx, [id]))[0] ?? null,
  }),
  things: t.field({
    type: [ThingRef],
    description: `Things by numeric database id, in the order first requested; unknown ids are skipped. At most ${MAX_THING_IDS} ids.`,
    args: { ids: t.arg.intList({ required: true, description: `Numeric thing ids (Thing.databaseId, not global ids), at most ${MAX_THING_IDS}.` }) },
    resolve: async (_root, { ids }, ctx) => {
      if (ids.length > MAX_THING_IDS) {
        // The text the REST API answers for too many ids; the limit is in the field description and in maxIds.
        throw badUserInput(INVALID_PARAMETERS, 'ids', { maxIds: MAX_THING_IDS });
      }
      const unique = [...new Set(ids)];
      const rows = await findThingsWithOwners(ctx, unique);
      const byId = new Map(rows.map((thing) => [thing.id, thing]));
      return unique.flatMap((id) => byId.get(id) ?? []);
    },
  }),
}));
