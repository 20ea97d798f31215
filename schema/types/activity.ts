import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { ActivityRef, ThingRef, UserRef } from '../refs.js';
import { activitiesOfUser } from '../../src/services/listings.js';

export const ActivityVerb = builder.enumType('ActivityVerb', {
  values: { LIKE: { value: 'like' }, POST: { value: 'post' } } as const,
});

export const ActivityDirection = builder.enumType('ActivityDirection', {
  description: 'outgoing: what the user did; incoming: what others did with the user’s things (spec §12.7).',
  values: { OUTGOING: { value: 'outgoing' }, INCOMING: { value: 'incoming' } } as const,
});

ActivityRef.implement({
  description: 'A derived activity: a flattr (like) or a new thing (post).',
  fields: (t) => ({
    verb: t.field({ type: ActivityVerb, resolve: (a) => a.verb }),
    published: t.expose('published', { type: 'DateTime' }),
    actor: t.field({ type: UserRef, resolve: (a) => a.actorId }),
    thing: t.field({ type: ThingRef, resolve: (a) => a.thingId }),
  }),
});

builder.objectField(UserRef, 'activities', (t) =>
  t.connection({
    type: ActivityRef,
    args: { direction: t.arg({ type: ActivityDirection, defaultValue: 'outgoing', required: true }) },
    resolve: (user, args, ctx) =>
      resolveOffsetConnection({ args, defaultSize: 30, maxSize: ctx.config.maxPageSize }, (page) =>
        activitiesOfUser(ctx.em, user, ctx.viewer?.user.id ?? null, args.direction, ctx.config.tagAuthority, page),
      ),
  }),
);
