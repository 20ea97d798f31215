import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { Subscription, Thing, User, type ThingEntity, type UserEntity } from '../src/entities/index.js';
import { StatsCache, statsCache } from '../src/services/stats.js';
import { ManualClock } from '../src/config/clock.js';
import { referenceData } from '../src/services/reference-data.js';

/**
 * The `stats` graph (issue 8, item 7), against fixtures whose numbers are worked out by hand below.
 * The app's clock says 2026-03-10T12:00:00Z.
 *
 * Users: staff (2026-01-15), alice (2026-02-01), bob (2026-03-02), carol and dave (2026-03-05).
 * Things: t1 alice text/en_GB (2026-02-15), t2 alice images/sv_SE (2026-03-03), t3 bob text/en_GB hidden (2026-03-05).
 * Flattrs: alice→t3 02-20, dave→t2 02-27, bob→t1 03-01 10:00, carol→t1 03-01 23:59, dave→t1 03-04 00:00,
 *          bob→t2 03-04 12:00, carol→t3 03-09. Subscriptions: bob→t1 running, carol→t2 paused.
 */

let app: TestApp;
let statsToken: string;
let plainToken: string;
let t1: ThingEntity;
let t2: ThingEntity;
let t3: ThingEntity;

const at = (iso: string) => new Date(iso);

beforeAll(async () => {
  app = await startTestApp();
  const fx = new Fixtures(app.orm, app.clock);
  const staff = await fx.user({ username: 'staff', registeredAt: at('2026-01-15T09:00:00Z') });
  const alice: UserEntity = await fx.user({ username: 'alice', registeredAt: at('2026-02-01T00:00:00Z') });
  const bob: UserEntity = await fx.user({ username: 'bob', registeredAt: at('2026-03-02T23:30:00Z') });
  const carol = await fx.user({ username: 'carol', registeredAt: at('2026-03-05T00:00:00Z') });
  const dave = await fx.user({ username: 'dave', registeredAt: at('2026-03-05T22:00:00Z') });
  const now = app.clock.now();
  app.clock.set('2026-02-15T08:00:00Z');
  t1 = await fx.thing(alice, { title: 'First thing', category: 'text', language: 'en_GB' });
  app.clock.set('2026-03-03T08:00:00Z');
  t2 = await fx.thing(alice, { title: 'Second thing', category: 'images', language: 'sv_SE' });
  app.clock.set('2026-03-05T08:00:00Z');
  t3 = await fx.thing(bob, { title: 'Hidden thing', category: 'text', language: 'en_GB', hidden: true });
  app.clock.set(now);
  await fx.flattr(alice, t3, at('2026-02-20T00:00:00Z'));
  await fx.flattr(dave, t2, at('2026-02-27T15:00:00Z'));
  await fx.flattr(bob, t1, at('2026-03-01T10:00:00Z'));
  await fx.flattr(carol, t1, at('2026-03-01T23:59:59Z'));
  await fx.flattr(dave, t1, at('2026-03-04T00:00:00Z'));
  await fx.flattr(bob, t2, at('2026-03-04T12:00:00Z'));
  await fx.flattr(carol, t3, at('2026-03-09T08:00:00Z'));
  const em = app.orm.em.fork();
  em.create(Subscription, { user: em.getReference(User, bob.id), thing: em.getReference(Thing, t1.id), active: true, createdAt: now, startedAt: now });
  em.create(Subscription, { user: em.getReference(User, carol.id), thing: em.getReference(Thing, t2.id), active: false, createdAt: now, startedAt: now });
  await em.flush();
  statsToken = await fx.token(staff, ['stats']);
  plainToken = await fx.token(alice, ['flattr', 'thing', 'email', 'extendedread']);
  statsCache.clear();
});
afterAll(() => app?.close());

async function graphql(query: string, token: string | null = statsToken, variables: Record<string, unknown> = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await request(app.baseUrl, '/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json() as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function stats(selection: string): Promise<any> {
  const result = await graphql(`{ stats { ${selection} } }`);
  expect(result.errors).toBeUndefined();
  return result.data.stats;
}

const days = (from: string, counts: number[]) =>
  counts.map((count, i) => ({ start: new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10), count }));

