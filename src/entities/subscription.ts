import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Thing } from './thing.js';
import { User } from './user.js';

export const Subscription = defineEntity({
  name: 'Subscription',
  tableName: 'subscriptions',
  properties: {
    id: p.integer().primary().autoincrement(),
    user: p.manyToOne(User).deleteRule('cascade'),
    thing: p.manyToOne(Thing).deleteRule('cascade'),
    active: p.boolean().default(true),
    createdAt: p.datetime().columnType('timestamptz'),
    /** Spec D43: when it last became active. */
    startedAt: p.datetime().columnType('timestamptz'),
  },
  uniques: [{ name: 'subscriptions_user_thing_unique', properties: ['user', 'thing'] }],
  indexes: [{ name: 'subscriptions_thing_idx', properties: ['thing'] }],
});

export type SubscriptionEntity = InferEntity<typeof Subscription>;
