import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 18, a flattr's write cost: the per-thing flattr counters (spec §12.2: `flattrs_count`,
 * `flattrs_user_count`, `last_flattr_at`) move from `things` to `thing_counters`, one narrow row per thing.
 *
 * Every flattr updated its `things` row twice (the counters row trigger, then the distinct-user statement
 * trigger). A `things` row is wide (the derived search columns) and has 12 indexes, four of them GIN (tags,
 * lower_tags, search_vector, search_text trigrams); `flattrs_count` was in two of them (the flattrs sort), so the
 * first update was never HOT and added an entry to every index — hundreds of trigram entries — and both fired the
 * things row triggers. Measured on copies of the 100k bench dataset: EXPLAIN ANALYZE of one flattr insert in a
 * rolled-back transaction, median 1.45 ms with the triggers updating `things`, 0.80 ms with this migration (counters
 * trigger 0.48 → 0.14 ms, its live notification included; user-count trigger 0.23 → 0.10 ms); backend CPU per
 * autocommitted flattr insert 1.20–1.65 → 0.55–0.87 ms (bench/README.md, issue 18).
 *
 * - `thing_counters` (fillfactor 80, so the user-count update of a first flattr is usually HOT) holds the counters
 *   and a copy of `language_id` and `category_id`, so that the flattrs order of a search filtered by language and
 *   category still reads one index in order (Migration20261129070000SearchLanguageCategory). Its row is created
 *   with the thing and follows its language and category, by triggers on `things`, whoever writes; it goes with
 *   the thing (cascade).
 * - The flattrs triggers keep the same logic on `thing_counters`. The counters row lock now serialises the writers
 *   of one thing where the thing row lock did (the day rows and search window rows are written after it, as the
 *   earlier migrations describe); a thing edit takes the thing row, then the counters row, and a flattr holds only
 *   a key-share lock on the thing row (the foreign key), so the order adds no deadlock.
 * - Live events (Migration20261205010000LiveEvents) announced a counter change as an update of the thing; the
 *   counters row's own trigger sends the same `{"k":"thing","op":"update",...}` payload, so clients see what
 *   they saw before (PostgreSQL delivers identical payloads of one transaction once).
 * - The sort indexes move with the column; the language filter keeps an index on `things`
 *   (language_id, category_id) for counts and the other sorts.
 */
export class Migration20261205030000ThingCounters extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "thing_counters" ("thing_id" int not null, "language_id" varchar(32) not null, "category_id" varchar(32) not null, "flattrs_count" int not null default 0, "flattrs_user_count" int not null default 0, "last_flattr_at" timestamptz null, constraint "thing_counters_pkey" primary key ("thing_id")) with (fillfactor = 80);`);
    this.addSql(`alter table "thing_counters" add constraint "thing_counters_thing_id_foreign" foreign key ("thing_id") references "things" ("id") on update cascade on delete cascade;`);
    this.addSql(`insert into thing_counters (thing_id, language_id, category_id, flattrs_count, flattrs_user_count, last_flattr_at)
select id, language_id, category_id, flattrs_count, flattrs_user_count, last_flattr_at from things;`);
    this.addSql(`create index "thing_counters_flattrs_idx" on "thing_counters" ("flattrs_count", "thing_id");`);
    this.addSql(`create index "thing_counters_language_category_flattrs_idx" on "thing_counters" ("language_id", "category_id", "flattrs_count", "thing_id");`);

    this.addSql(`create function things_counters_row() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into thing_counters (thing_id, language_id, category_id) values (new.id, new.language_id, new.category_id);
  else
    update thing_counters set language_id = new.language_id, category_id = new.category_id where thing_id = new.id;
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger things_counters_insert after insert on things for each row execute function things_counters_row();`);
    this.addSql(`create trigger things_counters_update after update of language_id, category_id on things for each row when (old.language_id is distinct from new.language_id or old.category_id is distinct from new.category_id) execute function things_counters_row();`);

    this.addSql(`create or replace function flattrs_counters_after_insert() returns trigger language plpgsql as $$
begin
  update thing_counters set
    flattrs_count = flattrs_count + 1,
    last_flattr_at = greatest(coalesce(last_flattr_at, new.created_at), new.created_at)
  where thing_id = new.thing_id;
  return null;
end $$;`);
    // Locked first, so that max(created_at), read by the update's own later snapshot, sees every committed flattr.
    this.addSql(`create or replace function flattrs_counters_after_delete() returns trigger language plpgsql as $$
begin
  perform 1 from thing_counters where thing_id = old.thing_id for no key update;
  update thing_counters set
    flattrs_count = flattrs_count - 1,
    last_flattr_at = (select max(created_at) from flattrs where thing_id = old.thing_id)
  where thing_id = old.thing_id;
  return null;
end $$;`);
    this.addSql(`create or replace function flattrs_user_count_after_insert() returns trigger language plpgsql as $$
