import { builder } from '../../builder.js';
import { SubscriptionRef, ThingRef } from '../../refs.js';
import type { SubscriptionEntity } from '../../../src/entities/index.js';
import { subscribe, toggleSubscription, unsubscribe, type SubscribeOutcome } from '../../../src/services/subscriptions.js';
import { domainResult, resultUnion } from './errors.js';

const SubscribeSuccess = builder.objectRef<SubscribeOutcome>('SubscribeSuccess').implement({
  fields: (t) => ({
    subscription: t.field({ type: SubscriptionRef, resolve: (result) => result.subscription }),
    thing: t.field({ type: ThingRef, resolve: (result) => result.thing }),
  }),
});
const ToggleSubscriptionSuccess = builder.objectRef<{ subscription: SubscriptionEntity }>('ToggleSubscriptionSuccess').implement({
  fields: (t) => ({
    subscription: t.field({
      type: SubscriptionRef,
      description: 'The subscription after the switch: active = started, not active = paused.',
      resolve: (result) => result.subscription,
    }),
  }),
});
const UnsubscribeSuccess = builder.objectRef<{ thingId: number }>('UnsubscribeSuccess').implement({
  fields: (t) => ({ thingId: t.exposeInt('thingId') }),
});

const SubscribeResult = resultUnion('SubscribeResult', SubscribeSuccess, 'The new subscription, or why it was refused (E18).');
const ToggleSubscriptionResult = resultUnion('ToggleSubscriptionResult', ToggleSubscriptionSuccess, 'The switched subscription, or why it was refused (E19).');
const UnsubscribeResult = resultUnion('UnsubscribeResult', UnsubscribeSuccess, 'The thing unsubscribed from, or why it was refused (E20).');

builder.mutationFields((t) => ({
  subscribe: t.field({
    type: SubscribeResult,
    description: 'Spec E18: subscribes the caller to a thing (active, no flattr now). Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { thingId: t.arg.int({ required: true }) },
    resolve: (_root, { thingId }, ctx) => domainResult(() => subscribe(ctx.em, ctx.clock, ctx.viewer!.user.id, thingId)),
  }),
  toggleSubscription: t.field({
    type: ToggleSubscriptionResult,
    description: 'Spec E19: pauses an active subscription or resumes a paused one (startedAt = now). Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { thingId: t.arg.int({ required: true }) },
    resolve: (_root, { thingId }, ctx) =>
      domainResult(async () => ({ subscription: await toggleSubscription(ctx.em, ctx.clock, ctx.viewer!.user.id, thingId) })),
  }),
  unsubscribe: t.field({
    type: UnsubscribeResult,
    description: "Spec E20: removes the caller's subscription to a thing. Scope flattr.",
    authScopes: { scope: 'flattr' },
    args: { thingId: t.arg.int({ required: true }) },
    resolve: (_root, { thingId }, ctx) =>
      domainResult(async () => {
        await unsubscribe(ctx.em, ctx.viewer!.user.id, thingId);
        return { thingId };
      }),
  }),
}));
