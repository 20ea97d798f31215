import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The base of the search sort windows (spec §10.4, window-sort.ts): per thing, its flattrs of the whole UTC
 * days before day D = `search_window_state.as_of` that every window of an instant of day D covers entirely:
 * `monthN` over [D − 29, D − 1], `weekN` and `weekS` (sum of their unixtimes) over [D − 6, D − 1], and
 * `trendHi` = weekN·(604800 − D·86400) + weekS, the trend score of those flattrs at midnight (an upper bound of
 * it at any later instant of day D). One row per thing with a flattr in [D − 29, D − 1]. Rebuilt, never
 * updated, by the first search of a day or after a backdated flattr (Migration20261129040000SearchWindows).
 * No foreign key: a deleted thing's row is harmless (every read joins `things`) and gone at the next rebuild,
 * and the rebuild need not check 300k references nor wait for deletions of things.
 */
export const SearchWindowBase = defineEntity({
  name: 'SearchWindowBase',
  tableName: 'search_window_base',
  properties: {
    thingId: p.integer().primary().autoincrement(false),
    monthN: p.integer(),
    weekN: p.integer(),
    weekS: p.bigint('number'),
    trendHi: p.bigint('number'),
  },
  indexes: [
    { name: 'search_window_base_month_idx', properties: ['monthN'] },
    { name: 'search_window_base_week_idx', properties: ['weekN'] },
    { name: 'search_window_base_trend_idx', properties: ['trendHi'] },
  ],
});

export type SearchWindowBaseEntity = InferEntity<typeof SearchWindowBase>;

/**
 * One row (id 1): for which UTC day `search_window_base` holds (`asOf`, the app clock's day, null before the
 * first build), `generation` (bumped by the flattrs triggers when a flattr of one of the base's days is
 * inserted or deleted) and `baseGeneration` (the generation the base was built at; null while the day has
 * moved on and the base is not rebuilt yet). The base is valid when asOf is the search's day and
 * generation = baseGeneration. `rebuilds` counts the rebuilds, `builtAt` is the clock time of the last one.
 */
export const SearchWindowState = defineEntity({
  name: 'SearchWindowState',
  tableName: 'search_window_state',
  properties: {
    id: p.integer().primary().autoincrement(false),
    asOf: p.string().columnType('date').nullable(),
    generation: p.bigint('number'),
    baseGeneration: p.bigint('number').nullable(),
    rebuilds: p.bigint('number'),
    builtAt: p.datetime().columnType('timestamptz').nullable(),
  },
});

export type SearchWindowStateEntity = InferEntity<typeof SearchWindowState>;
