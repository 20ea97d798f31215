import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Thing } from './thing.js';

/**
 * Flattrs per thing per UTC day, for the search sort windows (spec §10.4): `flattrs` counts the flattrs
 * made on that day and `epochSum` adds up their unixtimes (whole seconds), so a window's count and the
 * trend score Σ(604800 − (T − created_at)) = n·(604800 − T) + Σ created_at come from a few rows per thing.
 * Maintained only by triggers on `flattrs` (Migration20261129010000Search), in the same transaction as the
 * flattr row; a day without flattrs has no row.
 */
export const ThingFlattrDay = defineEntity({
  name: 'ThingFlattrDay',
  tableName: 'thing_flattr_days',
  properties: {
    thing: p.manyToOne(Thing).primary().deleteRule('cascade'),
    day: p.string().columnType('date').primary(),
    flattrs: p.integer(),
    epochSum: p.bigint('number'),
  },
  indexes: [{ name: 'thing_flattr_days_day_idx', properties: ['day', 'thing'] }],
});

export type ThingFlattrDayEntity = InferEntity<typeof ThingFlattrDay>;
