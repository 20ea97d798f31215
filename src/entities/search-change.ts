import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * What each `search_generation` step changed (Migration20261205020000SearchChanges): one row per thing a committed
 * transaction inserted, edited or deleted, with the thing as it was before (`oldRow`; null for an insert), or a row
 * without a thing for a username change. Written only by triggers; the search caches read it to correct a count or
 * relevance levels instead of computing them again (src/services/search/changes.ts), and a job prunes it.
 */
export const SearchChange = defineEntity({
  name: 'SearchChange',
  tableName: 'search_changes',
  properties: {
    id: p.bigint('number').primary(),
    generation: p.bigint('number').index('search_changes_generation_index'),
    thingId: p.integer().nullable(),
    oldRow: p.json().nullable(),
  },
});

export type SearchChangeEntity = InferEntity<typeof SearchChange>;
