import { builder } from '../builder.js';
import { FlattrRef, ThingRef, UserRef } from '../refs.js';
import { keysetConnection, type KeysetList } from '../connections.js';
import type { GraphQLContext } from '../context.js';
import { prefetchedThings } from '../prefetched-things.js';
import {
  countFlattrsByUser,
  countFlattrsOnThing,
  countThingsOfUser,
  createdKeyOf,
  flattrsByUser,
  flattrsOnThing,
  thingsOfUser,
  type CreatedKey,
  type ListWindow,
} from '../../src/services/listings.js';

/** `offset`: page numbers for clients that read page N directly (the REST v2 facade); prefer cursors. */
export const offsetArgDescription =
  'Skip this many items from the start (goes with `first` only). For clients that number their pages, such as the ' +
  'REST v2 API; a page read by offset shifts when items are added or removed ahead of it, so prefer cursors.';

/** Keys of lists ordered by (createdAt desc, id desc). */
export function createdAtList<Item extends { createdAt: Date; id: number }>(
  load: (window: ListWindow<CreatedKey>) => Promise<Item[]>,
  count: () => Promise<number>,
): KeysetList<Item, CreatedKey> {
  return {
    keyOf: createdKeyOf,
    encodeKey: (key) => [key.createdAt.toISOString(), key.id],
    decodeKey: (raw) => {
      const [at, id] = raw;
      if (raw.length !== 2 || typeof at !== 'string' || typeof id !== 'number' || !Number.isSafeInteger(id)) return null;
      const createdAt = new Date(at);
      return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id };
    },
    load,
    count,
  };
}

const viewerIdOf = (ctx: GraphQLContext) => ctx.viewer?.user.id ?? null;

builder.objectField(UserRef, 'things', (t) =>
  t.connection({
    type: ThingRef,
    description: "The user's things, newest first; hidden ones only for the user themself.",
    args: { offset: t.arg.int({ description: offsetArgDescription }) },
    resolve: (user, args, ctx) =>
      keysetConnection(
        args,
        ctx,
        createdAtList(
          // The page read with the user (Query.user) when it is this one.
          (window) => {
            const viewerId = viewerIdOf(ctx);
            const page = prefetchedThings(user, window, viewerId);
            return page === null ? thingsOfUser(ctx.em, user, viewerId, window) : Promise.resolve(page);
          },
          () => countThingsOfUser(ctx.em, user, viewerIdOf(ctx)),
        ),
      ),
  }),
);

builder.objectField(UserRef, 'flattrs', (t) =>
  t.connection({
    type: FlattrRef,
    description: 'Flattrs the user made, newest first; empty for others when the user hides their flattrs.',
    args: { offset: t.arg.int({ description: offsetArgDescription }) },
    resolve: (user, args, ctx) =>
      keysetConnection(
        args,
        ctx,
        createdAtList(
          (window) => flattrsByUser(ctx.em, user, viewerIdOf(ctx), window),
          () => countFlattrsByUser(ctx.em, user, viewerIdOf(ctx)),
        ),
      ),
  }),
);

builder.objectField(ThingRef, 'flattrs', (t) =>
  t.connection({
    type: FlattrRef,
    description: 'Flattrs on the thing, newest first, without those of users who hide their flattrs.',
    args: { offset: t.arg.int({ description: offsetArgDescription }) },
    resolve: (thing, args, ctx) =>
      keysetConnection(
        args,
        ctx,
        createdAtList(
          (window) => flattrsOnThing(ctx.em, thing, viewerIdOf(ctx), window),
          () => countFlattrsOnThing(ctx.em, thing, viewerIdOf(ctx)),
        ),
      ),
  }),
);
