import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for the `stats` graph (src/services/stats.ts): new users and new things per period are range scans
 * on `users.registered_at` and `things.created_at`. (Flattrs per period already have `thing_flattr_days` and
 * `flattrs_created_idx`.)
 */
export class Migration20261129020000Stats extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "users_registered_at_idx" on "users" ("registered_at");`);
    this.addSql(`create index "things_created_at_idx" on "things" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "things_created_at_idx";`);
    this.addSql(`drop index if exists "users_registered_at_idx";`);
  }
}
