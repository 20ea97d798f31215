import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '../listings.js';
import { Sql, join, query, raw, sql } from './sql.js';
import { BASE_DAYS, DAY, WINDOW_SECONDS, dayOf, isoDay, planWindow, type WindowPlan, type WindowSort } from './windows.js';

/**
 * The window sorts of spec §10.4 (`flattrs_month`, `flattrs_week`, `flattrs_day`, `trend`), exact to the second,
 * at a cost per page that grows neither with the number of things that had flattrs in the window nor with the
 * day's flattrs.
 *
 * Key of a thing at T (day D, window of k days) = its whole days [D − k + 1, D − 1] + its flattrs in the partial
 * oldest day D − k + today's flattrs up to T (windows.ts). Threshold algorithm over two lists, each ordered by an
 * upper bound of its share (Migration20261129060000SearchWindowsLive):
 *
 * - L1, static for the day: `search_window_base` (built once per UTC day, Migration20261129040000SearchWindows)
 *   by month_hi / week_hi / day_hi / trend_hi, the whole days plus the full oldest day;
 * - L2, live: `search_window_today` rows of day D (kept by the flattrs triggers) by flattrs (× 604800 for the
 *   trend, each of today's flattrs adding at most 604800).
 *
 * Rounds read the first m matching rows of both lists, compute the exact key of every thing read, and stop
 * when the (offset + limit)-th best full key exceeds h1 + h2 (the bounds at depth m, at least the key of any
 * thing not read) or both lists are exhausted; m doubles per round. The page is cut from the things read,
 * sorted by (key, [7-day flattrs for trend], flattrs, id) desc. When it reaches past the things with key > 0
 * (both lists exhausted), the things with key 0 follow in (flattrs, id) index order.
 *
 * State, base, today rows and flattrs are read in one REPEATABLE READ read-only snapshot. The base of a new day is
 * built off the request path by the `search-window-base` job (src/jobs/); until it is, a search of day D reads
 * the base of day D − 1 exactly (a third list, the today rows of D − 1, and the flattrs of the window's oldest
 * day subtracted: see `pageIn`), so no search waits for the daily rebuild. A search that finds the base built
 * for an older day, or invalidated by a backdated flattr, rebuilds it first (`refreshWindowBase`); if it keeps
 * being invalidated (a stream of backdated writes), the search computes both lists inside its own snapshot from
 * `thing_flattr_days` instead (exact, slower).
 */

const WRITERS_LOCK = "hashtext('search_window:writers')";
const REBUILD_LOCK = "hashtext('search_window:rebuild')";
/** Rebuilds a search tries before it computes the base in its own snapshot. */
const MAX_REBUILDS = 3;

/** `select` of the base rows for day `day` from thing_flattr_days (the rebuild, and the fallback). */
function baseSelect(day: number): Sql {
  const from = isoDay(day - BASE_DAYS.monthHi);
  const monthFrom = isoDay(day - BASE_DAYS.month);
  const weekFrom = isoDay(day - BASE_DAYS.week);
  const week8From = isoDay(day - BASE_DAYS.weekHi);
  const dayFrom = isoDay(day - 1);
  const to = isoDay(day);
  const sumSince = (column: string, since: string) => sql`coalesce(sum(d.${raw(column)}) filter (where d.day >= ${since}::date), 0)`;
  return sql`select d.thing_id,
    ${sumSince('flattrs', monthFrom)}::int as month_n, ${sumSince('flattrs', weekFrom)}::int as week_n, ${sumSince('epoch_sum', weekFrom)}::bigint as week_s,
    (${sumSince('flattrs', week8From)}::bigint * ${WINDOW_SECONDS.trend - day * DAY}::bigint + ${sumSince('epoch_sum', week8From)})::bigint as trend_hi,
    sum(d.flattrs)::int as month_hi, ${sumSince('flattrs', week8From)}::int as week_hi, ${sumSince('flattrs', dayFrom)}::int as day_hi
    from thing_flattr_days d where d.day >= ${from}::date and d.day < ${to}::date group by d.thing_id`;
}

interface StateRow {
  as_of: string | null;
  base_as_of: string | null;
  generation: string;
  base_generation: string | null;
}

const STATE = raw(`select to_char(as_of, 'YYYY-MM-DD') as as_of, to_char(base_as_of, 'YYYY-MM-DD') as base_as_of, generation::text as generation,
  base_generation::text as base_generation from search_window_state where id = 1`);

