import { execFile } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startServerProcess, type ServerProcess } from './support/processes.js';
import { request } from './support/http.js';
import { until } from './support/until.js';

/**
 * Background jobs (issue 19, src/jobs/) on two real server processes sharing one database: every process ticks
 * (JOBS_TICK_SECONDS=1 here), each job's advisory lock and its row in job_runs make one process run it once per
 * due time; /metrics of both shows the same last run; the admin CLI runs a job by hand under the same lock; and no
 * search waits while the daily window-base rebuild runs.
 */

let database: TestDatabase;
let db: pg.Client;
const servers: ServerProcess[] = [];
const JOBS = ['search-window-base', 'expiry-cleanup', 'subscriptions'];

beforeAll(async () => {
  database = await createTestDatabase();
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  for (let i = 0; i < 2; i++) {
    servers.push(await startServerProcess({ DATABASE_URL: database.url, JOBS_TICK_SECONDS: '1', SUBSCRIPTIONS_CRON: 'true', WEB_CONCURRENCY: '1' }));
  }
}, 90_000);
afterAll(async () => {
  for (const server of servers) await server.stop(15_000).catch(() => undefined);
  await db?.end();
  await database?.drop();
});

const jobRuns = async () =>
  new Map(
    (await db.query<{ name: string; runs: number; last_outcome: string | null }>('select name, runs::int as runs, last_outcome from job_runs')).rows.map((row) => [
      row.name,
      row,
    ]),
  );

/** A sample of /metrics: `name{labels}` → value. */
async function metrics(server: ServerProcess): Promise<Map<string, number>> {
  const res = await request(server.baseUrl, '/metrics');
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (!line.startsWith('flattr_job_')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The next few ticks of both processes have happened (each logs nothing when nothing is due, so wait on time). */
const severalTicks = () => new Promise((resolve) => setTimeout(resolve, 3_500));

function admin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: database.url };
  delete env.TEST_DATABASE_URL;
  delete env.DATA_DIR;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { cwd: process.cwd(), env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('jobs across two server processes', () => {
  it('each job runs exactly once per due time, in one of the processes; /metrics of both shows its last run', async () => {
    await until(async () => {
      const runs = await jobRuns();
      return JOBS.every((job) => runs.get(job)?.last_outcome === 'ok');
    }, 'every job to have run');
    await severalTicks();
    const runs = await jobRuns();
    for (const job of JOBS) expect(runs.get(job), job).toMatchObject({ runs: 1, last_outcome: 'ok' });

    const [a, b] = await Promise.all(servers.map(metrics));
    for (const job of JOBS) {
      // One of the two ran it; the cluster-wide view is the same in both.
      expect(a!.get(`flattr_job_process_runs{job="${job}",outcome="ok"}`)! + b!.get(`flattr_job_process_runs{job="${job}",outcome="ok"}`)!, job).toBe(1);
      for (const sample of [`flattr_job_runs{job="${job}"}`, `flattr_job_last_success{job="${job}"}`]) {
        expect(a!.get(sample), sample).toBe(1);
        expect(b!.get(sample), sample).toBe(1);
      }
      expect(a!.get(`flattr_job_last_run_timestamp_seconds{job="${job}"}`)).toBeGreaterThan(0);
      expect(a!.get(`flattr_job_last_run_timestamp_seconds{job="${job}"}`)).toBe(b!.get(`flattr_job_last_run_timestamp_seconds{job="${job}"}`));
      expect(a!.has(`flattr_job_last_duration_seconds{job="${job}"}`)).toBe(true);
    }
  }, 60_000);

  it('the admin CLI runs a job by hand, under the same lock: refused while a process holds it', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query(`select pg_advisory_lock(19, hashtext('expiry-cleanup'))`);
      const busy = await admin('job', 'run', '--name', 'expiry-cleanup');
      expect(busy.code).toBe(1);
      expect(busy.stdout).toBe('');
      expect(busy.stderr).toBe('Error: job expiry-cleanup is running in another process; try again when it has finished\n');
      await holder.query(`select pg_advisory_unlock(19, hashtext('expiry-cleanup'))`);
    } finally {
      await holder.end();
    }
    const ran = await admin('job', 'run', '--name', 'expiry-cleanup');
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ job: 'expiry-cleanup', outcome: 'ok', result: { sessions: 0, codes: 0 } });
    expect((await jobRuns()).get('expiry-cleanup')).toMatchObject({ runs: 2, last_outcome: 'ok' });

    const listed = await admin('job', 'list');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)['expiry-cleanup']).toMatchObject({ runs: 2, lastOutcome: 'ok' });
    const unknown = await admin('job', 'run', '--name', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown job "nope"\. Usage: admin job run --name search-window-base\|expiry-cleanup\|subscriptions\n$/);
  }, 60_000);

  it('no search waits for the daily rebuild: a new day, its rebuild in progress, searches answer; then the job finishes it', async () => {
    // A new UTC day as the processes see it: the base holds yesterday and the job's rebuild holds its lock.
    const { rows } = await db.query<{ today: string; yesterday: string }>(
      `select to_char(now() at time zone 'UTC', 'YYYY-MM-DD') as today, to_char((now() at time zone 'UTC')::date - 1, 'YYYY-MM-DD') as yesterday`,
    );
    const { today, yesterday } = rows[0]!;
    const rebuilder = new pg.Client({ connectionString: database.url });
    await rebuilder.connect();
    const rebuilds = async () => (await db.query<{ n: number }>('select rebuilds::int as n from search_window_state')).rows[0]!.n;
    const before = await rebuilds();
    try {
      await rebuilder.query('begin');
      await rebuilder.query(`select pg_advisory_xact_lock(hashtext('search_window:rebuild'))`);
      await db.query(`update search_window_state set base_as_of = $1::date, as_of = $1::date where id = 1`, [yesterday]);
      for (const server of servers) {
        for (const sort of ['trend', 'flattrs_month', 'flattrs_week', 'flattrs_day']) {
          const res = await request(server.baseUrl, `/rest/v2/things/search?sort=${sort}`, { signal: AbortSignal.timeout(10_000) });
          expect(res.status, sort).toBe(200);
          expect(res.json()).toMatchObject({ total_items: 0, items: 0, things: [] });
        }
      }
      // Meanwhile the job of one process switched the day and waits for the lock.
      await until(async () => (await db.query(`select as_of = $1::date as switched from search_window_state`, [today])).rows[0].switched, 'the job to switch the day');
      expect(await rebuilds()).toBe(before);
    } finally {
      await rebuilder.query('rollback');
      await rebuilder.end();
    }
    await until(async () => (await rebuilds()) === before + 1, 'the job to rebuild the base');
    expect((await db.query(`select to_char(base_as_of, 'YYYY-MM-DD') as d from search_window_state`)).rows[0].d).toBe(today);
  }, 60_000);
});
