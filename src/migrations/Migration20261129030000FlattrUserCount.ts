import { Migration } from '@mikro-orm/migrations';

/**
 * `things.flattrs_user_count` (distinct flattring users, spec §12.2) was kept by the per-row triggers with
 * "does another flattr of this user on this thing exist?". AFTER ROW triggers run when the whole statement is
 * done, so when ONE statement inserted or deleted several flattrs of the same user and thing (deleting a user
 * who flattred a thing in several months, a bulk import) every row saw the others: a two-row insert added 0
 * and the matching two-row delete subtracted 2.
 *
 * The distinct-user count is now kept per statement, from the statement's transition table: a user counts as
 * new when none of their flattrs on the thing exists outside the inserted rows, and as gone when none remains
 * after the delete. These statement triggers run after the row triggers of the same statement, which have
 * already locked the thing rows (NO KEY UPDATE), so the lock order is unchanged and, under READ COMMITTED,
 * every flattr committed by a concurrent transaction is visible to the check. The row triggers keep
 * `flattrs_count` and `last_flattr_at`, which are right row by row. Existing counts are recomputed.
 */
export class Migration20261129030000FlattrUserCount extends Migration {
  override async up(): Promise<void> {
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
    this.addSql(`create function flattrs_user_count_after_insert() returns trigger language plpgsql as $$
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
    this.addSql(`create function flattrs_user_count_after_delete() returns trigger language plpgsql as $$
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
    this.addSql(`create trigger flattrs_user_count_insert after insert on flattrs referencing new table as inserted_flattrs for each statement execute function flattrs_user_count_after_insert();`);
    this.addSql(`create trigger flattrs_user_count_delete after delete on flattrs referencing old table as deleted_flattrs for each statement execute function flattrs_user_count_after_delete();`);
    this.addSql(`update things t set flattrs_user_count = coalesce(c.users, 0)
from things t2 left join (select thing_id, count(distinct user_id)::int as users from flattrs group by thing_id) c on c.thing_id = t2.id
where t.id = t2.id and t.flattrs_user_count <> coalesce(c.users, 0);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists flattrs_user_count_insert on flattrs;`);
    this.addSql(`drop trigger if exists flattrs_user_count_delete on flattrs;`);
    this.addSql(`drop function if exists flattrs_user_count_after_insert, flattrs_user_count_after_delete;`);
    this.addSql(`create or replace function flattrs_counters_after_insert() returns trigger language plpgsql as $$
begin
  perform 1 from things where id = new.thing_id for no key update;
  update things set
    flattrs_count = flattrs_count + 1,
    flattrs_user_count = flattrs_user_count + case when exists (
      select 1 from flattrs where thing_id = new.thing_id and user_id = new.user_id and id <> new.id) then 0 else 1 end,
    last_flattr_at = greatest(coalesce(last_flattr_at, new.created_at), new.created_at)
  where id = new.thing_id;
  return null;
end $$;`);
    this.addSql(`create or replace function flattrs_counters_after_delete() returns trigger language plpgsql as $$
begin
  perform 1 from things where id = old.thing_id for no key update;
  update things set
    flattrs_count = flattrs_count - 1,
    flattrs_user_count = flattrs_user_count - case when exists (
      select 1 from flattrs where thing_id = old.thing_id and user_id = old.user_id) then 0 else 1 end,
    last_flattr_at = (select max(created_at) from flattrs where thing_id = old.thing_id)
  where id = old.thing_id;
  return null;
end $$;`);
  }
}
