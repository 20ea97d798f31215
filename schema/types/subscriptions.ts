import { builder, nullWhenUnauthorized } from '../builder.js';
import { ThingSubscriptionRef, UserRef } from '../refs.js';
import { subscriptionsOfUser } from '../../src/services/subscriptions.js';

builder.objectField(UserRef, 'subscriptions', (t) =>
  t.field({
    type: [ThingSubscriptionRef],
    nullable: true,
    description:
      'Every subscription of the user, active or paused, newest first (createdAt desc, then thing id desc). ' +
      "Only on the caller's own user with scope flattr; null otherwise.",
    authScopes: (user, _args, ctx) => ctx.viewer?.user.id === user.id && ctx.viewer.scopes.has('flattr'),
    ...nullWhenUnauthorized,
    resolve: (user, _args, ctx) => subscriptionsOfUser(ctx.em, user.id),
  }),
);
