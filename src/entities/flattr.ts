import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Thing } from './thing.js';
import { User } from './user.js';

export const FLATTR_SOURCES = ['click', 'subscription'] as const;

export const Flattr = defineEntity({
  name: 'Flattr',
  tableName: 'flattrs',
  properties: {
    id: p.integer().primary().autoincrement(),
    user: p.manyToOne(User).deleteRule('cascade'),
    thing: p.manyToOne(Thing).deleteRule('cascade'),
    createdAt: p.datetime().columnType('timestamptz'),
    /** The UTC month `YYYY-MM` of createdAt (spec §2.2), set by a database trigger; one flattr per user, thing and period. */
    period: p.string().length(7),
    source: p.enum([...FLATTR_SOURCES]).default('click'),
  },
  uniques: [{ name: 'flattrs_user_thing_period_unique', properties: ['user', 'thing', 'period'] }],
  indexes: [
    { name: 'flattrs_user_created_idx', properties: ['user', 'createdAt', 'id'] },
    { name: 'flattrs_thing_created_idx', properties: ['thing', 'createdAt', 'id'] },
    // Search sort windows (spec §10.4): the partial days at both ends of a window are read from here.
    { name: 'flattrs_created_idx', properties: ['createdAt'] },
  ],
});

export type FlattrEntity = InferEntity<typeof Flattr>;

export function periodOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}
