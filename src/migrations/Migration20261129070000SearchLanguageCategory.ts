import { Migration } from '@mikro-orm/migrations';

/**
 * A search filtered by language and category, in flattrs order (`relevance` without terms, `flattrs`): with one
 * index per column the page walked the (flattrs_count, id) index and tested both columns row by row, so a
 * combination holding 0.5% of the things read ~200 rows per result (61 ms at 1M things against 15 ms at 10k).
 * One index on (language_id, category_id, flattrs_count, id) reads the page for one language and category
 * directly in order; its leading column also serves a language alone, so the language index goes.
 */
export class Migration20261129070000SearchLanguageCategory extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "things_language_category_flattrs_idx" on "things" ("language_id", "category_id", "flattrs_count", "id");`);
    this.addSql(`drop index if exists "things_language_idx";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index "things_language_idx" on "things" ("language_id");`);
    this.addSql(`drop index if exists "things_language_category_flattrs_idx";`);
  }
}
