import type { EntityManager } from '@mikro-orm/postgresql';
import { query, raw, sql, type Sql } from './sql.js';

/**
 * Brings a cached search result (a count, relevance levels) from the generation it was read at up to the current
 * one, from `search_changes` (Migration20261205020000SearchChanges) instead of reading it again: a thing write
 * elsewhere costs a cached filter a few primary-key reads, not a recount of every match.
 */

/**
 * Logged changes one correction applies at most; beyond that, reading the result again is the cheaper way. The
 * trigger (Migration20261205020000SearchChanges) logs at most one more per transaction.
 */
export const MAX_CORRECTED_CHANGES = 1000;

/** A changed thing the filter saw before or sees now: its score then and now, null where the filter did not match. */
export interface ThingChange {
  id: number;
  before: number | null;
  after: number | null;
}

export interface ChangesSince {
  /** The generation the changes bring a result up to. */
  generation: string;
  changes: ThingChange[];
}

export interface ChangedFilter {
  /** The search's WHERE over `things t`. */
  where: Sql;
  /** The relevance score over `t` and `l`; absent: every match scores 0. */
  score?: Sql;
  /** The FROM addition defining `l` (relevance-levels.ts). */
  lowerFields?: Sql;
}

/**
 * The things changed since generation `from` that `filter` matched then or matches now, read in one statement
 * (one snapshot) with the current generation. Null when the log cannot say: the current generation is older
 * (a replica behind the server the result came from), the log of the span is incomplete (pruned, or a generation
 * moved by hand), too long, holds a username change, or this transaction wrote (its own changes are not logged
 * before it commits). The caller then reads the result again.
 */
export async function changesSince(em: EntityManager, from: string, filter: ChangedFilter): Promise<ChangesSince | null> {
  const score = filter.score ?? raw('0');
  const lowerFields = filter.lowerFields ?? raw('');
  const rows = await query<{
    generation: string;
    logged: number;
    generations: number;
    unfollowable: number;
    clean: boolean;
    id: number | null;
    now: boolean | null;
    score: number | null;
  }>(
    em,
    sql`with head as (select generation from search_generation where id = 1),
      span as (
        select c.id, c.generation, c.thing_id, c.old_row from search_changes c
        where c.generation > ${from}::bigint and c.generation <= (select generation from head)
        order by c.id limit ${MAX_CORRECTED_CHANGES + 1}
      ),
      firsts as (
        select distinct on (s.thing_id) s.thing_id, s.old_row from span s where s.thing_id is not null order by s.thing_id, s.id
      ),
      diffs as (
        select f.thing_id as id, false as now, (${score})::int as score
          from firsts f cross join lateral jsonb_populate_record(null::things, f.old_row) t ${lowerFields}
          where f.old_row is not null and ${filter.where}
        union all
        select t.id, true, (${score})::int
          from firsts f cross join lateral (select * from things current_thing where current_thing.id = f.thing_id) t ${lowerFields}
          where ${filter.where}
      )
      select (select generation::text from head) as generation,
        (select count(*)::int from span) as logged,
        (select count(distinct s.generation)::int from span s) as generations,
        (select count(*)::int from span s where s.thing_id is null) as unfollowable,
        txid_current_if_assigned() is null as clean,
        d.id, d.now, d.score
      from (select 1) as one left join diffs d on true`,
  );
  const head = rows[0]!;
  const span = BigInt(head.generation) - BigInt(from);
  if (span < 0n || !head.clean || head.unfollowable > 0 || head.logged > MAX_CORRECTED_CHANGES || BigInt(head.generations) !== span) return null;
  const byThing = new Map<number, ThingChange>();
  for (const row of rows) {
    if (row.id === null) continue;
    const change = byThing.get(row.id) ?? { id: row.id, before: null, after: null };
    if (row.now) change.after = row.score;
    else change.before = row.score;
    byThing.set(row.id, change);
  }
  return { generation: head.generation, changes: [...byThing.values()] };
}

/**
 * Deletes at most `batch` rows of generations no correction can use: a span of more than MAX_CORRECTED_CHANGES
 * generations holds more changes than a correction applies. Returns how many rows went.
 */
export async function pruneSearchChanges(em: EntityManager, batch: number): Promise<number> {
  const rows = await query<{ id: string }>(
    em,
    sql`delete from search_changes where id in (
      select id from search_changes
      where generation <= (select generation from search_generation where id = 1) - ${MAX_CORRECTED_CHANGES}::bigint
      order by id limit ${batch}
    ) returning id`,
  );
  return rows.length;
}
