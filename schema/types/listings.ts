import { resolveOffsetConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { FlattrRef, ThingRef, UserRef } from '../refs.js';
import type { GraphQLContext } from '../context.js';
import { flattrsByUser, flattrsOnThing, thingsOfUser, type Page } from '../../src/services/listings.js';

/** Connections are offset-based: REST's page/count map onto first/after (spec §4.5). */
function offsetPage<T>(args: DefaultConnectionArguments, ctx: GraphQLContext, load: (page: Page) => Promise<readonly T[]>) {
  return resolveOffsetConnection({ args, defaultSize: 30, maxSize: ctx.config.maxPageSize }, load);
}

builder.objectField(UserRef, 'things', (t) =>
  t.connection({
    type: ThingRef,
    description: "The user's things, newest first; hidden ones only for the user themself.",
    resolve: (user, args, ctx) =>
      offsetPage(args, ctx, (page) => thingsOfUser(ctx.em, user, ctx.viewer?.user.id ?? null, page)),
  }),
);

builder.objectField(UserRef, 'flattrs', (t) =>
  t.connection({
    type: FlattrRef,
    description: 'Flattrs the user made, newest first; empty for others when the user hides their flattrs.',
    resolve: (user, args, ctx) =>
      offsetPage(args, ctx, (page) => flattrsByUser(ctx.em, user, ctx.viewer?.user.id ?? null, page)),
  }),
);

builder.objectField(ThingRef, 'flattrs', (t) =>
  t.connection({
    type: FlattrRef,
    description: 'Flattrs on the thing, newest first, without those of users who hide their flattrs.',
    resolve: (thing, args, ctx) =>
      offsetPage(args, ctx, (page) => flattrsOnThing(ctx.em, thing, ctx.viewer?.user.id ?? null, page)),
  }),
);
