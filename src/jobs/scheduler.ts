import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Clock } from '../config/clock.js';

/**
 * Background jobs (issue 19): work that used to run on the request path or beside it (the daily window-base
 * rebuild of search, the monthly subscription run, expiry cleanups) runs here, on a timer inside every server
 * process. Which process runs a job is decided by PostgreSQL: a run holds the session advisory lock
 * (JOB_LOCK_CLASS, hashtext(name)) on a connection of its own for as long as it works, and a process that does
 * not get it (pg_try_advisory_lock) skips the job this time. Under the lock the job's row in `job_runs` says when
 * it last finished, so a job that another process has just run is not due any more: it runs once per due time,
 * however many processes tick. A crash drops the connection and with it the lock; the row keeps the start
 * without a finish, the job is still due, and the next tick of any process runs it again. Jobs are idempotent.
 */

/** First key of the two-key advisory locks of jobs (the second is hashtext(job name)); other locks use one key. */
export const JOB_LOCK_CLASS = 19;

/** A job's row in `job_runs`. */
export interface JobRunRow {
  runs: number;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastDurationMs: number | null;
  lastOutcome: 'ok' | 'failed' | null;
  lastError: string | null;
  lastResult: unknown;
}

export interface JobContext {
  em: EntityManager;
  now: Date;
  logger: Logger;
}

export interface Job {
  name: string;
  /** One line for the README, the CLI's usage and the logs. */
  description: string;
  /** Whether the job should run at `now`, given its last run (null: never ran). Read under the job's lock. */
  due(context: JobContext, last: JobRunRow | null): boolean | Promise<boolean>;
  /** Does the work; returns what to log and keep in `job_runs.last_result`. Must be idempotent. */
  run(context: JobContext): Promise<Record<string, unknown>>;
}

export type JobOutcome = 'ok' | 'failed' | 'busy' | 'not_due';

export interface JobRunReport {
  job: string;
  outcome: JobOutcome;
  durationMs?: number;
  result?: Record<string, unknown>;
  error?: string;
}

/** What this process did, per job (the cluster-wide last run is in `job_runs`). */
export interface ProcessJobStats {
  ok: number;
  failed: number;
  busy: number;
}

/** A pg client as knex's pool hands it out. */
interface PgConnection {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}
interface KnexClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<void>;
}

const LAST_RUN_COLUMNS = `runs::int as runs, last_started_at, last_finished_at, last_duration_ms, last_outcome, last_error, last_result`;

/** The driver may hand timestamps over as strings (MikroORM's type parsers) or as Dates. */
const toDate = (value: unknown): Date | null => (value === null || value === undefined ? null : new Date(value as string | Date));

function toRow(raw: Record<string, unknown>): JobRunRow {
  return {
    runs: Number(raw.runs),
    lastStartedAt: toDate(raw.last_started_at),
    lastFinishedAt: toDate(raw.last_finished_at),
    lastDurationMs: (raw.last_duration_ms as number | null) ?? null,
    lastOutcome: (raw.last_outcome as 'ok' | 'failed' | null) ?? null,
    lastError: (raw.last_error as string | null) ?? null,
    lastResult: raw.last_result ?? null,
  };
}

/** Every job's row in `job_runs` (on the primary). */
export async function readJobRuns(em: EntityManager): Promise<Map<string, JobRunRow>> {
  const rows = await em.getConnection('write').execute<Record<string, unknown>[]>(`select name, ${LAST_RUN_COLUMNS} from job_runs`);
  return new Map(rows.map((row) => [String(row.name), toRow(row)]));
}

/** Runs jobs by name under their advisory lock; `start` adds the timer. */
export class JobScheduler {
  readonly jobs: readonly Job[];
  private readonly stats = new Map<string, ProcessJobStats>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  /** `orm`: the ORM, or anything with its `em` (the CLI passes its entity manager). */
  constructor(private readonly deps: { orm: Pick<MikroORM, 'em'>; clock: Clock; logger: Logger; jobs: readonly Job[] }) {
    this.jobs = deps.jobs;
    for (const job of deps.jobs) this.stats.set(job.name, { ok: 0, failed: 0, busy: 0 });
  }

