import { Migration } from '@mikro-orm/migrations';

/** Website sessions, server-generated keys, JWT access tokens (token format per client, jti). */
export class Migration20261128120000OAuth extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "server_keys" ("id" serial primary key, "kid" varchar(64) not null, "purpose" text check ("purpose" in ('session', 'access_token')) not null, "algorithm" varchar(16) not null, "private_jwk" text not null, "public_jwk" text null, "created_at" timestamptz not null, "retired_at" timestamptz null);`);
    this.addSql(`alter table "server_keys" add constraint "server_keys_kid_unique" unique ("kid");`);
    this.addSql(`create table "web_sessions" ("id" serial primary key, "sid_hash" char(64) not null, "user_id" int null, "csrf_token" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null);`);
    this.addSql(`alter table "web_sessions" add constraint "web_sessions_sid_hash_unique" unique ("sid_hash");`);
    this.addSql(`create index "web_sessions_expires_at_idx" on "web_sessions" ("expires_at");`);
    this.addSql(`alter table "web_sessions" add constraint "web_sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_clients" add column "token_format" text check ("token_format" in ('opaque', 'jwt')) not null default 'opaque';`);
    this.addSql(`alter table "oauth_access_tokens" add column "jti" varchar(64) null;`);
    this.addSql(`alter table "oauth_access_tokens" add constraint "oauth_access_tokens_jti_unique" unique ("jti");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oauth_access_tokens" drop column "jti";`);
    this.addSql(`alter table "oauth_clients" drop column "token_format";`);
    this.addSql(`drop table if exists "web_sessions" cascade;`);
    this.addSql(`drop table if exists "server_keys" cascade;`);
  }
}
