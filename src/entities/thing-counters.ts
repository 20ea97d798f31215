import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Thing } from './thing.js';

/**
 * The flattr counters of a thing (spec §12.2), one narrow row per thing (Migration20261205030000ThingCounters):
 * `flattrsCount` flattrs ever made, `flattrsUserCount` distinct flattring users, `lastFlattrAt` the newest.
 * Maintained only by the triggers on `flattrs`, in the flattr's own transaction, so they always equal what the
 * flattr rows say; out of `things` so that a flattr never rewrites the wide, GIN-indexed thing row.
 * `languageId` and `categoryId` copy the thing's (kept by triggers on `things`): the flattrs order of a search
 * filtered by both reads one index in order. The row is created with the thing and deleted with it.
 */
export const ThingCounters = defineEntity({
  name: 'ThingCounters',
  tableName: 'thing_counters',
  properties: {
    thing: p.manyToOne(Thing).primary().deleteRule('cascade'),
    languageId: p.string().length(32),
    categoryId: p.string().length(32),
    flattrsCount: p.integer().default(0),
    flattrsUserCount: p.integer().default(0),
    lastFlattrAt: p.datetime().columnType('timestamptz').nullable(),
  },
  indexes: [
    { name: 'thing_counters_flattrs_idx', properties: ['flattrsCount', 'thing'] },
    { name: 'thing_counters_language_category_flattrs_idx', properties: ['languageId', 'categoryId', 'flattrsCount', 'thing'] },
  ],
});

export type ThingCountersEntity = InferEntity<typeof ThingCounters>;
