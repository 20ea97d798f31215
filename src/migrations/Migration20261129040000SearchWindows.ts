import { Migration } from '@mikro-orm/migrations';

/**
 * The base of the search sort windows (spec §10.4; src/services/search/window-sort.ts, windows.ts).
 *
 * A window of k days at an instant T of UTC day D covers the k − 1 whole days [D − k + 1, D − 1], the same for
 * every T of day D, plus two edges read from `flattrs` (about one day of flattrs in all). `search_window_base`
 * holds those whole days per thing for the day `search_window_state.as_of`: month_n over [D − 29, D − 1],
 * week_n and week_s (sum of unixtimes) over [D − 6, D − 1], trend_hi = week_n·(604800 − D·86400) + week_s.
 * Indexes on month_n, week_n and trend_hi give the top of each order. No foreign key to things (see the entity).
 *
 * The base is valid for searches of day D when as_of = D and generation = base_generation. It is rebuilt by
 * window-sort.ts (`refreshWindowBase`), lazily by the first search that finds it invalid:
 *
 * - txA, only when the day changed: advisory lock `search_window:writers` EXCLUSIVE (xact), then
 *   `as_of := D, base_generation := null`, commit. Short: it does nothing else.
 * - txB (READ COMMITTED): advisory lock `search_window:rebuild` (xact; concurrent searches wait here, then find
 *   the base valid and do not rebuild), read the state (a fresh snapshot after the wait); if still invalid:
 *   g := generation; delete every base row; insert the aggregate of `thing_flattr_days` over [D − 29, D − 1]
 *   (a later statement, so a later snapshot than the read of g); `base_generation := g, rebuilds + 1`; commit.
 *
 * Writers: the base's days are in the past, so today's flattrs never change it; only a flattr inserted or
 * deleted with created_at in [as_of − 29, as_of) does (backdated inserts by admin tools or seeds, deleting a
 * user or thing with recent flattrs). AFTER STATEMENT triggers on `flattrs` (transition tables, once per
 * statement) take the advisory lock `search_window:writers` SHARED (xact, in memory: no row lock, no WAL, and
 * concurrent writers do not wait for each other), THEN read as_of (a new snapshot: plpgsql takes one per
 * statement under READ COMMITTED), and when a changed row lies in [as_of − 29, as_of) set a transaction-local
 * flag. A deferred constraint trigger bumps `generation` at commit when the flag is set (the one-row lock is
 * taken last in the transaction, as search_generation's, so it cannot deadlock with the writer's other locks).
 *
 * Why every change is seen (X: a writer's transaction, R: a rebuild's txB for day D):
 *
 * 1. X decided against the old as_of (before txA): X holds the shared lock until it ends, so txA, which needs it
 *    exclusive, commits after X. R starts after txA, so R's insert snapshot contains X's flattrs and day rows.
 * 2. X decided after txA: it read as_of = D. If its flattrs are in [D − 29, D), it bumps generation at its
 *    commit. If X committed before R read g, R's insert (a later snapshot) contains X and g includes the bump:
 *    valid and right. If X commits after R read g (before or after R's insert), generation ends > g =
 *    base_generation and the next search rebuilds: never valid without X.
 *    (R's final update of the state row waits for X's bump to commit if both run at once; no cycle: X takes
 *    that row last, and R holds no lock X needs.)
 * 3. While txA waits for the exclusive lock, new writers queue behind it: flattr writes pause for as long as the
 *    longest flattr transaction already running, once a day — not for the rebuild itself.
 * 4. A writer in REPEATABLE READ or SERIALIZABLE would read as_of from its own older snapshot: for those the
 *    trigger also locks the state row FOR KEY SHARE, which fails with a serialization error if txA changed the
 *    row after the writer's snapshot.
 * 5. Searches read the state, base rows and edges in one REPEATABLE READ snapshot: a change of the base's days
 *    visible in that snapshot was either in the base or had bumped generation (same commit), which the search
 *    sees and then rebuilds first. Writes committed after the snapshot are invisible to all three.
 *
 * Deleting a thing cascades to its flattrs (so may bump) and leaves its base row until the next rebuild; every
 * read joins `things`, so it never shows. seed:scale, which loads with user triggers disabled, resets as_of to
 * null, so the first search after it rebuilds.
 */
export class Migration20261129040000SearchWindows extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "search_window_state" ("id" int not null, "as_of" date null, "generation" bigint not null, "base_generation" bigint null, "rebuilds" bigint not null, "built_at" timestamptz null, constraint "search_window_state_pkey" primary key ("id"));`);
    this.addSql(`insert into "search_window_state" ("id", "as_of", "generation", "base_generation", "rebuilds") values (1, null, 0, null, 0);`);
    this.addSql(`create table "search_window_base" ("thing_id" int not null, "month_n" int not null, "week_n" int not null, "week_s" bigint not null, "trend_hi" bigint not null, constraint "search_window_base_pkey" primary key ("thing_id"));`);
    this.addSql(`create index "search_window_base_month_idx" on "search_window_base" ("month_n");`);
    this.addSql(`create index "search_window_base_week_idx" on "search_window_base" ("week_n");`);
    this.addSql(`create index "search_window_base_trend_idx" on "search_window_base" ("trend_hi");`);

    this.addSql(`create function search_window_flattrs_changed() returns trigger language plpgsql as $$
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
    this.addSql(`create function search_window_bump() returns trigger language plpgsql as $$
begin
  if current_setting('flattr.search_window_stale', true) = 'yes' then
    perform set_config('flattr.search_window_stale', 'bumped', true);
    update search_window_state set generation = generation + 1 where id = 1;
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger flattrs_search_window_insert after insert on flattrs referencing new table as changed_flattrs for each statement execute function search_window_flattrs_changed();`);
    this.addSql(`create trigger flattrs_search_window_delete after delete on flattrs referencing old table as changed_flattrs for each statement execute function search_window_flattrs_changed();`);
    this.addSql(`create constraint trigger flattrs_search_window_bump after insert or delete on flattrs deferrable initially deferred for each row execute function search_window_bump();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists flattrs_search_window_insert on flattrs;`);
    this.addSql(`drop trigger if exists flattrs_search_window_delete on flattrs;`);
    this.addSql(`drop trigger if exists flattrs_search_window_bump on flattrs;`);
    this.addSql(`drop function if exists search_window_flattrs_changed, search_window_bump;`);
    this.addSql(`drop table if exists "search_window_base";`);
    this.addSql(`drop table if exists "search_window_state";`);
  }
}