/** The base was built for day `day`, which is the writers' day too, and no flattr of its days changed since. */
const isValid = (state: StateRow | undefined, day: number) =>
  !!state && state.as_of === isoDay(day) && state.base_as_of === isoDay(day) && state.generation === state.base_generation;

/**
 * The base holds day `day` − 1 and is unchanged since (the day's rebuild has not committed yet), and the writers
 * keep the today rows of day − 1 (as_of = day − 1) or have frozen them with the base (as_of = day: any later
 * change to a flattr of day − 1 bumps the generation). A search reads it with the today rows of day − 1.
 */
const isPrevious = (state: StateRow | undefined, day: number) =>
  !!state &&
  state.base_as_of === isoDay(day - 1) &&
  (state.as_of === isoDay(day - 1) || state.as_of === isoDay(day)) &&
  state.generation === state.base_generation;

/** Whether the base is valid for the UTC day of `now`: what the `search-window-base` job checks before it rebuilds. */
export async function windowBaseIsCurrent(em: EntityManager, now: Date): Promise<boolean> {
  const [state] = await query<StateRow>(em, STATE);
  return isValid(state, dayOf(now));
}

/**
 * Makes `search_window_base` valid for the UTC day of `now` (the app clock's), rebuilding it when it is not.
 * Concurrent callers wait for one rebuild. Returns whether this call rebuilt. See the migrations for the protocol.
 */
export async function refreshWindowBase(em: EntityManager, now: Date): Promise<boolean> {
  const knex = em.getKnex('write');
  const day = dayOf(now);
  const asOf = isoDay(day);
  const rows = async (trx: typeof knex, fragment: Sql) => ((await trx.raw(fragment.text, fragment.values as never[])) as { rows: StateRow[] }).rows;
  const [state] = await rows(knex, STATE);
  if (state?.as_of !== asOf) {
    // txA: switch the day under the writers' lock, held exclusively only for this short transaction. The today
    // rows of the days ≥ as_of are exact when the day moves forward; otherwise the trigger on the state row
    // rebuilds them in this update, while no writer is between its reading of as_of and its commit. base_as_of
    // and base_generation stay: searches go on reading the previous day's base until txB commits (isPrevious).
    await knex.transaction(async (trx) => {
      await trx.raw(`select pg_advisory_xact_lock(${WRITERS_LOCK})`);
      await trx.raw('update search_window_state set as_of = ?::date where id = 1 and as_of is distinct from ?::date', [asOf, asOf]);
    });
  }
  // txB: one rebuilder at a time; the others wait here and then find the base valid.
  return knex.transaction(async (trx) => {
    await trx.raw(`select pg_advisory_xact_lock(${REBUILD_LOCK})`);
    const [current] = await rows(trx, STATE);
    if (!current || current.as_of !== asOf || (current.base_as_of === asOf && current.generation === current.base_generation)) return false;
    await trx.raw(`set local work_mem = '64MB'`);
    // No writer touches the days before as_of any more.
    await trx.raw('delete from search_window_today where day < ?::date', [asOf]);
    await trx.raw('delete from search_window_base');
    const insert = sql`insert into search_window_base (thing_id, month_n, week_n, week_s, trend_hi, month_hi, week_hi, day_hi) ${baseSelect(day)}`;
    await trx.raw(insert.text, insert.values as never[]);
    await trx.raw('update search_window_state set base_generation = ?::bigint, base_as_of = ?::date, rebuilds = rebuilds + 1, built_at = ? where id = 1', [current.generation, asOf, now.toISOString()]);
    // Both tables were rewritten: fresh statistics for the lists' plans.
    await trx.raw('analyze search_window_base, search_window_today');
    return true;
  });
}

/**
 * The ids at positions [offset, offset + limit) of the things matching `where` (a condition over `things t`) in
 * the window order `sort` at `now`.
 */
