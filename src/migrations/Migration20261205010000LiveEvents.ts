import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 20 (GraphQL subscriptions): every write that a live client may see issues `NOTIFY flattr_live` from a
 * trigger, inside the writing transaction. PostgreSQL delivers a notification only when that transaction commits,
 * so a rolled-back write never produces an event, and every write path is covered without the services knowing:
 * REST, GraphQL, the monthly subscription run, the auto-submit page, the admin CLI. Every server process LISTENs
 * (src/services/live/listener.ts), which is also how an event reaches the other processes.
 *
 * Payloads are small JSON objects (ids only; the listener reads the committed rows once per process):
 * - `{"k":"flattr","f":<flattr id>,"t":<thing id>}` per inserted flattr; a statement inserting more than 1000
 *   flattrs (a bulk load) sends one `{"k":"bulk"}` instead, which only marks the statistics as changed;
 * - `{"k":"thing","op":"insert|update|delete","t":<id>,"o":<owner id>,"h":<hidden>}` per thing row changed
 *   (counter updates included: they are updates of the thing), only when the row really changed;
 * - `{"k":"stats"}` once per statement that changes users or subscriptions (statistics totals only);
 * - `{"k":"token","id":<token id>}` when an access token is revoked or deleted, so its streams end at once.
 */
export class Migration20261205010000LiveEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function live_notify_flattrs() returns trigger language plpgsql as $$
begin
  if (select count(*) from live_inserted_flattrs) > 1000 then
    perform pg_notify('flattr_live', '{"k":"bulk"}');
  else
    perform pg_notify('flattr_live', json_build_object('k', 'flattr', 'f', id, 't', thing_id)::text) from live_inserted_flattrs;
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger flattrs_live_insert after insert on flattrs referencing new table as live_inserted_flattrs for each statement execute function live_notify_flattrs();`);
    this.addSql(`create or replace function live_notify_things() returns trigger language plpgsql as $$
declare
  row_ things;
begin
  if tg_op = 'DELETE' then row_ := old; else row_ := new; end if;
  perform pg_notify('flattr_live', json_build_object('k', 'thing', 'op', lower(tg_op), 't', row_.id, 'o', row_.owner_id, 'h', row_.hidden)::text);
  return null;
end $$;`);
    this.addSql(`create trigger things_live_insert_delete after insert or delete on things for each row execute function live_notify_things();`);
    this.addSql(`create trigger things_live_update after update on things for each row when (old.* is distinct from new.*) execute function live_notify_things();`);
    this.addSql(`create or replace function live_notify_stats() returns trigger language plpgsql as $$
begin
  perform pg_notify('flattr_live', '{"k":"stats"}');
  return null;
end $$;`);
    this.addSql(`create trigger users_live after insert or delete on users for each statement execute function live_notify_stats();`);
    this.addSql(`create trigger subscriptions_live after insert or update or delete on subscriptions for each statement execute function live_notify_stats();`);
    this.addSql(`create or replace function live_notify_tokens() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' or (old.revoked_at is null and new.revoked_at is not null) then
    perform pg_notify('flattr_live', json_build_object('k', 'token', 'id', old.id)::text);
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger oauth_access_tokens_live after update of revoked_at or delete on oauth_access_tokens for each row execute function live_notify_tokens();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists oauth_access_tokens_live on oauth_access_tokens;`);
    this.addSql(`drop trigger if exists subscriptions_live on subscriptions;`);
    this.addSql(`drop trigger if exists users_live on users;`);
    this.addSql(`drop trigger if exists things_live_update on things;`);
    this.addSql(`drop trigger if exists things_live_insert_delete on things;`);
    this.addSql(`drop trigger if exists flattrs_live_insert on flattrs;`);
    this.addSql(`drop function if exists live_notify_tokens();`);
    this.addSql(`drop function if exists live_notify_stats();`);
    this.addSql(`drop function if exists live_notify_things();`);
    this.addSql(`drop function if exists live_notify_flattrs();`);
  }
}
