import { Migration } from '@mikro-orm/migrations';

/**
 * Window sorts whose page cost does not grow with the day's flattrs (spec §10.4; window-sort.ts, windows.ts).
 * Builds on Migration20261129040000SearchWindows (its rebuild protocol, locks and race reasoning still hold).
 *
 * A window of k days at an instant T of UTC day D: key(T) = past + partial oldest day + today so far, where
 * past = the whole days [D − k + 1, D − 1] (static for day D), the oldest day D − k contributes a part of its
 * flattrs that shrinks as T grows, and today [D·86400, T] grows. The page is found by the threshold algorithm
 * over two lists, each sorted by an upper bound of its share of the key:
 *
 * - L1, static for the day, in `search_window_base` (rebuilt lazily once a day as before): month_hi = flattrs
 *   of [D − 30, D − 1], week_hi = [D − 7, D − 1], day_hi = day D − 1, and trend_hi = n8·(604800 − D·86400) + s8
 *   over [D − 7, D − 1] (n8 flattrs, s8 the sum of their unixtimes: the trend of those flattrs at midnight, each
 *   term counted ≥ 0, so ≥ their share of the key at every T of day D). Each bounds the past + oldest-day
 *   share. month_n, week_n, week_s keep the exact whole days; each _hi has an index.
 * - L2, live, in `search_window_today`: flattrs (and the sum of their unixtimes) per (day, thing) for the
 *   days ≥ as_of, kept by the flattrs
 *   triggers in the flattr's own transaction; its (day, flattrs) index lists day D by flattrs. flattrs(D) ≥
 *   today's share of a count; 604800·flattrs(D) ≥ today's share of the trend.
 *
 * Writers: the statement triggers (after the row triggers `flattrs_counters_*` have locked the thing rows, so
 * a today row of thing t is only written by the transaction holding thing t's row: no new waits between
 * writers) take the writers' lock SHARED, read as_of, then (1) flag the base stale when a changed flattr lies
 * in [as_of − 30, as_of) (the oldest days now belong to the base too), and (2) add or subtract the changed
 * flattrs of days ≥ as_of in `search_window_today`. Invariant: once as_of = A is committed and no writer that
 * read an older as_of is still running, the today rows of every day ≥ A equal thing_flattr_days'.
 *
 * - txA (day switch to D, writers' lock EXCLUSIVE, so no writer is between its decision and its commit): when
 *   the old as_of is null or after D (first build, seed, clock going back), the rows of days ≥ D are rebuilt
 *   from thing_flattr_days by the trigger `search_window_state_as_of`, in txA's own update of as_of (so also
 *   when code that predates this migration switches the day); when it is ≤ D they already hold the invariant. Writers queued behind txA with
 *   uncommitted flattrs are not in txA's snapshot and add theirs after it: nothing counted twice or lost.
 * - txB (rebuild) deletes the today rows of days < as_of, which no writer touches any more.
 * - Readers read state, base, today rows and flattrs in one REPEATABLE READ snapshot and use them only when
 *   as_of = D and the base is valid, as before.
 *
 * `search_window_state.as_of` is reset so that the first search rebuilds the base with the new columns.
 */
export class Migration20261129060000SearchWindowsLive extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "search_window_base_month_idx";`);
    this.addSql(`drop index if exists "search_window_base_week_idx";`);
    this.addSql(`delete from "search_window_base";`);
    this.addSql(`update "search_window_state" set "as_of" = null, "base_generation" = null where "id" = 1;`);
    this.addSql(`alter table "search_window_base" add column "month_hi" int not null, add column "week_hi" int not null, add column "day_hi" int not null;`);
    this.addSql(`create index "search_window_base_month_hi_idx" on "search_window_base" ("month_hi");`);
    this.addSql(`create index "search_window_base_week_hi_idx" on "search_window_base" ("week_hi");`);
    this.addSql(`create index "search_window_base_day_hi_idx" on "search_window_base" ("day_hi");`);

    this.addSql(`create table "search_window_today" ("day" date not null, "thing_id" int not null, "flattrs" int not null, "epoch_sum" bigint not null, constraint "search_window_today_pkey" primary key ("day", "thing_id"));`);
    this.addSql(`create index "search_window_today_flattrs_idx" on "search_window_today" ("day", "flattrs");`);

    // The today rows of the days ≥ as_of are rebuilt in the transaction that moves as_of back or sets it first
    // (txA, which holds the writers' lock exclusively), whatever code runs it.
    this.addSql(`create function search_window_state_as_of_changed() returns trigger language plpgsql as $$
