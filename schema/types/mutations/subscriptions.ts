import { builder } from '../../builder.js';
import { ThingRef, ThingSubscriptionRef } from '../../refs.js';
import type { SubscriptionEntity } from '../../../src/entities/index.js';
import { subscribe, toggleSubscription, unsubscribe, type SubscribeOutcome } from '../../../src/services/subscriptions.js';
import { databaseIdOf, encodeGlobalId } from '../../global-id.js';
import { domainResult, resultUnion } from './errors.js';

const SubscribeSuccess = builder.objectRef<SubscribeOutcome>('SubscribeSuccess').implement({
  description: 'The caller is now subscribed.',
  fields: (t) => ({
    subscription: t.field({ type: ThingSubscriptionRef, description: 'The new subscription.', resolve: (result) => result.subscription }),
    thing: t.field({ type: ThingRef, description: 'The thing subscribed to.', resolve: (result) => result.thing }),
  }),
});
const ToggleSubscriptionSuccess = builder.objectRef<{ subscription: SubscriptionEntity }>('ToggleSubscriptionSuccess').implement({
  description: 'The subscription was paused or resumed.',
  fields: (t) => ({
    subscription: t.field({
      type: ThingSubscriptionRef,
      description: 'The subscription after the switch: active = resumed, not active = paused.',
      resolve: (result) => result.subscription,
    }),
  }),
});
const UnsubscribeSuccess = builder.objectRef<{ thingId: number }>('UnsubscribeSuccess').implement({
  description: 'The subscription was removed.',
  fields: (t) => ({
    thingId: t.id({ description: 'The global id of the thing unsubscribed from.', resolve: (result) => encodeGlobalId('Thing', result.thingId) }),
  }),
});

const SubscribeResult = resultUnion('SubscribeResult', SubscribeSuccess, 'The new subscription, or why it was refused.');
const ToggleSubscriptionResult = resultUnion('ToggleSubscriptionResult', ToggleSubscriptionSuccess, 'The switched subscription, or why it was refused.');
const UnsubscribeResult = resultUnion('UnsubscribeResult', UnsubscribeSuccess, 'The thing unsubscribed from, or why it was refused.');


builder.mutationFields((t) => ({
  subscribe: t.field({
    type: SubscribeResult,
    description: 'Subscribes the caller to a thing (active at once; the first flattr comes at the start of next month). Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { thingId: t.arg.id({ required: true, description: 'The global id of the thing.' }) },
    resolve: (_root, { thingId }, ctx) => {
      const id = databaseIdOf(String(thingId), 'Thing', 'thingId');
      return domainResult({ id: 'thingId' }, () => subscribe(ctx.em, ctx.clock, ctx.viewer!.user.id, id));
    },
  }),
  toggleSubscription: t.field({
    type: ToggleSubscriptionResult,
    description: 'Pauses an active subscription or resumes a paused one (startedAt = now). Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { thingId: t.arg.id({ required: true, description: 'The global id of the thing.' }) },
    resolve: (_root, { thingId }, ctx) => {
      const id = databaseIdOf(String(thingId), 'Thing', 'thingId');
      return domainResult({ id: 'thingId' }, async () => ({ subscription: await toggleSubscription(ctx.em, ctx.clock, ctx.viewer!.user.id, id) }));
    },
  }),
  unsubscribe: t.field({
    type: UnsubscribeResult,
    description: "Removes the caller's subscription to a thing. Scope flattr.",
    authScopes: { scope: 'flattr' },
    args: { thingId: t.arg.id({ required: true, description: 'The global id of the thing.' }) },
    resolve: (_root, { thingId }, ctx) => {
      const id = databaseIdOf(String(thingId), 'Thing', 'thingId');
      return domainResult({ id: 'thingId' }, async () => {
        await unsubscribe(ctx.em, ctx.viewer!.user.id, id);
        return { thingId: id };
      });
    },
  }),
}));
