import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Category, Language } from './reference.js';
import { User } from './user.js';
import { TextArrayType } from './text-array.js';

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
    tags: p.type(TextArrayType).columnType('text[]').default('{}'),
    hidden: p.boolean().default(false),
    image: p.string().length(2048).default(''),
    createdAt: p.datetime().columnType('timestamptz'),
    updatedAt: p.datetime().columnType('timestamptz').nullable(),
    // The three counters below are maintained by the `flattrs` table's trigger (see the migration),
    // so they always equal what the flattr rows say whoever writes the rows.
    lastFlattrAt: p.datetime().columnType('timestamptz').nullable(),
    flattrsCount: p.integer().default(0),
    flattrsUserCount: p.integer().default(0),
    // Search columns (spec §10), derived from title, description, url and tags by the `things_search_columns`
    // trigger (Migration20261129010000Search) whoever writes the row; the application never writes them.
    // Lazy: never selected with the entity. Lower-casing is JavaScript's toLowerCase (spec §2.3), done by
    // the database function `flattr_lower` (ICU root collation).
    /** Every tag lower-cased, same order: tag-expression tests (§10.3) through `@>` on a GIN index. */
    lowerTags: p.array().columnType('text[]').default('{}').lazy(true, false),
    /** Title, description, url and tags, lower-cased, one per line: `query` substring tests (§10.2) on a trigram index. */
    searchText: p.text().default('').lazy(true, false),
    /** Weighted full-text vector ('simple' configuration) for the GraphQL-only `textSearch` filter and ranking. */
    searchVector: p.string().columnType('tsvector').nullable().lazy(true, false),
  },
  indexes: [
    { name: 'things_owner_created_idx', properties: ['owner', 'createdAt', 'id'] },
    { name: 'things_tags_gin_idx', expression: 'create index "things_tags_gin_idx" on "things" using gin ("tags")' },
    // Search (spec §10); the trigram index exists only where pg_trgm could be installed (see the migration).
    { name: 'things_lower_tags_gin_idx', expression: 'create index "things_lower_tags_gin_idx" on "things" using gin ("lower_tags")' },
    { name: 'things_search_text_trgm_idx', expression: 'create index "things_search_text_trgm_idx" on "things" using gin ("search_text" gin_trgm_ops)' },
    { name: 'things_search_vector_idx', expression: 'create index "things_search_vector_idx" on "things" using gin ("search_vector")' },
    { name: 'things_url_prefix_idx', expression: 'create index "things_url_prefix_idx" on "things" ("url" varchar_pattern_ops)' },
    { name: 'things_flattrs_count_id_idx', properties: ['flattrsCount', 'id'] },
    { name: 'things_language_category_flattrs_idx', properties: ['language', 'category', 'flattrsCount', 'id'] },
    { name: 'things_category_idx', properties: ['category'] },
    // New things per period (the `stats` graph, src/services/stats.ts).
    { name: 'things_created_at_idx', properties: ['createdAt'] },
  ],
});

export type ThingEntity = InferEntity<typeof Thing>;
