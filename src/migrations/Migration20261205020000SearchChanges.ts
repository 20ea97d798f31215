import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 19, search warm under writes: `search_changes`, the log of what each `search_generation` step changed.
 *
 * Every transaction that moves the generation (Migration20261129050000SearchCounts) now also writes, from the same
 * deferred trigger and so in the same commit, one row per thing it inserted, edited (in a way a filter can see) or
 * deleted: the generation it moved to, the thing's id and the thing as it was before that change (`old_row`,
 * `to_jsonb(old)` with the derived search columns; null for an insert). A username change writes one row with a
 * null `thing_id`: the `user` filter reads usernames, which no per-thing correction follows.
 *
 * The search caches (src/services/search/changes.ts) use it to bring a count or a set of relevance levels read at
 * generation g0 up to the current generation g1 instead of reading them again: they evaluate the filter on each
 * changed thing's row at g0 (its first logged `old_row` after g0) and on its current row, in one statement (one
 * snapshot). The log of (g0, g1] is complete exactly when it holds g1 − g0 distinct generations, since every
 * bump writes at least one row: a generation moved by hand, or pruned from the log, makes the caches count again.
 * The expiry-cleanup job (src/jobs/jobs.ts) prunes generations too old for any correction.
 *
 * jsonb rather than a column of the `things` row type, because PostgreSQL refuses to alter a table whose row type
 * another table stores; `jsonb_populate_record(null::things, old_row)` gives the row back, new columns as null.
 */
export class Migration20261205020000SearchChanges extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "search_changes" ("id" bigserial primary key, "generation" bigint not null, "thing_id" int null, "old_row" jsonb null);`);
    this.addSql(`create index "search_changes_generation_index" on "search_changes" ("generation");`);
    // A transaction logs at most 1001 rows: one more than a correction applies (MAX_CORRECTED_CHANGES in
    // src/services/search/changes.ts), so a bulk update of every thing writes a bounded log and the caches count again.
    this.addSql(`create or replace function search_generation_bump() returns trigger language plpgsql as $$
declare
  moved_to bigint := nullif(current_setting('flattr.search_generation_moved_to', true), '')::bigint;
  logged int := coalesce(nullif(current_setting('flattr.search_changes_logged', true), '')::int, 0);
begin
  if moved_to is null then
    update search_generation set generation = generation + 1 where id = 1 returning generation into moved_to;
    perform set_config('flattr.search_generation_moved_to', moved_to::text, true);
  end if;
  if logged > 1000 then
    return null;
  end if;
  perform set_config('flattr.search_changes_logged', (logged + 1)::text, true);
  if TG_TABLE_NAME <> 'things' then
    insert into search_changes (generation, thing_id, old_row) values (moved_to, null, null);
  elsif TG_OP = 'INSERT' then
    insert into search_changes (generation, thing_id, old_row) values (moved_to, new.id, null);
  else
    insert into search_changes (generation, thing_id, old_row) values (moved_to, old.id, to_jsonb(old));
  end if;
  return null;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function search_generation_bump() returns trigger language plpgsql as $$
begin
  if current_setting('flattr.search_generation_bumped', true) is distinct from 'yes' then
    perform set_config('flattr.search_generation_bumped', 'yes', true);
    update search_generation set generation = generation + 1 where id = 1;
  end if;
  return null;
end $$;`);
    this.addSql(`drop table if exists "search_changes";`);
  }
}