describe('access', () => {
  it('needs the stats scope: other tokens get FORBIDDEN, anonymous callers UNAUTHENTICATED', async () => {
    const denied = await graphql('{ stats { totals { users } } categories { id } }', plainToken);
    expect(denied.data).toEqual({ stats: null, categories: expect.any(Array) });
    expect(denied.errors).toEqual([expect.objectContaining({ path: ['stats'], extensions: { code: 'FORBIDDEN', requiredScope: 'stats' } })]);
    const anonymous = await graphql('{ stats { totals { users } } }', null);
    expect(anonymous.data).toEqual({ stats: null });
    expect(anonymous.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe('numbers', () => {
  it('totals: users, things (hidden too), flattrs, running subscriptions', async () => {
    expect((await stats('totals { users things flattrs activeSubscriptions }')).totals).toEqual({ users: 5, things: 3, flattrs: 7, activeSubscriptions: 1 });
  });

  it('flattrs per day over a range, empty days included as 0 (UTC days)', async () => {
    const s = await stats('flattrs(from: "2026-03-01", to: "2026-03-10") { start count }');
    expect(s.flattrs).toEqual(days('2026-03-01', [2, 0, 0, 2, 0, 0, 0, 0, 1, 0]));
  });

  it('per ISO week (buckets start on Monday) and per month', async () => {
    const s = await stats(`
      weeks: flattrs(from: "2026-02-23", to: "2026-03-10", interval: WEEK) { start count }
      months: flattrs(from: "2026-01-01", to: "2026-03-31", interval: MONTH) { start count }
      partial: flattrs(from: "2026-02-25", to: "2026-03-03", interval: WEEK) { start count }`);
    expect(s.weeks).toEqual([
      { start: '2026-02-23', count: 3 },
      { start: '2026-03-02', count: 2 },
      { start: '2026-03-09', count: 1 },
    ]);
    expect(s.months).toEqual([
      { start: '2026-01-01', count: 0 },
      { start: '2026-02-01', count: 2 },
      { start: '2026-03-01', count: 5 },
    ]);
    // Buckets count only the days inside the range: 02-27 and 03-01 of the first week, nothing of 03-04.
    expect(s.partial).toEqual([
      { start: '2026-02-23', count: 3 },
      { start: '2026-03-02', count: 0 },
    ]);
  });

  it('defaults to the 30 days ending today by the app clock', async () => {
    const s = await stats('flattrs { start count }');
    expect(s.flattrs).toHaveLength(30);
    expect(s.flattrs[0].start).toBe('2026-02-09');
    expect(s.flattrs.at(-1).start).toBe('2026-03-10');
    expect(s.flattrs.reduce((sum: number, b: { count: number }) => sum + b.count, 0)).toBe(7);
  });

  it('top things and top creators over a period, most first, ties by id', async () => {
    const s = await stats(`
      topThings(from: "2026-03-01", to: "2026-03-10") { rank flattrs thing { databaseId title hidden } }
      topCreators(from: "2026-03-01", to: "2026-03-10") { rank flattrs things user { username } }
      february: topThings(from: "2026-02-01", to: "2026-02-28", limit: 1) { rank flattrs thing { databaseId } }`);
    expect(s.topThings).toEqual([
      { rank: 1, flattrs: 3, thing: { databaseId: t1.id, title: 'First thing', hidden: false } },
      { rank: 2, flattrs: 1, thing: { databaseId: t2.id, title: 'Second thing', hidden: false } },
      { rank: 3, flattrs: 1, thing: { databaseId: t3.id, title: 'Hidden thing', hidden: true } },
    ]);
    expect(s.topCreators).toEqual([
      { rank: 1, flattrs: 4, things: 2, user: { username: 'alice' } },
      { rank: 2, flattrs: 1, things: 1, user: { username: 'bob' } },
    ]);
    expect(s.february).toEqual([{ rank: 1, flattrs: 1, thing: { databaseId: t2.id } }]);
  });

  it('new users and new things per period', async () => {
    const s = await stats(`
      newUsers(from: "2026-03-01", to: "2026-03-07") { start count }
      newThings(from: "2026-03-01", to: "2026-03-07") { start count }
      usersByMonth: newUsers(from: "2026-01-01", to: "2026-03-31", interval: MONTH) { start count }`);
    expect(s.newUsers).toEqual(days('2026-03-01', [0, 1, 0, 0, 2, 0, 0]));
    expect(s.newThings).toEqual(days('2026-03-01', [0, 0, 1, 0, 1, 0, 0]));
    expect(s.usersByMonth).toEqual([
      { start: '2026-01-01', count: 1 },
      { start: '2026-02-01', count: 1 },
      { start: '2026-03-01', count: 3 },
    ]);
  });

  it('breakdown by category and by language: every entry in the served order, zeros included', async () => {
    const s = await stats(`
      byCategory(from: "2026-03-01", to: "2026-03-10") { category { id } things newThings flattrs }
      byLanguage(from: "2026-03-01", to: "2026-03-10") { language { id text } things newThings flattrs }`);
    expect(s.byCategory.map((c: any) => c.category.id)).toEqual(referenceData.categories.map((c) => c.id));
    const category = (id: string) => s.byCategory.find((c: any) => c.category.id === id);
    expect(category('text')).toEqual({ category: { id: 'text' }, things: 2, newThings: 1, flattrs: 4 });
    expect(category('images')).toEqual({ category: { id: 'images' }, things: 1, newThings: 1, flattrs: 1 });
    expect(category('video')).toEqual({ category: { id: 'video' }, things: 0, newThings: 0, flattrs: 0 });
    expect(s.byLanguage).toHaveLength(referenceData.languages.length);
    const language = (id: string) => s.byLanguage.find((l: any) => l.language.id === id);
    expect(language('en_GB')).toMatchObject({ things: 2, newThings: 1, flattrs: 4 });
    expect(language('sv_SE')).toMatchObject({ things: 1, newThings: 1, flattrs: 1 });
    expect(language('de_DE')).toMatchObject({ things: 0, newThings: 0, flattrs: 0 });
  });
});

describe('arguments', () => {
  it('refuses malformed dates, reversed or huge ranges and bad limits with BAD_USER_INPUT', async () => {
    for (const [selection, message] of [
      ['flattrs(from: "2026-02-30") { count }', 'from must be a date written YYYY-MM-DD, got "2026-02-30"'],
      ['flattrs(to: "10/03/2026") { count }', 'to must be a date written YYYY-MM-DD, got "10/03/2026"'],
      ['flattrs(from: "2026-03-10", to: "2026-03-01") { count }', 'from must not be after to'],
      ['newUsers(from: "2000-01-01", to: "2026-01-01") { count }', 'A range may cover at most 3660 days'],
      ['topThings(limit: 0) { rank }', 'limit must be between 1 and 100'],
      ['topCreators(limit: 101) { rank }', 'limit must be between 1 and 100'],
    ]) {
      const result = await graphql(`{ stats { ${selection} } }`);
      expect(result.errors, selection).toEqual([expect.objectContaining({ message, extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
    }
  });
});

describe('cost', () => {
  it('computes with SQL aggregates: no flattr, user or thing rows are loaded to be counted', async () => {
    statsCache.clear();
    // The statements knex sends (the stats queries are raw SQL, which MikroORM's own logger does not see).
    const statements: string[] = [];
    const knex = app.orm.em.getConnection().getKnex();
    const listener = (query: { sql: string }) => statements.push(query.sql);
    knex.on('query', listener);
    try {
      await stats(`totals { flattrs } flattrs { count } newUsers { count } newThings { count }
        byCategory { flattrs } byLanguage { flattrs } topCreators { flattrs }`);
    } finally {
      knex.removeListener('query', listener);
    }
    const computed = statements.filter((sql) => !sql.includes('oauth_access_tokens')); // minus authentication
    expect(computed).toHaveLength(7);
    for (const statement of computed) expect(statement, statement).toMatch(/count\(\*\)|sum\(/);
  });

  it('uses the indexes for the range conditions', async () => {
    const client = new pg.Client({ connectionString: app.databaseUrl });
    await client.connect();
    try {
      await client.query('set enable_seqscan = off');
      const plan = async (sql: string) => (await client.query(`explain ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(await plan(`select count(*) from users u where u.registered_at >= '2026-03-01T00:00:00Z' and u.registered_at < '2026-03-08T00:00:00Z'`)).toContain('users_registered_at_idx');
      expect(await plan(`select count(*) from things t where t.created_at >= '2026-03-01T00:00:00Z' and t.created_at < '2026-03-08T00:00:00Z'`)).toContain('things_created_at_idx');
      expect(await plan(`select sum(d.flattrs) from thing_flattr_days d where d.day between '2026-03-01' and '2026-03-10'`)).toContain('thing_flattr_days_day_idx');
    } finally {
      await client.end();
    }
  });

  it('caches answers for STATS_CACHE_SECONDS by the app clock, per arguments', async () => {
    statsCache.clear();
    const started = app.clock.now();
    try {
      const today = (from: string) => `newUsers(from: "${from}", to: "2026-03-10") { count }`;
      expect(await stats(`totals { users } ${today('2026-03-10')}`)).toEqual({ totals: { users: 5 }, newUsers: [{ count: 0 }] });
      const fx = new Fixtures(app.orm, app.clock);
      await fx.user({ username: 'erin' });
      // The same questions within STATS_CACHE_SECONDS (by the app clock, whatever the real time): the cached answers.
      app.clock.advance(app.config.statsCacheSeconds - 1);
      expect(await stats(`totals { users } ${today('2026-03-10')}`)).toEqual({ totals: { users: 5 }, newUsers: [{ count: 0 }] });
      // Other arguments are another question, computed afresh.
      expect((await stats(today('2026-03-09'))).newUsers).toEqual([{ count: 0 }, { count: 1 }]);
      // Once the app clock has moved STATS_CACHE_SECONDS past the first answers, they are computed again.
      app.clock.advance(1);
      expect(await stats(`totals { users } ${today('2026-03-10')}`)).toEqual({ totals: { users: 6 }, newUsers: [{ count: 1 }] });
    } finally {
      app.clock.set(started);
    }
  });

  it('StatsCache: expiry, no caching at ttl 0, shared in-flight computations, failures not kept', async () => {
    const clock = new ManualClock(new Date('2026-03-10T12:00:00Z'));
    const cache = new StatsCache(2, clock);
    let calls = 0;
    const compute = async () => ++calls;
    expect(await cache.get('a', 0, compute)).toBe(1);
    expect(await cache.get('a', 0, compute)).toBe(2);
    const [x, y] = await Promise.all([cache.get('b', 60_000, compute), cache.get('b', 60_000, compute)]);
    expect([x, y]).toEqual([3, 3]);
    await expect(cache.get('c', 60_000, () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('c', 60_000, compute)).toBe(4);
    // Expiry by the cache's clock: fresh until ttl has passed, recomputed from then on.
    expect(await cache.get('d', 1_000, compute)).toBe(5);
    clock.advance(0.999);
    expect(await cache.get('d', 1_000, compute)).toBe(5);
    clock.advance(0.001);
    expect(await cache.get('d', 1_000, compute)).toBe(6);
    // A clock passed with the question wins over the cache's own (the app's clock, per request).
    const later = new ManualClock(new Date('2026-03-10T13:00:00Z'));
    expect(await cache.get('d', 1_000, compute, later)).toBe(7);
    // At most maxEntries (2) answers: the oldest goes first.
    expect(await cache.get('e', 60_000, compute)).toBe(8);
    expect(await cache.get('e', 60_000, compute)).toBe(8);
    expect(await cache.get('c', 60_000, compute)).toBe(9);
  });
});
