import { Migration } from '@mikro-orm/migrations';

/**
 * `search_generation`: one row whose `generation` grows with every committed transaction that changed what a
 * search filter can see — a thing inserted or deleted, or its title, description, url, tags, hidden flag,
 * language, category or owner changed, or a username changed (the `user` filter). Flattrs never bump it.
 *
 * The search count cache (src/services/search/count-cache.ts) keeps `total_items` per filter and generation:
 * a count read in the same statement (one snapshot) as the generation is exact for every later snapshot
 * that shows that generation, because a change and its bump commit atomically.
 *
 * The bump is a DEFERRED constraint trigger, so the one-row lock is taken at commit, after all the
 * transaction's other work: two transactions can only wait for each other there, never deadlock on it (a
 * statement trigger would take it in the middle of a transaction that may go on to lock other rows). It
 * bumps once per transaction (a transaction-local setting remembers it), however many rows changed.
 */
export class Migration20261129050000SearchCounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "search_generation" ("id" int not null, "generation" bigint not null, constraint "search_generation_pkey" primary key ("id"));`);
    this.addSql(`insert into "search_generation" ("id", "generation") values (1, 1);`);
    this.addSql(`create function search_generation_bump() returns trigger language plpgsql as $$
begin
  if current_setting('flattr.search_generation_bumped', true) is distinct from 'yes' then
    perform set_config('flattr.search_generation_bumped', 'yes', true);
    update search_generation set generation = generation + 1 where id = 1;
  end if;
  return null;
end $$;`);
    this.addSql(`create constraint trigger things_search_generation_insert after insert on things deferrable initially deferred
  for each row execute function search_generation_bump();`);
    this.addSql(`create constraint trigger things_search_generation_delete after delete on things deferrable initially deferred
  for each row execute function search_generation_bump();`);
    this.addSql(`create constraint trigger things_search_generation_update after update on things deferrable initially deferred
  for each row when (old.title is distinct from new.title or old.description is distinct from new.description
    or old.url is distinct from new.url or old.tags is distinct from new.tags or old.hidden is distinct from new.hidden
    or old.language_id is distinct from new.language_id or old.category_id is distinct from new.category_id
    or old.owner_id is distinct from new.owner_id)
  execute function search_generation_bump();`);
    this.addSql(`create constraint trigger users_search_generation_update after update on users deferrable initially deferred
  for each row when (old.username is distinct from new.username)
  execute function search_generation_bump();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists things_search_generation_insert on things;`);
    this.addSql(`drop trigger if exists things_search_generation_delete on things;`);
    this.addSql(`drop trigger if exists things_search_generation_update on things;`);
    this.addSql(`drop trigger if exists users_search_generation_update on users;`);
    this.addSql(`drop function if exists search_generation_bump;`);
    this.addSql(`drop table if exists "search_generation";`);
  }
}
