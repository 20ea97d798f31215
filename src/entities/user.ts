import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    username: p.string().length(64),
    email: p.string().length(320),
    /** scrypt (memory-hard) hash in `scrypt$N$r$p$salt$hash` form; null for accounts that cannot log in. */
    passwordHash: p.string().length(255).nullable(),
    firstname: p.string().length(255).default(''),
    lastname: p.string().length(255).default(''),
    avatar: p.string().length(2048).default(''),
    about: p.text().default(''),
    city: p.string().length(255).default(''),
    country: p.string().length(255).default(''),
    url: p.string().length(2048).default(''),
    registeredAt: p.datetime().columnType('timestamptz'),
    /** Spec §12.1: a user has means when balance > 0 (integer cents). */
    balanceCents: p.integer().default(0),
    hideFlattrs: p.boolean().default(false),
  },
  // Usernames are unique regardless of case (spec §2.4).
  uniques: [{ name: 'users_username_lower_unique', expression: 'create unique index "users_username_lower_unique" on "users" (lower("username"))' }],
  // New users per period (the `stats` graph, src/services/stats.ts).
  indexes: [{ name: 'users_registered_at_idx', properties: ['registeredAt'] }],
});

export type UserEntity = InferEntity<typeof User>;
