import { ThingRef, ThingSubscriptionRef } from '../refs.js';

ThingSubscriptionRef.implement({
  description: "A user's monthly subscription to a thing: while active, the thing is flattred at the start of every month.",
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The numeric id of the subscription in the database.' }),
    active: t.exposeBoolean('active', { description: 'True while running, false while paused.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user subscribed.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the subscription last became active (subscribed or resumed).' }),
    thing: t.field({ type: ThingRef, description: 'The thing subscribed to.', resolve: (subscription) => subscription.thing.id }),
  }),
});
