import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 19, background jobs (src/jobs/).
 *
 * - `job_runs`: each job's last run, written by whichever process held the job's advisory lock.
 * - `search_window_state.base_as_of`: the day the base rows were built for. The day switch (txA) no longer
 *   forgets which day the base holds (it used to set base_generation to null), so that while the daily rebuild
 *   of day D runs off the request path, searches of day D read the base of day D − 1 exactly (window-sort.ts):
 *   its rows, the today rows of D − 1 and D, and the flattrs of the window's oldest day. The base of D − 1 stays
 *   exact for that as long as generation = base_generation: once as_of = D, any change to a flattr of
 *   [D − 30, D − 1] bumps the generation (the flattrs triggers), and before, the today rows of D − 1 are kept.
 */
export class Migration20261205010000Jobs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "job_runs" ("name" varchar(64) not null, "runs" bigint not null, "last_started_at" timestamptz null, "last_finished_at" timestamptz null, "last_duration_ms" int null, "last_outcome" varchar(16) null, "last_error" text null, "last_result" jsonb null, constraint "job_runs_pkey" primary key ("name"));`);
    this.addSql(`alter table "search_window_state" add column "base_as_of" date null;`);
    this.addSql(`update "search_window_state" set "base_as_of" = "as_of" where "base_generation" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "search_window_state" drop column "base_as_of";`);
    this.addSql(`drop table if exists "job_runs";`);
  }
}
