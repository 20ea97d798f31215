import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Category, Language } from './reference.js';
import { User } from './user.js';

export const Thing = defineEntity({
  name: 'Thing',
  tableName: 'things',
  properties: {
    id: p.integer().primary().autoincrement(),
    owner: p.manyToOne(User).deleteRule('cascade'),
    url: p.string().length(2048).unique('things_url_unique'),
    title: p.string().length(100),
    description: p.text().default(''),
    category: p.manyToOne(Category),
    language: p.manyToOne(Language),
    tags: p.array().columnType('text[]').default('{}'),
    hidden: p.boolean().default(false),
    image: p.string().length(2048).default(''),
    createdAt: p.datetime().columnType('timestamptz'),
    updatedAt: p.datetime().columnType('timestamptz').nullable(),
    // The three counters below are maintained by the `flattrs` table's trigger (see the migration),
    // so they always equal what the flattr rows say whoever writes the rows.
    lastFlattrAt: p.datetime().columnType('timestamptz').nullable(),
    flattrsCount: p.integer().default(0),
    flattrsUserCount: p.integer().default(0),
  },
  indexes: [
    { name: 'things_owner_created_idx', properties: ['owner', 'createdAt', 'id'] },
    { name: 'things_tags_gin_idx', expression: 'create index "things_tags_gin_idx" on "things" using gin ("tags")' },
  ],
});

export type ThingEntity = InferEntity<typeof Thing>;
