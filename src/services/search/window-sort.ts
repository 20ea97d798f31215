import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '../listings.js';
import { Sql, join, query, raw, sql } from './sql.js';
import { BASE_DAYS, DAY, WINDOW_SECONDS, dayOf, isoDay, planWindow, type WindowPlan, type WindowSort } from './windows.js';

/**
 * The window sorts of spec §10.4 (`flattrs_month`, `flattrs_week`, `flattrs_day`, `trend`), exact to the second,
 * at a cost that does not grow with the number of things that had flattrs in the window ("hot" things).
 *
 * Key of a thing at T (day D, r = T − D·86400) = base + edges (windows.ts): the base, its flattrs of the whole
 * days [D − k + 1, D − 1], comes from `search_window_base` (built once per UTC day, Migration20261129040000SearchWindows);
 * the edges, about one day of flattrs, from `flattrs` through `flattrs_created_idx`. The top of the order is then:
 *
 * - every thing with an edge flattr ("edge things"), its exact key computed; and
 * - count windows: the first offset + limit other base rows in (n desc, flattrs desc, id desc) order, read from
 *   the base's n index joined to `things` (an incremental sort adds the tie-breakers), filtered by the search;
 * - trend: the base key of a non-edge thing is trend_hi − week_n·r ≤ trend_hi. The first offset + limit rows by
 *   trend_hi give N real keys; θ = the (offset + limit)-th best of those and the edge things' keys; a row with
 *   trend_hi < θ has a key < θ, below N others, so only rows with trend_hi ≥ θ can be on the page.
 *
 * Sorted by (key, [7-day flattrs for trend], flattrs, id) desc, the page is cut from that. When a page reaches
 * past the hot things (all of them are then in the candidates), the things with key 0 follow in
 * (flattrs, id) index order; only then is the number of hot things needed.
 *
 * State, base and edges are read in one REPEATABLE READ read-only snapshot. A search that finds the base built
 * for another day, or invalidated by a backdated flattr, rebuilds it first (`refreshWindowBase`); if it keeps
 * being invalidated (a stream of backdated writes), the search computes the base inside its own snapshot from
 * `thing_flattr_days` instead (exact, slower).
 */

const WRITERS_LOCK = "hashtext('search_window:writers')";
const REBUILD_LOCK = "hashtext('search_window:rebuild')";
/** Rebuilds a search tries before it computes the base in its own snapshot. */
const MAX_REBUILDS = 3;

/** `select` of the base rows for day `day` from thing_flattr_days (the rebuild, and the fallback). */
function baseSelect(day: number): Sql {
  const monthFrom = isoDay(day - BASE_DAYS.month);
  const weekFrom = isoDay(day - BASE_DAYS.week);
  const to = isoDay(day);
  const weekN = sql`coalesce(sum(d.flattrs) filter (where d.day >= ${weekFrom}::date), 0)`;
  const weekS = sql`coalesce(sum(d.epoch_sum) filter (where d.day >= ${weekFrom}::date), 0)`;
  return sql`select d.thing_id, sum(d.flattrs)::int as month_n, ${weekN}::int as week_n, ${weekS}::bigint as week_s,
    (${weekN}::bigint * ${WINDOW_SECONDS.trend - day * DAY}::bigint + ${weekS})::bigint as trend_hi
    from thing_flattr_days d where d.day >= ${monthFrom}::date and d.day < ${to}::date group by d.thing_id`;
}

interface StateRow {
  as_of: string | null;
  generation: string;
  base_generation: string | null;
}

const STATE = raw(`select to_char(as_of, 'YYYY-MM-DD') as as_of, generation::text as generation, base_generation::text as base_generation
  from search_window_state where id = 1`);

const isValid = (state: StateRow | undefined, day: number) => !!state && state.as_of === isoDay(day) && state.generation === state.base_generation;

/**
 * Makes `search_window_base` valid for the UTC day of `now` (the app clock's), rebuilding it when it is not.
 * Concurrent callers wait for one rebuild. Returns whether this call rebuilt. See the migration for the protocol.
 */