  /** Ticks every `tickMs` (the first tick after a random part of it, so processes started together spread out). */
  start(tickMs: number): void {
    const schedule = (delay: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.ticking = this.tick().then(() => undefined).finally(() => {
          this.ticking = null;
          schedule(tickMs);
        });
      }, delay);
      this.timer.unref();
    };
    schedule(Math.floor(Math.random() * Math.min(tickMs, 1_000)));
  }

  /** Stops the timer and waits for a run in progress (its lock is released when it ends). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  /** Each job that is due, one after the other. */
  async tick(): Promise<JobRunReport[]> {
    const reports: JobRunReport[] = [];
    for (const job of this.jobs) {
      if (this.stopped) break;
      try {
        reports.push(await this.run(job.name, { force: false }));
      } catch (error) {
        // The database is unreachable, say: the next tick tries again.
        this.deps.logger.warn({ err: error, job: job.name }, 'job not run');
      }
    }
    return reports;
  }

  processStats(name: string): ProcessJobStats | undefined {
    return this.stats.get(name);
  }

  /**
   * Runs job `name` if this process gets its lock and (unless `force`) it is due. `busy`: another process holds
   * the lock (is running it); `not_due`: it ran recently enough. Never throws for the job's own failure.
   */
  async run(name: string, { force }: { force: boolean }): Promise<JobRunReport> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`unknown job "${name}"`);
    const { orm, clock, logger } = this.deps;
    const client = orm.em.getConnection('write').getKnex().client as unknown as KnexClient;
    const connection = await client.acquireConnection();
    try {
      const [locked] = (await connection.query('select pg_try_advisory_lock($1, hashtext($2)) as ok', [JOB_LOCK_CLASS, name])).rows;
      if (!locked?.ok) {
        this.stats.get(name)!.busy++;
        return { job: name, outcome: 'busy' };
      }
      try {
        const now = clock.now();
        const context: JobContext = { em: orm.em.fork(), now, logger: logger.child({ job: name }) };
        const [last] = (await connection.query(`select ${LAST_RUN_COLUMNS} from job_runs where name = $1`, [name])).rows;
        if (!force && !(await job.due(context, last ? toRow(last) : null))) return { job: name, outcome: 'not_due' };
        await connection.query(
          `insert into job_runs (name, runs, last_started_at) values ($1, 0, $2) on conflict (name) do update set last_started_at = excluded.last_started_at`,
          [name, now],
        );
        const started = performance.now();
        let report: JobRunReport;
        try {
          const result = await job.run(context);
          report = { job: name, outcome: 'ok', durationMs: Math.round(performance.now() - started), result };
          context.logger.info({ durationMs: report.durationMs, result }, `job ${name} done`);
        } catch (error) {
          report = { job: name, outcome: 'failed', durationMs: Math.round(performance.now() - started), error: error instanceof Error ? error.message : String(error) };
          context.logger.error({ err: error, durationMs: report.durationMs }, `job ${name} failed`);
        }
        await connection.query(
          `update job_runs set runs = runs + 1, last_finished_at = $2, last_duration_ms = $3, last_outcome = $4, last_error = $5, last_result = $6 where name = $1`,
          [name, clock.now(), report.durationMs, report.outcome, report.error ?? null, report.result ? JSON.stringify(report.result) : null],
        );
        this.stats.get(name)![report.outcome === 'ok' ? 'ok' : 'failed']++;
        return report;
      } finally {
        await connection.query('select pg_advisory_unlock($1, hashtext($2))', [JOB_LOCK_CLASS, name]);
      }
    } finally {
      await client.releaseConnection(connection);
    }
  }
}