begin
  update thing_counters t set flattrs_user_count = t.flattrs_user_count + added.users
  from (
    select i.thing_id, count(distinct i.user_id)::int as users
    from inserted_flattrs i
    where not exists (
      select 1 from flattrs f
      where f.thing_id = i.thing_id and f.user_id = i.user_id
        and not exists (select 1 from inserted_flattrs j where j.id = f.id))
    group by i.thing_id
  ) added
  where t.thing_id = added.thing_id;
  return null;
end $$;`);
    this.addSql(`create or replace function flattrs_user_count_after_delete() returns trigger language plpgsql as $$
begin
  update thing_counters t set flattrs_user_count = t.flattrs_user_count - gone.users
  from (
    select d.thing_id, count(distinct d.user_id)::int as users
    from deleted_flattrs d
    where not exists (select 1 from flattrs f where f.thing_id = d.thing_id and f.user_id = d.user_id)
    group by d.thing_id
  ) gone
  where t.thing_id = gone.thing_id;
  return null;
end $$;`);

    this.addSql(`create function live_notify_thing_counters() returns trigger language plpgsql as $$
begin
  perform pg_notify('flattr_live', json_build_object('k', 'thing', 'op', 'update', 't', t.id, 'o', t.owner_id, 'h', t.hidden)::text)
  from things t where t.id = new.thing_id;
  return null;
end $$;`);
    this.addSql(`create trigger thing_counters_live_update after update of flattrs_count, flattrs_user_count, last_flattr_at on thing_counters for each row when (old.flattrs_count is distinct from new.flattrs_count or old.flattrs_user_count is distinct from new.flattrs_user_count or old.last_flattr_at is distinct from new.last_flattr_at) execute function live_notify_thing_counters();`);

    this.addSql(`create index "things_language_category_idx" on "things" ("language_id", "category_id");`);
    this.addSql(`drop index if exists "things_language_category_flattrs_idx";`);
    this.addSql(`drop index if exists "things_flattrs_count_id_idx";`);
    this.addSql(`alter table "things" drop column "last_flattr_at", drop column "flattrs_count", drop column "flattrs_user_count";`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "things" add column "last_flattr_at" timestamptz null, add column "flattrs_count" int not null default 0, add column "flattrs_user_count" int not null default 0;`);
    this.addSql(`update things t set last_flattr_at = c.last_flattr_at, flattrs_count = c.flattrs_count, flattrs_user_count = c.flattrs_user_count
from thing_counters c where c.thing_id = t.id and (c.flattrs_count <> 0 or c.flattrs_user_count <> 0 or c.last_flattr_at is not null);`);
    this.addSql(`create index "things_flattrs_count_id_idx" on "things" ("flattrs_count", "id");`);
    this.addSql(`create index "things_language_category_flattrs_idx" on "things" ("language_id", "category_id", "flattrs_count", "id");`);
    this.addSql(`drop index if exists "things_language_category_idx";`);

    // The functions as Migration20261129030000FlattrUserCount left them.
    this.addSql(`create or replace function flattrs_counters_after_insert() returns trigger language plpgsql as $$
begin
  perform 1 from things where id = new.thing_id for no key update;
  update things set
    flattrs_count = flattrs_count + 1,
    last_flattr_at = greatest(coalesce(last_flattr_at, new.created_at), new.created_at)
  where id = new.thing_id;
  return null;
end $$;`);
    this.addSql(`create or replace function flattrs_counters_after_delete() returns trigger language plpgsql as $$
begin
  perform 1 from things where id = old.thing_id for no key update;
  update things set
    flattrs_count = flattrs_count - 1,
    last_flattr_at = (select max(created_at) from flattrs where thing_id = old.thing_id)
  where id = old.thing_id;
  return null;
end $$;`);
    this.addSql(`create or replace function flattrs_user_count_after_insert() returns trigger language plpgsql as $$
begin
  update things t set flattrs_user_count = t.flattrs_user_count + added.users
  from (
    select i.thing_id, count(distinct i.user_id)::int as users
    from inserted_flattrs i
    where not exists (
      select 1 from flattrs f
      where f.thing_id = i.thing_id and f.user_id = i.user_id
        and not exists (select 1 from inserted_flattrs j where j.id = f.id))
    group by i.thing_id
  ) added
  where t.id = added.thing_id;
  return null;
end $$;`);
    this.addSql(`create or replace function flattrs_user_count_after_delete() returns trigger language plpgsql as $$
begin
  update things t set flattrs_user_count = t.flattrs_user_count - gone.users
  from (
    select d.thing_id, count(distinct d.user_id)::int as users
    from deleted_flattrs d
    where not exists (select 1 from flattrs f where f.thing_id = d.thing_id and f.user_id = d.user_id)
    group by d.thing_id
  ) gone
  where t.id = gone.thing_id;
  return null;
end $$;`);

    this.addSql(`drop trigger if exists thing_counters_live_update on thing_counters;`);
    this.addSql(`drop function if exists live_notify_thing_counters();`);
    this.addSql(`drop trigger if exists things_counters_insert on things;`);
    this.addSql(`drop trigger if exists things_counters_update on things;`);
    this.addSql(`drop function if exists things_counters_row();`);
    this.addSql(`drop table if exists "thing_counters";`);
  }
}
