import { Migration } from '@mikro-orm/migrations';

/** Initial schema: tables and indexes as the entities declare them, plus the flattr counter triggers. */
export class Migration20261128000000Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "categories" ("id" varchar(32) not null, "text" varchar(100) not null, "position" int not null, constraint "categories_pkey" primary key ("id"));`);
    this.addSql(`create table "languages" ("id" varchar(32) not null, "text" varchar(100) not null, "position" int not null, constraint "languages_pkey" primary key ("id"));`);
    this.addSql(`create table "users" ("id" serial primary key, "username" varchar(64) not null, "email" varchar(320) not null, "password_hash" varchar(255) null, "firstname" varchar(255) not null default '', "lastname" varchar(255) not null default '', "avatar" varchar(2048) not null default '', "about" text not null default '', "city" varchar(255) not null default '', "country" varchar(255) not null default '', "url" varchar(2048) not null default '', "registered_at" timestamptz not null, "balance_cents" int not null default 0, "hide_flattrs" boolean not null default false);`);
    this.addSql(`create unique index "users_username_lower_unique" on "users" (lower("username"));`);
    this.addSql(`create table "things" ("id" serial primary key, "owner_id" int not null, "url" varchar(2048) not null, "title" varchar(100) not null, "description" text not null default '', "category_id" varchar(32) not null, "language_id" varchar(32) not null, "tags" text[] not null default '{}', "hidden" boolean not null default false, "image" varchar(2048) not null default '', "created_at" timestamptz not null, "updated_at" timestamptz null, "last_flattr_at" timestamptz null, "flattrs_count" int not null default 0, "flattrs_user_count" int not null default 0);`);
    this.addSql(`alter table "things" add constraint "things_url_unique" unique ("url");`);
    this.addSql(`create index "things_owner_created_idx" on "things" ("owner_id", "created_at", "id");`);
    this.addSql(`create index "things_tags_gin_idx" on "things" using gin ("tags");`);
    this.addSql(`create table "subscriptions" ("id" serial primary key, "user_id" int not null, "thing_id" int not null, "active" boolean not null default true, "created_at" timestamptz not null, "started_at" timestamptz not null);`);
    this.addSql(`create index "subscriptions_thing_idx" on "subscriptions" ("thing_id");`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_user_thing_unique" unique ("user_id", "thing_id");`);
    this.addSql(`create table "oauth_clients" ("id" serial primary key, "client_id" varchar(255) not null, "client_secret_hash" varchar(255) not null, "name" varchar(255) not null, "description" text not null default '', "callback_urls" text[] not null default '{}', "owner_id" int null, "enabled" boolean not null default true, "created_at" timestamptz not null);`);
    this.addSql(`alter table "oauth_clients" add constraint "oauth_clients_client_id_unique" unique ("client_id");`);
    this.addSql(`create table "flattrs" ("id" serial primary key, "user_id" int not null, "thing_id" int not null, "created_at" timestamptz not null, "period" varchar(7) not null, "source" text check ("source" in ('click', 'subscription')) not null default 'click');`);
    this.addSql(`create index "flattrs_user_created_idx" on "flattrs" ("user_id", "created_at", "id");`);
    this.addSql(`create index "flattrs_thing_created_idx" on "flattrs" ("thing_id", "created_at", "id");`);
    this.addSql(`alter table "flattrs" add constraint "flattrs_user_thing_period_unique" unique ("user_id", "thing_id", "period");`);
    this.addSql(`create table "oauth_authorization_codes" ("id" serial primary key, "code_hash" char(64) not null, "client_id" int not null, "user_id" int not null, "scopes" text[] not null default '{}', "redirect_uri" text null, "code_challenge" varchar(128) null, "code_challenge_method" varchar(16) null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null);`);
    this.addSql(`alter table "oauth_authorization_codes" add constraint "oauth_authorization_codes_code_hash_unique" unique ("code_hash");`);
    this.addSql(`create table "oauth_access_tokens" ("id" serial primary key, "token_hash" char(64) not null, "client_id" int not null, "user_id" int not null, "scopes" text[] not null default '{}', "authorization_code_id" int null, "created_at" timestamptz not null, "revoked_at" timestamptz null);`);
    this.addSql(`alter table "oauth_access_tokens" add constraint "oauth_access_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "oauth_access_tokens_user_client_idx" on "oauth_access_tokens" ("user_id", "client_id");`);
    this.addSql(`alter table "things" add constraint "things_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "things" add constraint "things_category_id_foreign" foreign key ("category_id") references "categories" ("id") on update cascade;`);
    this.addSql(`alter table "things" add constraint "things_language_id_foreign" foreign key ("language_id") references "languages" ("id") on update cascade;`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_thing_id_foreign" foreign key ("thing_id") references "things" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_clients" add constraint "oauth_clients_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "flattrs" add constraint "flattrs_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "flattrs" add constraint "flattrs_thing_id_foreign" foreign key ("thing_id") references "things" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_authorization_codes" add constraint "oauth_authorization_codes_client_id_foreign" foreign key ("client_id") references "oauth_clients" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_authorization_codes" add constraint "oauth_authorization_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_access_tokens" add constraint "oauth_access_tokens_client_id_foreign" foreign key ("client_id") references "oauth_clients" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_access_tokens" add constraint "oauth_access_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_access_tokens" add constraint "oauth_access_tokens_authorization_code_id_foreign" foreign key ("authorization_code_id") references "oauth_authorization_codes" ("id") on update cascade on delete set null;`);

    // Spec §12.2: `flattrs`, `flattrs_user_count` and `last_flattr_at` must always equal what the flattr
    // rows say, whoever writes them (API, admin CLI, seed scripts), so the database keeps them.
    // The thing row is locked first (NO KEY UPDATE: it does not conflict with the KEY SHARE lock the
    // foreign key takes, so concurrent flattrs queue instead of deadlocking); each later statement then
    // sees every committed flattr on it.
    this.addSql(`create function flattrs_counters_after_insert() returns trigger language plpgsql as $$
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
    this.addSql(`create function flattrs_counters_after_delete() returns trigger language plpgsql as $$
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
    // A flattr is a record of a past event: moving it to another user, thing or time would desynchronise the counters.
    this.addSql(`create function flattrs_forbid_update() returns trigger language plpgsql as $$
begin
  if new.user_id <> old.user_id or new.thing_id <> old.thing_id or new.created_at <> old.created_at or new.period <> old.period then
    raise exception 'flattrs are immutable: delete and insert instead';
  end if;
  return new;
end $$;`);
    // The period is derived from created_at (spec §2.2), so the one-per-period unique key cannot be fooled.
    this.addSql(`create function flattrs_set_period() returns trigger language plpgsql as $$
begin
  new.period := to_char(new.created_at at time zone 'UTC', 'YYYY-MM');
  return new;
end $$;`);
    this.addSql(`create trigger flattrs_period before insert on flattrs for each row execute function flattrs_set_period();`);
    this.addSql(`create trigger flattrs_counters_insert after insert on flattrs for each row execute function flattrs_counters_after_insert();`);
    this.addSql(`create trigger flattrs_counters_delete after delete on flattrs for each row execute function flattrs_counters_after_delete();`);
    this.addSql(`create trigger flattrs_immutable before update on flattrs for each row execute function flattrs_forbid_update();`);
  }

  override async down(): Promise<void> {
    for (const table of ['oauth_access_tokens', 'oauth_authorization_codes', 'oauth_clients', 'subscriptions', 'flattrs', 'things', 'users', 'languages', 'categories']) {
      this.addSql(`drop table if exists "${table}" cascade;`);
    }
    this.addSql(`drop function if exists flattrs_counters_after_insert, flattrs_counters_after_delete, flattrs_forbid_update, flattrs_set_period;`);
  }
}