begin
  if new.as_of is not null and (old.as_of is null or new.as_of < old.as_of) then
    delete from search_window_today where day >= new.as_of;
    insert into search_window_today (day, thing_id, flattrs, epoch_sum)
    select d.day, d.thing_id, d.flattrs, d.epoch_sum from thing_flattr_days d where d.day >= new.as_of;
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger search_window_state_as_of after update of as_of on search_window_state for each row when (old.as_of is distinct from new.as_of) execute function search_window_state_as_of_changed();`);

    this.addSql(`create or replace function search_window_flattrs_changed() returns trigger language plpgsql as $$
declare
  a date;
begin
  perform pg_advisory_xact_lock_shared(hashtext('search_window:writers'));
  if current_setting('transaction_isolation') <> 'read committed' then
    perform 1 from search_window_state where id = 1 for key share;
  end if;
  select as_of into a from search_window_state where id = 1;
  if a is null then
    return null;
  end if;
  if exists (
    select 1 from changed_flattrs c
    where c.created_at >= ((a - 30)::timestamp at time zone 'UTC') and c.created_at < (a::timestamp at time zone 'UTC')
  ) then
    perform set_config('flattr.search_window_stale', 'yes', true);
  end if;
  if tg_op = 'INSERT' then
    insert into search_window_today (day, thing_id, flattrs, epoch_sum)
    select (c.created_at at time zone 'UTC')::date, c.thing_id, count(*), sum(floor(extract(epoch from c.created_at)))::bigint
    from changed_flattrs c where c.created_at >= (a::timestamp at time zone 'UTC')
    group by 1, 2
    on conflict (day, thing_id) do update set
      flattrs = search_window_today.flattrs + excluded.flattrs, epoch_sum = search_window_today.epoch_sum + excluded.epoch_sum;
  else
    with x as (
      select (c.created_at at time zone 'UTC')::date as day, c.thing_id, count(*)::int as n, sum(floor(extract(epoch from c.created_at)))::bigint as s
      from changed_flattrs c where c.created_at >= (a::timestamp at time zone 'UTC')
      group by 1, 2
    )
    update search_window_today w set flattrs = w.flattrs - x.n, epoch_sum = w.epoch_sum - x.s from x where w.day = x.day and w.thing_id = x.thing_id;
    delete from search_window_today w
    where w.flattrs <= 0 and (w.day, w.thing_id) in (
      select (c.created_at at time zone 'UTC')::date, c.thing_id from changed_flattrs c where c.created_at >= (a::timestamp at time zone 'UTC'));
  end if;
  return null;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists search_window_state_as_of on search_window_state;`);
    this.addSql(`drop function if exists search_window_state_as_of_changed;`);
    this.addSql(`create or replace function search_window_flattrs_changed() returns trigger language plpgsql as $$
declare
  a date;
begin
  perform pg_advisory_xact_lock_shared(hashtext('search_window:writers'));
  if current_setting('transaction_isolation') <> 'read committed' then
    perform 1 from search_window_state where id = 1 for key share;
  end if;
  select as_of into a from search_window_state where id = 1;
  if a is not null and exists (
    select 1 from changed_flattrs c
    where c.created_at >= ((a - 29)::timestamp at time zone 'UTC') and c.created_at < (a::timestamp at time zone 'UTC')
  ) then
    perform set_config('flattr.search_window_stale', 'yes', true);
  end if;
  return null;
end $$;`);
    this.addSql(`drop table if exists "search_window_today";`);
    this.addSql(`drop index if exists "search_window_base_month_hi_idx";`);
    this.addSql(`drop index if exists "search_window_base_week_hi_idx";`);
    this.addSql(`drop index if exists "search_window_base_day_hi_idx";`);
    this.addSql(`delete from "search_window_base";`);
    this.addSql(`update "search_window_state" set "as_of" = null, "base_generation" = null where "id" = 1;`);
    this.addSql(`alter table "search_window_base" drop column "month_hi", drop column "week_hi", drop column "day_hi";`);
    this.addSql(`create index "search_window_base_month_idx" on "search_window_base" ("month_n");`);
    this.addSql(`create index "search_window_base_week_idx" on "search_window_base" ("week_n");`);
  }
}
