import type { EntityManager } from '@mikro-orm/postgresql';
import { systemClock, type Clock } from '../config/clock.js';
import { query, raw, sql, type Sql } from './search/sql.js';

/**
 * Platform statistics for internal dashboards (the GraphQL `stats` field, scope `stats`).
 *
 * Every number is a SQL aggregate; no row is loaded into Node to be counted. Where they come from:
 * - flattrs over a date range (series, top things, top creators, per category/language): `thing_flattr_days`
 *   (flattrs per thing per UTC day, kept by triggers on `flattrs`), read through its `(day, thing_id)` index;
 * - new users / new things: `users.registered_at` and `things.created_at`, through their indexes
 *   (users_registered_at_idx, things_created_at_idx, Migration20261129020000Stats);
 * - totals: plain counts (index-only scans where PostgreSQL can).
 * Dates are UTC calendar days, `YYYY-MM-DD`; a range includes both ends. Empty buckets are 0 (generate_series).
 */

export type StatsInterval = 'day' | 'week' | 'month';

export interface DateRange {
  /** First day, `YYYY-MM-DD` (UTC). */
  from: string;
  /** Last day, included. */
  to: string;
}

/** Without `from`, a range covers this many days ending with `to` (which defaults to today, by the app's clock). */
export const DEFAULT_RANGE_DAYS = 30;
/** Longest range accepted (keeps generate_series and the scans bounded). */
export const MAX_RANGE_DAYS = 3_660;
export const MAX_TOP = 100;

export class StatsInputError extends Error {
  override name = 'StatsInputError';
  /** The argument at fault (from, to or limit); null when it is the combination (from after to, range too long). */
  constructor(
    message: string,
    readonly argument: string | null = null,
  ) {
    super(message);
  }
}

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDay(value: string, name: string): number {
  const match = DATE.exec(value);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new StatsInputError(`${name} must be a date written YYYY-MM-DD, got "${value}"`, name);
  }
  return ms;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The range asked for, with defaults from the clock; throws StatsInputError for malformed or unreasonable ranges. */
export function resolveRange(clock: Clock, from?: string | null, to?: string | null): DateRange {
  const today = Date.parse(`${clock.now().toISOString().slice(0, 10)}T00:00:00Z`);
  const end = to ? parseDay(to, 'to') : today;
  const start = from ? parseDay(from, 'from') : end - (DEFAULT_RANGE_DAYS - 1) * DAY_MS;
  if (start > end) throw new StatsInputError('from must not be after to');
  if ((end - start) / DAY_MS + 1 > MAX_RANGE_DAYS) throw new StatsInputError(`A range may cover at most ${MAX_RANGE_DAYS} days`);
  return { from: day(start), to: day(end) };
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TOP) throw new StatsInputError(`limit must be between 1 and ${MAX_TOP}`, 'limit');
  return limit;
}

/** Whitelisted SQL for each interval: the date_trunc unit and the generate_series step. */
const INTERVALS: Record<StatsInterval, { unit: Sql; step: Sql }> = {
  day: { unit: raw(`'day'`), step: raw(`interval '1 day'`) },
  week: { unit: raw(`'week'`), step: raw(`interval '1 week'`) },
  month: { unit: raw(`'month'`), step: raw(`interval '1 month'`) },
};

/** The instants bounding a range: its first midnight (UTC) and the midnight after its last day. */
function instants(range: DateRange): { start: string; end: string } {
  return { start: `${range.from}T00:00:00Z`, end: `${day(parseDay(range.to, 'to') + DAY_MS)}T00:00:00Z` };
}

export interface Bucket {
  /** First day of the bucket (`week`: its Monday, ISO weeks; `month`: the 1st); the first bucket may start before `from`. */
  start: string;
  count: number;
}

export interface Totals {
  users: number;
  things: number;
  flattrs: number;
  activeSubscriptions: number;
}

export async function totals(em: EntityManager): Promise<Totals> {
  const [row] = await query<Record<keyof Totals, string>>(
    em,
    sql`select (select count(*) from users) as "users",
               (select count(*) from things) as "things",
               (select count(*) from flattrs) as "flattrs",
               (select count(*) from subscriptions where active) as "activeSubscriptions"`,
  );
  return { users: Number(row!.users), things: Number(row!.things), flattrs: Number(row!.flattrs), activeSubscriptions: Number(row!.activeSubscriptions) };
}

/** Buckets of the range, each joined with the aggregate `counted` (columns `bucket` timestamp, `n`). */
async function series(em: EntityManager, range: DateRange, interval: StatsInterval, counted: Sql): Promise<Bucket[]> {
  const { unit, step } = INTERVALS[interval];
  const rows = await query<{ start: string; count: string }>(
    em,
    sql`select to_char(b.bucket, 'YYYY-MM-DD') as "start", coalesce(a.n, 0) as "count"
        from generate_series(date_trunc(${unit}, ${range.from}::timestamp), ${range.to}::timestamp, ${step}) as b(bucket)
        left join (${counted}) as a on a.bucket = b.bucket
        order by b.bucket`,
  );
  return rows.map((r) => ({ start: r.start, count: Number(r.count) }));
}

/** Flattrs made per day, week or month (UTC) over the range. */
export function flattrSeries(em: EntityManager, range: DateRange, interval: StatsInterval): Promise<Bucket[]> {
  const { unit } = INTERVALS[interval];
  return series(
    em,
    range,
    interval,
    sql`select date_trunc(${unit}, d.day::timestamp) as bucket, sum(d.flattrs) as n
        from thing_flattr_days d
        where d.day between ${range.from}::date and ${range.to}::date
        group by 1`,
  );
}

