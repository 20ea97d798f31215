import { builder } from '../builder.js';
import { ActivityRef, ThingRef, UserRef } from '../refs.js';
import { keysetConnection } from '../connections.js';
import { offsetArgDescription } from './listings.js';
import { activitiesOfUser, activityKeyOf, countActivitiesOfUser } from '../../src/services/listings.js';

export const ActivityVerb = builder.enumType('ActivityVerb', {
  description: 'What an activity is.',
  values: {
    LIKE: { value: 'like', description: 'The actor flattred the thing.' },
    POST: { value: 'post', description: 'The actor created the thing.' },
  } as const,
});

export const ActivityDirection = builder.enumType('ActivityDirection', {
  description: 'Which activities of a user to list.',
  values: {
    OUTGOING: { value: 'outgoing', description: "What the user did: their flattrs and their new things." },
    INCOMING: { value: 'incoming', description: "What others did with the user's things: flattrs on them." },
  } as const,
});

ActivityRef.implement({
  description: 'An activity derived from the data: a flattr (LIKE) or a new thing (POST). Its id derives from that flattr or thing.',
  fields: (t) => ({
    verb: t.field({ type: ActivityVerb, description: 'What happened.', resolve: (a) => a.verb }),
    published: t.expose('published', { type: 'DateTime', description: 'When it happened.' }),
    actor: t.field({ type: UserRef, description: 'Who did it.', resolve: (a) => a.actorId }),
    thing: t.field({ type: ThingRef, description: 'The thing flattred or created.', resolve: (a) => a.thingId }),
  }),
});

builder.objectField(UserRef, 'activities', (t) =>
  t.connection({
    type: ActivityRef,
    description:
      'The user\'s activities, newest first (ties in a fixed order). Hidden things and the flattrs of users who hide ' +
      'them are left out unless the caller may see them.',
    args: {
      direction: t.arg({ type: ActivityDirection, defaultValue: 'outgoing', required: true, description: 'What the user did, or what others did with their things.' }),
      offset: t.arg.int({ description: offsetArgDescription }),
    },
    resolve: (user, args, ctx) => {
      const viewerId = ctx.viewer?.user.id ?? null;
      return keysetConnection(args, ctx, {
        keyOf: activityKeyOf,
        encodeKey: (key) => [key.published.toISOString(), key.itemId],
        decodeKey: (raw) => {
          const [at, itemId] = raw;
          if (raw.length !== 2 || typeof at !== 'string' || typeof itemId !== 'string') return null;
          const published = new Date(at);
          return Number.isNaN(published.getTime()) ? null : { published, itemId };
        },
        load: (window) => activitiesOfUser(ctx.em, user, viewerId, args.direction, ctx.config.tagAuthority, window),
        count: () => countActivitiesOfUser(ctx.em, user, viewerId, args.direction, ctx.config.tagAuthority),
      });
    },
  }),
);
