import { Migration } from '@mikro-orm/migrations';

/**
 * Search (spec §10, E11) and lookup (E7).
 *
 * - `flattr_lower(text)`: lower-casing as JavaScript's toLowerCase does it (spec §2.3), through the ICU root
 *   collation; plain `lower()` (the database's own collation) only where PostgreSQL was built without ICU.
 * - `things.lower_tags`, `things.search_text`, `things.search_vector`: derived from title, description, url and
 *   tags by a BEFORE trigger, whoever writes the row; GIN indexes on them (trigram for `search_text`).
 * - `thing_flattr_days`: flattrs per thing per UTC day (count and sum of unixtimes), kept by triggers on
 *   `flattrs` in the flattr's own transaction, so the sort windows of §10.4 never scan the flattrs table.
 * - Indexes for the other filters and sorts: url prefix (pattern ops), language, category, flattr count,
 *   and `flattrs.created_at` for the partial days at the ends of a window.
 *
 * pg_trgm is a trusted extension (PostgreSQL 13+), so a database owner may install it. If it cannot be
 * installed, the migration still succeeds without the trigram index: `query` filters then scan `search_text`.
 */
export class Migration20261129010000Search extends Migration {
  override async up(): Promise<void> {
    this.addSql(`do $$
begin
  if exists (select 1 from pg_collation where collname = 'und-x-icu') then
    execute $f$create function flattr_lower(text) returns text language sql immutable strict parallel safe as 'select lower($1 collate "und-x-icu")'$f$;
  else
    execute $f$create function flattr_lower(text) returns text language sql immutable strict parallel safe as 'select lower($1)'$f$;
  end if;
end $$;`);

    this.addSql(`create table "thing_flattr_days" ("thing_id" int not null, "day" date not null, "flattrs" int not null, "epoch_sum" bigint not null, constraint "thing_flattr_days_pkey" primary key ("thing_id", "day"));`);
    this.addSql(`create index "thing_flattr_days_day_idx" on "thing_flattr_days" ("day", "thing_id");`);
    this.addSql(`alter table "thing_flattr_days" add constraint "thing_flattr_days_thing_id_foreign" foreign key ("thing_id") references "things" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "things" add column "lower_tags" text[] not null default '{}', add column "search_text" text not null default '', add column "search_vector" tsvector null;`);
    this.addSql(`create index "things_url_prefix_idx" on "things" ("url" varchar_pattern_ops);`);
    this.addSql(`create index "things_flattrs_count_id_idx" on "things" ("flattrs_count", "id");`);
    this.addSql(`create index "things_language_idx" on "things" ("language_id");`);
    this.addSql(`create index "things_category_idx" on "things" ("category_id");`);
    this.addSql(`create index "flattrs_created_idx" on "flattrs" ("created_at");`);

    // Terms never contain whitespace (§10.2 splits on it), so joining the fields with newlines keeps a term
    // from matching across two fields. Tags are lower-cased one by one, in their order.
    this.addSql(`create function things_search_columns() returns trigger language plpgsql as $$
begin
  new.lower_tags := array(select flattr_lower(tag) from unnest(new.tags) with ordinality as u(tag, n) order by n);
  new.search_text := flattr_lower(concat_ws(E'\\n', new.title, new.description, new.url, array_to_string(new.tags, E'\\n')));
  new.search_vector :=
    setweight(to_tsvector('simple', flattr_lower(new.title)), 'A') ||
    setweight(to_tsvector('simple', flattr_lower(array_to_string(new.tags, ' '))), 'B') ||
    setweight(to_tsvector('simple', flattr_lower(new.description)), 'C') ||
    setweight(to_tsvector('simple', flattr_lower(new.url)), 'D');
  return new;
end $$;`);
    // Also on writes to the derived columns themselves, so they cannot be set to anything else.
    this.addSql(`create trigger things_search_columns before insert or update of title, description, url, tags, lower_tags, search_text, search_vector on things for each row execute function things_search_columns();`);
    this.addSql(`update things set tags = tags;`);

    this.addSql(`do $$
begin
  begin
    create extension if not exists pg_trgm;
  exception when others then
    raise warning 'pg_trgm could not be installed (%); search runs without the trigram index', sqlerrm;
  end;
  if exists (select 1 from pg_extension where extname = 'pg_trgm') then
    execute 'create index "things_search_text_trgm_idx" on "things" using gin ("search_text" gin_trgm_ops)';
  end if;
end $$;`);
    this.addSql(`create index "things_lower_tags_gin_idx" on "things" using gin ("lower_tags");`);
    this.addSql(`create index "things_search_vector_idx" on "things" using gin ("search_vector");`);

    // Triggers fire in name order: after flattrs_counters_*, which has already locked the thing row, so
    // concurrent flattrs on one thing queue there and the day row is never contended out of order.
    this.addSql(`create function flattrs_days_after_insert() returns trigger language plpgsql as $$
begin
  insert into thing_flattr_days (thing_id, day, flattrs, epoch_sum)
  values (new.thing_id, (new.created_at at time zone 'UTC')::date, 1, floor(extract(epoch from new.created_at))::bigint)
  on conflict (thing_id, day) do update set
    flattrs = thing_flattr_days.flattrs + 1,
    epoch_sum = thing_flattr_days.epoch_sum + excluded.epoch_sum;
  return null;
end $$;`);
    this.addSql(`create function flattrs_days_after_delete() returns trigger language plpgsql as $$
declare
  d date := (old.created_at at time zone 'UTC')::date;
begin
  update thing_flattr_days set
    flattrs = flattrs - 1,
    epoch_sum = epoch_sum - floor(extract(epoch from old.created_at))::bigint
  where thing_id = old.thing_id and day = d;
  delete from thing_flattr_days where thing_id = old.thing_id and day = d and flattrs <= 0;
  return null;
end $$;`);
    this.addSql(`create trigger flattrs_days_insert after insert on flattrs for each row execute function flattrs_days_after_insert();`);
    this.addSql(`create trigger flattrs_days_delete after delete on flattrs for each row execute function flattrs_days_after_delete();`);
    this.addSql(`insert into thing_flattr_days (thing_id, day, flattrs, epoch_sum)
select thing_id, (created_at at time zone 'UTC')::date, count(*), sum(floor(extract(epoch from created_at)))::bigint
from flattrs group by 1, 2;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists flattrs_days_insert on flattrs;`);
    this.addSql(`drop trigger if exists flattrs_days_delete on flattrs;`);
    this.addSql(`drop function if exists flattrs_days_after_insert, flattrs_days_after_delete;`);
    this.addSql(`drop trigger if exists things_search_columns on things;`);
    this.addSql(`drop function if exists things_search_columns;`);
    this.addSql(`drop index if exists "flattrs_created_idx";`);
    for (const index of ['things_url_prefix_idx', 'things_flattrs_count_id_idx', 'things_language_idx', 'things_category_idx', 'things_search_text_trgm_idx', 'things_lower_tags_gin_idx', 'things_search_vector_idx']) {
      this.addSql(`drop index if exists "${index}";`);
    }
    this.addSql(`alter table "things" drop column "lower_tags", drop column "search_text", drop column "search_vector";`);
    this.addSql(`drop table if exists "thing_flattr_days" cascade;`);
    this.addSql(`drop function if exists flattr_lower;`);
  }
}
