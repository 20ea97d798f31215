import { SubscriptionRef, ThingRef } from '../refs.js';

SubscriptionRef.implement({
  description: 'A monthly subscription to a thing (spec §8.7).',
  fields: (t) => ({
    active: t.exposeBoolean('active', { description: 'True while running, false while paused.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it last became active (spec D43).' }),
    thing: t.field({ type: ThingRef, resolve: (subscription) => subscription.thing.id }),
  }),
});
