import { Sql, join, list, raw, sql } from './sql.js';

/**
 * The flattrs order of things `t` (flattrs desc, id desc), the order of `flattrs`, of `relevance` without terms and
 * the tie-break of every other sort. The counters live in `thing_counters` (Migration20261205030000ThingCounters),
 * joined as `tc`; its indexes (flattrs_count, thing_id) and (language_id, category_id, flattrs_count, thing_id)
 * give the order. The language and category filters are repeated on `tc`'s own copies of the two columns, so that
 * the planner can read the second index in order for a search filtered by them (Migration20261129070000SearchLanguageCategory).
 */
export interface FlattrsOrder {
  /** The FROM addition joining `tc` to `things t`. */
  join: Sql;
  /** ORDER BY terms (flattrs desc, id desc). */
  by: Sql;
}

export const BY_FLATTRS = raw('tc.flattrs_count desc, tc.thing_id desc');

/** `languages`, `categories`: the search's filters (null: none; an empty list matches nothing, which the WHERE says). */
export function flattrsOrder(languages: readonly string[] | null, categories: readonly string[] | null): FlattrsOrder {
  const on: Sql[] = [raw('tc.thing_id = t.id')];
  if (languages && languages.length > 0) on.push(sql`tc.language_id in (${list(languages)})`);
  if (categories && categories.length > 0) on.push(sql`tc.category_id in (${list(categories)})`);
  return { join: sql`join thing_counters tc on ${join(on, ' and ')}`, by: BY_FLATTRS };
}
