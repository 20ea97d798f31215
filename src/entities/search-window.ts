import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The base of the search sort windows (spec §10.4, window-sort.ts): per thing, its flattrs of the UTC days
 * before day D = `search_window_state.as_of`, static for day D: the whole days every window of an instant of
 * day D covers, `monthN` over [D − 29, D − 1], `weekN` and `weekS` (sum of their unixtimes) over [D − 6, D − 1];
 * and upper bounds of the share of the key of those days plus the window's partially covered oldest day:
 * `monthHi` over [D − 30, D − 1], `weekHi` over [D − 7, D − 1], `dayHi` = day D − 1, and `trendHi` =
 * n8·(604800 − D·86400) + s8 over [D − 7, D − 1] (the trend of those flattrs at midnight). Each bound has an
 * index (the static list of the threshold algorithm, Migration20261129060000SearchWindowsLive). One row per
 * thing with a flattr in [D − 30, D − 1]. Rebuilt, never updated, by the first search of a day or after a
 * backdated flattr (Migration20261129040000SearchWindows).
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
    monthHi: p.integer(),
    weekHi: p.integer(),
    dayHi: p.integer(),
  },
  indexes: [
    { name: 'search_window_base_month_hi_idx', properties: ['monthHi'] },
    { name: 'search_window_base_week_hi_idx', properties: ['weekHi'] },
    { name: 'search_window_base_day_hi_idx', properties: ['dayHi'] },
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
    /** The UTC day the rows of `search_window_base` were built for (null before the first build). */
    baseAsOf: p.string().columnType('date').nullable(),
    rebuilds: p.bigint('number'),
    builtAt: p.datetime().columnType('timestamptz').nullable(),
  },
});

export type SearchWindowStateEntity = InferEntity<typeof SearchWindowState>;

/**
 * Flattrs per (UTC day, thing), with the sum of their unixtimes, for the days ≥ `search_window_state.as_of` (today, and future-dated flattrs): the
 * live list of the window sorts' threshold algorithm, read by day through its (day, flattrs) index. Kept by the
 * flattrs statement triggers in the flattr's own transaction; rebuilt for the days ≥ as_of when the day moves
 * back or the base is first built, and pruned of the days < as_of at each rebuild
 * (Migration20261129060000SearchWindowsLive). No foreign key, as the base.
 */
export const SearchWindowToday = defineEntity({
  name: 'SearchWindowToday',
  tableName: 'search_window_today',
  properties: {
    day: p.string().columnType('date').primary(),
    thingId: p.integer().primary().autoincrement(false),
    flattrs: p.integer(),
    epochSum: p.bigint('number'),
  },
  indexes: [{ name: 'search_window_today_flattrs_idx', properties: ['day', 'flattrs'] }],
});

export type SearchWindowTodayEntity = InferEntity<typeof SearchWindowToday>;