export async function windowSortPage(
  em: EntityManager,
  where: Sql,
  page: Page,
  sort: WindowSort,
  now: Date,
  /** The number of things matching `where`, when the search knows it cheaply (its cached `total_items`). */
  countMatches?: () => Promise<number>,
): Promise<number[]> {
  const plan = planWindow(now, WINDOW_SECONDS[sort]);
  // Which way to order (see pageIn) is decided once, outside the page's transaction: a count from a moment earlier
  // only chooses the faster path, both give the same page.
  const small = countMatches ? (await countMatches()) < windowSortTuning.smallFilter : null;
  for (let attempt = 0; ; attempt++) {
    const fallback = attempt >= MAX_REBUILDS;
    const result = await em.transactional(
      async (tx) => {
        const txEm = tx as EntityManager;
        // The lists must be read in index order, never by scanning and sorting a day (the plan the planner would
        // pick on stale statistics of a table rewritten daily), and no query here is worth compiling.
        await query(txEm, raw(`select set_config('jit', 'off', true)`));
        const [state] = await query<StateRow>(txEm, STATE);
        const lists = { base: raw('search_window_base'), today: raw('search_window_today'), previous: false, small };
        if (isValid(state, plan.day)) return pageIn(txEm, where, page, sort, plan, lists);
        if (isPrevious(state, plan.day)) return pageIn(txEm, where, page, sort, plan, { ...lists, previous: true });
        const computed = { base: sql`(${baseSelect(plan.day)})`, today: raw('(select d.day, d.thing_id, d.flattrs, d.epoch_sum from thing_flattr_days d)'), previous: false, small };
        return fallback ? pageIn(txEm, where, page, sort, plan, computed) : null;
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
    if (result) return result;
    await refreshWindowBase(em, now);
  }
}

async function countAtMost(em: EntityManager, where: Sql, cap: number): Promise<number> {
  const [row] = await query<{ n: number }>(em, sql`select count(*)::int as n from (select 1 from things t where ${where} limit ${cap}) s`);
  return row!.n;
}

/** The static list's bound (a base column with an index) and the base's exact whole days, per sort. */
const HI: Record<WindowSort, string> = { flattrs_month: 'month_hi', flattrs_week: 'week_hi', flattrs_day: 'day_hi', trend: 'trend_hi' };
const PAST: Record<WindowSort, string | null> = { flattrs_month: 'month_n', flattrs_week: 'week_n', flattrs_day: null, trend: 'week_n' };

const BY_FLATTRS = raw('t.flattrs_count desc, t.id desc');

interface CandidateRow {
  id: number;
  n: number;
  key: string;
  fc: number;
  c1: number;
  h1: string | null;
  c2: number;
  h2: string | null;
  c3: number;
  h3: string | null;
}

interface Candidate {
  id: number;
  n: number;
  key: number;
  fc: number;
}

/**
 * Rows read from each list in the first round, for a page ending at position n, and the factor per further
 * round; filters with fewer matches than `smallFilter` are ordered whole, without the lists. Tests change them
 * to make pages go through several rounds and stop on the bound, or through either path.
 */
// Measured at 1M things (page of 31, 4 runs each): 1.25n + 32 doubling against 2n + 32 × 4 — first pages 15–20 ms
// against 25–35, page 100 of 20 by trend 95–100 ms against 180–250; the bound usually holds after the first round,
// so reading less in it pays.
// smallFilter, measured at 1M things (trend, page 3 of 30, single tags, 3 runs each): the lists test the filter
// thing by thing along the window order, so a filter of 0.1–1% of the things took 1.2–2.6 s there (1,000: 3,500
// to 8,000 matches), against 55–160 ms ordered whole; ordering whole costs about 20 µs a match (12,000: 240 ms
// either way). 10,000 when the search knows its total; the capped count it costs otherwise is one heap visit per
// match up to the cap.
export const windowSortTuning = { firstDepth: (n: number) => Math.ceil(1.25 * n) + 32, growth: 2, smallFilter: 10_000 };

/** The base column telling whether the window's partially covered oldest day has flattrs (> its exact days). */
const OLDEST: Record<WindowSort, string> = {
  flattrs_month: 'b.month_hi > b.month_n',
  flattrs_week: 'b.week_hi > b.week_n',
  flattrs_day: 'b.day_hi > 0',
  trend: 'b.week_hi > b.week_n',
};

/**
 * One page in the current transaction, by the threshold algorithm. `base` is the static relation
 * (`search_window_base`, or the same computed from thing_flattr_days), `today` the live one (flattrs per day and
 * thing). Each round reads the first m rows matching `where` of both lists (L1: base rows by the sort's bound,
 * L2: today's rows by flattrs), computes the exact key of each thing read, and stops when the
 * (offset + limit)-th best key exceeds h1 + h2, the bounds at depth m (an unread thing's key is at most that),
 * or when both lists are exhausted (then every thing with a key > 0 was read).
 *
 * Exact key: the base's whole days + its flattrs in the partial oldest day (read from `flattrs (thing_id,
 * created_at)` only when the base says that day has any) + today's row − its flattrs after T (future-dated
 * ones, read once for all things through `flattrs_created_idx`: none in production). The filter is a subquery
 * per list row, and each candidate's rows are fetched by key in a `lateral (… limit 1)` (which the planner
 * does not flatten into a join), so that the lists are read in index order and no table is scanned, whatever
 * the planner's statistics of tables rewritten daily.
 *
 * `previous`: the base holds day D − 1 (the rebuild of day D has not committed yet). Its exact columns then
 * cover [D − k, D − 2] (none for k = 1), so key = base + today rows of D − 1 and of D − the flattrs of day D − k
 * before the window's start T − W + 1 (read per candidate from `flattrs (thing_id, created_at)`) − future ones.
 * A third list L3, the today rows of D − 1 by flattrs, joins the threshold; the base's bounds of D − 1 still
 * bound its share (month_hi covers [D − 31, D − 2], week_hi and trend_hi [D − 8, D − 2], each trend term ≥ 0 at
 * D − 1's midnight and shrinking with T). For k = 1 the base has no share and L1 is left out.
 */
async function pageIn(
  em: EntityManager,
  where: Sql,
  page: Page,
  sort: WindowSort,
  plan: WindowPlan,
  { base, today, previous, small }: { base: Sql; today: Sql; previous: boolean; small: boolean | null },
): Promise<number[]> {
  const n = page.offset + page.limit;
  const trend = sort === 'trend';
  const hi = raw(HI[sort]);
  const past = PAST[sort];
  const k = plan.days;
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();
  const day = isoDay(plan.day);
  const dayBefore = isoDay(plan.day - 1);
  const oldFrom = plan.now - k * DAY + 1;
  const oldTo = (plan.day - k + 1) * DAY;
  const epoch = raw('floor(extract(epoch from f.created_at))');
  // `o`: what the base lacks of the window's oldest day (added), or, with the previous day's base, what it and
  // the today rows of D − 1 hold before the window's start (subtracted, as negative n and s).
  const oldest = previous
    ? sql`left join lateral (select -count(*)::int as n, -coalesce(sum(${epoch}), 0)::bigint as s from flattrs f
          where f.thing_id = c.id and f.created_at >= ${at((plan.day - k) * DAY)}::timestamptz and f.created_at < ${at(oldFrom)}::timestamptz) o on true`
    : oldFrom < oldTo
      ? sql`left join lateral (select count(*)::int as n, coalesce(sum(${epoch}), 0)::bigint as s from flattrs f
          where ${raw(OLDEST[sort])} and f.thing_id = c.id and f.created_at >= ${at(oldFrom)}::timestamptz and f.created_at < ${at(oldTo)}::timestamptz) o on true`
      : raw('cross join (select 0 as n, 0::bigint as s) o');
  const count = sql`(${raw(past ? `coalesce(b.${past}, 0)` : '0')} + coalesce(o.n, 0) + coalesce(w1.flattrs, 0) + coalesce(w.flattrs, 0) - coalesce(fut.n, 0))`;
  const key = trend
    ? sql`(${count}::bigint * ${WINDOW_SECONDS.trend - plan.now}::bigint + coalesce(b.week_s, 0) + coalesce(o.s, 0) + coalesce(w1.epoch_sum, 0) + coalesce(w.epoch_sum, 0) - coalesce(fut.s, 0))`
    : count;
  const todayWeight = trend ? WINDOW_SECONDS.trend : 1;
  // Whether the base holds a share of the key (not for one day read with the previous day's base).
  const baseShare = !(previous && k === 1);
  const compare = (x: Candidate, y: Candidate) => y.key - x.key || (trend ? y.n - x.n : 0) || y.fc - x.fc || y.id - x.id;

  const fut = sql`fut as materialized (select f.thing_id, count(*)::int as n, sum(${epoch})::bigint as s from flattrs f
          where f.created_at >= ${at(plan.now + 1)}::timestamptz and f.created_at < ${at((plan.day + 1) * DAY)}::timestamptz group by f.thing_id)`;
  const exact = sql`c.id, ${count}::int as n, ${key}::text as key, (select t.flattrs_count from things t where t.id = c.id) as fc`;
  const lookups = sql`left join lateral (select b.* from ${base} b where b.thing_id = c.id limit 1) b on true
          left join lateral (select w.flattrs, w.epoch_sum from ${today} w where w.day = ${day}::date and w.thing_id = c.id limit 1) w on true
          ${previous
            ? sql`left join lateral (select w.flattrs, w.epoch_sum from ${today} w where w.day = ${dayBefore}::date and w.thing_id = c.id limit 1) w1 on true`
            : raw('cross join (select 0 as flattrs, 0::bigint as epoch_sum) w1')}
          left join lateral (select fut.n, fut.s from fut where fut.thing_id = c.id limit 1) fut on true
          ${oldest}`;
  const toCandidate = (r: CandidateRow): Candidate => ({ id: r.id, n: r.n, key: Number(r.key), fc: r.fc });

  // A selective filter (fewer than smallFilter matches, found through its own indexes): every match is a
  // candidate, and the whole order, key-0 tail included, is sorted here. Unless the caller knows the number of
  // matches, a count capped at smallFilter tells.
  if (small ?? (await countAtMost(em, where, windowSortTuning.smallFilter)) < windowSortTuning.smallFilter) {
    const small = await query<CandidateRow>(em, sql`with c as materialized (select t.id from things t where ${where}), ${fut} select ${exact} from c ${lookups}`);
    const all = small.map(toCandidate);
    const hotOnes = all.filter((c) => c.key > 0).sort(compare);
    const cold = all.filter((c) => c.key <= 0).sort((x, y) => y.fc - x.fc || y.id - x.id);
    return [...hotOnes, ...cold].slice(page.offset, n).map((c) => c.id);
  }

  // The lists must be read in index order, never by scanning and sorting a day of rows (the plan the planner
  // would pick on stale statistics of tables rewritten daily).
  await query(em, raw(`select set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)`));
  let positives: Candidate[] = [];
  let exhausted = false;
  for (let m = windowSortTuning.firstDepth(n); ; m *= windowSortTuning.growth) {
    const rows = await query<CandidateRow>(
      em,
      sql`with l1 as materialized (select b.thing_id as id, b.${hi}::bigint as hi from ${base} b
          where ${baseShare ? raw('true') : raw('false')} and b.${hi} > 0 and (select ${where} from things t where t.id = b.thing_id) order by b.${hi} desc limit ${m}),
        l2 as materialized (select w.thing_id as id, w.flattrs::bigint * ${todayWeight}::bigint as hi from ${today} w
          where w.day = ${day}::date and (select ${where} from things t where t.id = w.thing_id) order by w.flattrs desc limit ${m}),
        l3 as materialized (select w.thing_id as id, w.flattrs::bigint * ${todayWeight}::bigint as hi from ${today} w
          where ${previous ? raw('true') : raw('false')} and w.day = ${dayBefore}::date and (select ${where} from things t where t.id = w.thing_id)
          order by w.flattrs desc limit ${m}),
        ${fut},
        c as materialized (select l1.id from l1 union select l2.id from l2 union select l3.id from l3)
        select ${exact},
          (select count(*) from l1)::int as c1, (select min(l1.hi) from l1)::text as h1,
          (select count(*) from l2)::int as c2, (select min(l2.hi) from l2)::text as h2,
          (select count(*) from l3)::int as c3, (select min(l3.hi) from l3)::text as h3
        from c ${lookups}`,
    );
    positives = rows
      .map(toCandidate)
      .filter((c) => c.key > 0)
      .sort(compare);
    const first = rows[0];
    const h1 = first && first.c1 === m ? Number(first.h1) : 0;
    const h2 = first && first.c2 === m ? Number(first.h2) : 0;
    const h3 = first && first.c3 === m ? Number(first.h3) : 0;
    if (h1 === 0 && h2 === 0 && h3 === 0) {
      exhausted = true;
      break;
    }
    if (positives.length >= n && positives[n - 1]!.key > h1 + h2 + h3) break;
  }
  const head = positives.slice(page.offset, n).map((c) => c.id);
  if (head.length === page.limit || !exhausted) return head;

  // The page reaches past the things with a key > 0, all of which were read: the things with key 0 follow in
  // (flattrs, id) order.
  const hot = positives.length;
  await query(em, raw(`select set_config('enable_bitmapscan', 'on', true), set_config('enable_sort', 'on', true)`));
  const rest = await query<{ id: number }>(
    em,
    sql`select t.id from things t where ${where} and t.id <> all(${`{${positives.map((c) => c.id).join(',')}}`}::int[])
      order by ${BY_FLATTRS} offset ${Math.max(0, page.offset - hot)} limit ${page.limit - head.length}`,
  );
  return [...head, ...rest.map((r) => r.id)];
}