/** Users registered per bucket. */
export function newUsersSeries(em: EntityManager, range: DateRange, interval: StatsInterval): Promise<Bucket[]> {
  return rowsPerBucket(em, range, interval, raw('users'), raw('registered_at'));
}

/** Things created per bucket (hidden ones included). */
export function newThingsSeries(em: EntityManager, range: DateRange, interval: StatsInterval): Promise<Bucket[]> {
  return rowsPerBucket(em, range, interval, raw('things'), raw('created_at'));
}

/** Rows of a table per bucket of one of its timestamps (a range scan on that column's index). */
function rowsPerBucket(em: EntityManager, range: DateRange, interval: StatsInterval, table: Sql, timestamp: Sql): Promise<Bucket[]> {
  const { unit } = INTERVALS[interval];
  const { start, end } = instants(range);
  return series(
    em,
    range,
    interval,
    sql`select date_trunc(${unit}, r.${timestamp} at time zone 'UTC') as bucket, count(*) as n
        from ${table} r
        where r.${timestamp} >= ${start}::timestamptz and r.${timestamp} < ${end}::timestamptz
        group by 1`,
  );
}

export interface TopThing {
  rank: number;
  thingId: number;
  flattrs: number;
}

/** The things flattred most over the range; ties by thing id. */
export async function topThings(em: EntityManager, range: DateRange, limit: number): Promise<TopThing[]> {
  const rows = await query<{ thingId: number; flattrs: string }>(
    em,
    sql`select d.thing_id as "thingId", sum(d.flattrs) as "flattrs"
        from thing_flattr_days d
        where d.day between ${range.from}::date and ${range.to}::date
        group by d.thing_id
        order by sum(d.flattrs) desc, d.thing_id
        limit ${checkLimit(limit)}`,
  );
  return rows.map((r, i) => ({ rank: i + 1, thingId: Number(r.thingId), flattrs: Number(r.flattrs) }));
}

export interface TopCreator {
  rank: number;
  userId: number;
  flattrs: number;
  /** How many of the creator's things were flattred over the range. */
  things: number;
}

/** The users whose things were flattred most over the range; ties by user id. */
export async function topCreators(em: EntityManager, range: DateRange, limit: number): Promise<TopCreator[]> {
  const rows = await query<{ userId: number; flattrs: string; things: string }>(
    em,
    sql`select t.owner_id as "userId", sum(d.flattrs) as "flattrs", count(distinct d.thing_id) as "things"
        from thing_flattr_days d
        join things t on t.id = d.thing_id
        where d.day between ${range.from}::date and ${range.to}::date
        group by t.owner_id
        order by sum(d.flattrs) desc, t.owner_id
        limit ${checkLimit(limit)}`,
  );
  return rows.map((r, i) => ({ rank: i + 1, userId: Number(r.userId), flattrs: Number(r.flattrs), things: Number(r.things) }));
}

export interface BreakdownRow {
  /** Category or language id. */
  id: string;
  /** Things in it now. */
  things: number;
  /** Things created in it over the range. */
  newThings: number;
  /** Flattrs on its things over the range. */
  flattrs: number;
}

const BREAKDOWNS = {
  category: { table: raw('categories'), column: raw('category_id') },
  language: { table: raw('languages'), column: raw('language_id') },
} as const;

/** Every category (or language), in the served order, with zeros where nothing happened. */
export async function breakdown(em: EntityManager, range: DateRange, by: keyof typeof BREAKDOWNS): Promise<BreakdownRow[]> {
  const { table, column } = BREAKDOWNS[by];
  const { start, end } = instants(range);
  const rows = await query<{ id: string; things: string; newThings: string; flattrs: string }>(
    em,
    sql`select r.id as "id", coalesce(a.n, 0) as "things", coalesce(c.n, 0) as "newThings", coalesce(f.n, 0) as "flattrs"
        from ${table} r
        left join (select t.${column} as id, count(*) as n from things t group by 1) a on a.id = r.id
        left join (select t.${column} as id, count(*) as n from things t
                   where t.created_at >= ${start}::timestamptz and t.created_at < ${end}::timestamptz group by 1) c on c.id = r.id
        left join (select t.${column} as id, sum(d.flattrs) as n
                   from thing_flattr_days d join things t on t.id = d.thing_id
                   where d.day between ${range.from}::date and ${range.to}::date group by 1) f on f.id = r.id
        order by r.position`,
  );
  return rows.map((r) => ({ id: r.id, things: Number(r.things), newThings: Number(r.newThings), flattrs: Number(r.flattrs) }));
}

/**
 * A short per-process cache of answers, keyed by database, question and arguments (arguments after defaults, so
 * "the last 30 days" asked on two days are two keys). Concurrent identical questions share one query. Time is the
 * app's clock (the system clock in production; the GraphQL field passes its request's clock, so a test moves its
 * ManualClock to expire answers). A failed computation is not kept.
 */
export class StatsCache {
  private readonly entries = new Map<string, { until: number; value: Promise<unknown> }>();

  constructor(
    private readonly maxEntries = 500,
    private readonly clock: Clock = systemClock,
  ) {}

  /** `clock`: whose time decides freshness (the process-wide cache serves apps with clocks of their own). */
  get<T>(key: string, ttlMs: number, compute: () => Promise<T>, clock: Clock = this.clock): Promise<T> {
    if (ttlMs <= 0) return compute();
    const now = clock.now().getTime();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value as Promise<T>;
    const value = compute();
    this.entries.delete(key);
    this.entries.set(key, { until: now + ttlMs, value });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

export const statsCache = new StatsCache();

/** Cache key prefix telling databases apart (tests run many apps, on many databases, in one process). */
export function databaseKey(em: EntityManager): string {
  const config = em.config;
  return `${config.get('clientUrl') ?? ''}|${config.get('dbName') ?? ''}`;
}
