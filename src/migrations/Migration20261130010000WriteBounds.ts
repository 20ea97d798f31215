import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 14 (bounded amplification, src/services/write-bounds.ts): the bounds count or trim rows per owner on every
 * write, so each of those lookups has its index: applications by owner, authorization codes by user and
 * application and by expiry (the retention sweep), website sessions by user.
 */
export class Migration20261130010000WriteBounds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "oauth_clients_owner_idx" on "oauth_clients" ("owner_id");`);
    this.addSql(`create index "oauth_authorization_codes_user_client_idx" on "oauth_authorization_codes" ("user_id", "client_id");`);
    this.addSql(`create index "oauth_authorization_codes_expires_at_idx" on "oauth_authorization_codes" ("expires_at");`);
    this.addSql(`create index "web_sessions_user_idx" on "web_sessions" ("user_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "web_sessions_user_idx";`);
    this.addSql(`drop index if exists "oauth_authorization_codes_expires_at_idx";`);
    this.addSql(`drop index if exists "oauth_authorization_codes_user_client_idx";`);
    this.addSql(`drop index if exists "oauth_clients_owner_idx";`);
  }
}
