import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One row (id 1): a number that grows with every committed change a search filter can see (things created,
 * deleted or edited, usernames changed). Written only by triggers (Migration20261129050000SearchCounts); the
 * search count cache keys `total_items` by it.
 */
export const SearchGeneration = defineEntity({
  name: 'SearchGeneration',
  tableName: 'search_generation',
  properties: {
    id: p.integer().primary().autoincrement(false),
    generation: p.bigint('number'),
  },
});

export type SearchGenerationEntity = InferEntity<typeof SearchGeneration>;