export async function refreshWindowBase(em: EntityManager, now: Date): Promise<boolean> {
  const knex = em.getKnex();
  const day = dayOf(now);
  const asOf = isoDay(day);
  const rows = async (trx: typeof knex, fragment: Sql) => ((await trx.raw(fragment.text, fragment.values as never[])) as { rows: StateRow[] }).rows;
  const [state] = await rows(knex, STATE);
  if (state?.as_of !== asOf) {
    // txA: switch the day under the writers' lock, held exclusively only for this short transaction.
    await knex.transaction(async (trx) => {
      await trx.raw(`select pg_advisory_xact_lock(${WRITERS_LOCK})`);
      await trx.raw('update search_window_state set as_of = ?::date, base_generation = null where id = 1 and as_of is distinct from ?::date', [asOf, asOf]);
    });
  }
  // txB: one rebuilder at a time; the others wait here and then find the base valid.
  return knex.transaction(async (trx) => {
    await trx.raw(`select pg_advisory_xact_lock(${REBUILD_LOCK})`);
    const [current] = await rows(trx, STATE);
    if (!current || current.as_of !== asOf || current.generation === current.base_generation) return false;
    await trx.raw(`set local work_mem = '64MB'`);
    await trx.raw('delete from search_window_base');
    const insert = sql`insert into search_window_base (thing_id, month_n, week_n, week_s, trend_hi) ${baseSelect(day)}`;
    await trx.raw(insert.text, insert.values as never[]);
    await trx.raw('update search_window_state set base_generation = ?::bigint, rebuilds = rebuilds + 1, built_at = ? where id = 1', [current.generation, now.toISOString()]);
    return true;
  });
}

/**
 * The ids at positions [offset, offset + limit) of the things matching `where` (a condition over `things t`) in
 * the window order `sort` at `now`.
 */
