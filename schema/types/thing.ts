import { GraphQLError } from 'graphql';
import { builder, nullWhenUnauthorized } from '../builder.js';
import { CategoryRef, LanguageRef, ThingOwnerViewRef, ThingRef, ThingViewerStateRef, UserRef } from '../refs.js';
import { Flattr, Subscription, Thing, periodOf, type ThingEntity } from '../../src/entities/index.js';
import { referenceData } from '../../src/services/reference-data.js';
import { INVALID_PARAMETERS } from '../../src/services/domain-error.js';
import type { GraphQLContext } from '../context.js';
import { findThingsWithOwners } from '../loaders.js';

export const MAX_THING_IDS = 100;

const categoriesById = new Map(referenceData.categories.map((c) => [c.id, c]));
const languagesById = new Map(referenceData.languages.map((l) => [l.id, l]));

function ownsThing(thing: ThingEntity, ctx: GraphQLContext): boolean {
  return ctx.viewer?.user.id === thing.owner.id;
}

ThingRef.implement({
  description: 'A registered URL that users can flattr (spec §8.3).',
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The numeric thing id used by the REST API.' }),
    url: t.exposeString('url'),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    tags: t.exposeStringList('tags'),
    category: t.field({ type: CategoryRef, resolve: (thing) => categoriesById.get(thing.category.id)! }),
    language: t.field({ type: LanguageRef, resolve: (thing) => languagesById.get(thing.language.id)! }),
    hidden: t.exposeBoolean('hidden', { description: 'Hidden from listings (spec §12.3); still reachable by id.' }),
    image: t.exposeString('image'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    flattrCount: t.exposeInt('flattrsCount', { description: 'Flattrs ever made on the thing.' }),
    flattrUserCount: t.exposeInt('flattrsUserCount', { description: 'Distinct users who ever flattred it.' }),
    owner: t.field({ type: UserRef, resolve: (thing) => thing.owner.id }),
    resourceUrl: t.string({ resolve: (thing, _args, ctx) => `${ctx.config.apiUrl}/things/${thing.id}` }),
    webUrl: t.string({ resolve: (thing, _args, ctx) => `${ctx.config.siteUrl}/thing/${thing.id}` }),
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

ThingViewerStateRef.implement({
  fields: (t) => ({
    flattred: t.loadable({
      type: 'Boolean',
      description: 'The caller flattred this thing in the current period (spec D41).',
      load: async (thingIds: number[], ctx) => {
        const rows = await ctx.em.find(
          Flattr,
          { user: ctx.viewer!.user.id, thing: { $in: thingIds }, period: periodOf(ctx.clock.now()) },
          { fields: ['thing'] },
        );
        const flattred = new Set(rows.map((f) => f.thing.id));
        return thingIds.map((id) => flattred.has(id));
      },
      resolve: (thing) => thing.id,
    }),
    subscribed: t.loadable({
      type: 'Boolean',
      description: 'The caller has a subscription to this thing, active or paused (spec D42).',
      load: async (thingIds: number[], ctx) => {
        const rows = await ctx.em.find(Subscription, { user: ctx.viewer!.user.id, thing: { $in: thingIds } }, { fields: ['thing'] });
        const subscribed = new Set(rows.map((s) => s.thing.id));
        return thingIds.map((id) => subscribed.has(id));
      },
      resolve: (thing) => thing.id,
    }),
  }),
});

ThingOwnerViewRef.implement({
  fields: (t) => ({
    lastFlattrAt: t.expose('lastFlattrAt', { type: 'DateTime', nullable: true, description: 'Newest flattr; null if none.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true, description: 'Last successful update; null if never.' }),
  }),
});

builder.queryFields((t) => ({
  thing: t.field({
    type: ThingRef,
    nullable: true,
    description: 'A thing by its numeric id; hidden things too (spec D47).',
    args: { id: t.arg.int({ required: true }) },
    // The owner comes in the same query: every REST shape of a thing shows it.
    resolve: async (_root, { id }, ctx) => (await findThingsWithOwners(ctx.em, [id]))[0] ?? null,
  }),
  things: t.field({
    type: [ThingRef],
    description: `Things by numeric id, in the order first requested; unknown ids are skipped. At most ${MAX_THING_IDS} ids.`,
    args: { ids: t.arg.intList({ required: true }) },
    resolve: async (_root, { ids }, ctx) => {
      if (ids.length > MAX_THING_IDS) {
        // The catalogue's text (spec §6.2, as the REST facade answers E6); the limit is in the field description.
        throw new GraphQLError(INVALID_PARAMETERS, { extensions: { code: 'invalid_parameters', maxIds: MAX_THING_IDS } });
      }
      const unique = [...new Set(ids)];
      const rows = await findThingsWithOwners(ctx.em, unique);
      const byId = new Map(rows.map((thing) => [thing.id, thing]));
      return unique.flatMap((id) => byId.get(id) ?? []);
    },
  }),
}));