export async function windowSortPage(em: EntityManager, where: Sql, page: Page, sort: WindowSort, now: Date): Promise<number[]> {
  const plan = planWindow(now, WINDOW_SECONDS[sort]);
  const run = (base: Sql | null) =>
    em.transactional((tx) => pageIn(tx as EntityManager, where, page, sort, plan, base), { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true });
  // The day window has no whole day: no base.
  if (plan.days === 1) return run(null);
  for (let attempt = 0; ; attempt++) {
    const fallback = attempt >= MAX_REBUILDS;
    const result = await em.transactional(
      async (tx) => {
        const txEm = tx as EntityManager;
        const [state] = await query<StateRow>(txEm, STATE);
        if (isValid(state, plan.day)) return pageIn(txEm, where, page, sort, plan, raw('search_window_base'));
        return fallback ? pageIn(txEm, where, page, sort, plan, sql`(${baseSelect(plan.day)})`) : null;
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
    if (result) return result;
    await refreshWindowBase(em, now);
  }
}

/** Flattrs per thing in the edges: thing_id, n, s (sum of unixtimes). */
function edges(plan: WindowPlan): Sql {
  const parts = plan.edges.map(
    (range) => sql`select f.thing_id, floor(extract(epoch from f.created_at))::bigint as s from flattrs f
      where f.created_at >= ${range.from.toISOString()}::timestamptz and f.created_at < ${range.to.toISOString()}::timestamptz`,
  );
  if (parts.length === 0) return raw('select null::int as thing_id, 0 as n, 0::bigint as s where false');
  return sql`select u.thing_id, count(*)::int as n, sum(u.s)::bigint as s from (${join(parts, ' union all ')}) u group by u.thing_id`;
}

const BY_FLATTRS = raw('t.flattrs_count desc, t.id desc');

async function ids(em: EntityManager, fragment: Sql): Promise<number[]> {
  return (await query<{ id: number }>(em, fragment)).map((r) => r.id);
}

/**
 * One page in the current transaction. `base` is the base relation (`search_window_base`, or a subquery over
 * thing_flattr_days), null for the day window.
 */
async function pageIn(em: EntityManager, where: Sql, page: Page, sort: WindowSort, plan: WindowPlan, base: Sql | null): Promise<number[]> {
  const n = page.offset + page.limit;
  const e = sql`e as materialized (${edges(plan)})`;
  // The base column of the window's count, and the exact key of edge things.
  const column = raw(sort === 'flattrs_month' ? 'month_n' : 'week_n');
  let hotList: Sql;
  if (base === null) {
    hotList = sql`with ${e}, c as (select t.id, e.n, t.flattrs_count as fc from e join things t on t.id = e.thing_id where ${where})
      select c.id from c order by c.n desc, c.fc desc, c.id desc offset ${page.offset} limit ${page.limit}`;
  } else if (sort !== 'trend') {
    hotList = sql`with ${e}, c as (
        select t.id, coalesce(b.${column}, 0) + e.n as n, t.flattrs_count as fc
        from e join things t on t.id = e.thing_id left join ${base} b on b.thing_id = e.thing_id where ${where}
        union all
        (select t.id, b.${column}, t.flattrs_count from ${base} b join things t on t.id = b.thing_id
         where b.${column} > 0 and b.thing_id not in (select e.thing_id from e) and ${where}
         order by b.${column} desc, ${BY_FLATTRS} limit ${n}))
      select c.id from c order by c.n desc, c.fc desc, c.id desc offset ${page.offset} limit ${page.limit}`;
  } else {
    const r = plan.secondOfDay;
    const baseKey = sql`b.trend_hi - b.week_n::bigint * ${r}::bigint`;
    hotList = sql`with ${e},
      x as materialized (
        select t.id, coalesce(b.week_n, 0) + e.n as n,
          (coalesce(b.week_n, 0) + e.n)::bigint * ${WINDOW_SECONDS.trend - plan.now}::bigint + coalesce(b.week_s, 0) + e.s as key, t.flattrs_count as fc
        from e join things t on t.id = e.thing_id left join ${base} b on b.thing_id = e.thing_id where ${where}),
      top as materialized (
        select t.id, b.week_n as n, ${baseKey} as key, t.flattrs_count as fc from ${base} b join things t on t.id = b.thing_id
        where b.week_n > 0 and b.thing_id not in (select e.thing_id from e) and ${where}
        order by b.trend_hi desc limit ${n}),
      theta as (
        select a.key from (select * from x union all select * from top) a
        order by a.key desc, a.n desc, a.fc desc, a.id desc offset ${n - 1} limit 1),
      more as (
        select t.id, b.week_n as n, ${baseKey} as key, t.flattrs_count as fc from ${base} b join things t on t.id = b.thing_id
        where b.trend_hi >= (select theta.key from theta) and b.week_n > 0 and b.thing_id not in (select e.thing_id from e) and ${where}),
      c as (select * from x union all (select * from top union select * from more))
      select c.id from c order by c.key desc, c.n desc, c.fc desc, c.id desc offset ${page.offset} limit ${page.limit}`;
  }
  const result = await ids(em, hotList);
  if (result.length === page.limit) return result;

  // The page reaches past the hot things: all of them were candidates, so their number is offset + what this
  // page got of them, unless it got none.
  const hotColumn = sort === 'flattrs_month' ? raw('month_n') : raw('week_n');
  const notHot = base === null ? raw('true') : sql`not exists (select 1 from ${base} b where b.thing_id = t.id and b.${hotColumn} > 0)`;
  let hot = page.offset + result.length;
  if (result.length === 0) {
    const [row] = await query<{ hot: number }>(
      em,
      sql`with ${e} select (select count(*) from e join things t on t.id = e.thing_id where ${where})::int
        + ${base === null ? raw('0') : sql`(select count(*) from ${base} b join things t on t.id = b.thing_id
            where b.${hotColumn} > 0 and b.thing_id not in (select e.thing_id from e) and ${where})::int`} as hot`,
    );
    hot = row!.hot;
  }
  const rest = await ids(
    em,
    sql`with ${e} select t.id from things t where ${where} and t.id not in (select e.thing_id from e) and ${notHot}
      order by ${BY_FLATTRS} offset ${Math.max(0, page.offset - hot)} limit ${page.limit - result.length}`,
  );
  return [...result, ...rest];
}
