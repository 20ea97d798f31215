import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { Subscription, Thing, User, type ThingEntity, type UserEntity } from '../src/entities/index.js';
import { periodStartOf, runSubscriptionPeriod, subscribe, toggleSubscription } from '../src/services/subscriptions.js';
import { flattrThing } from '../src/services/flattring.js';
import { JobScheduler } from '../src/jobs/scheduler.js';
import { allJobs } from '../src/jobs/jobs.js';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { ManualClock } from '../src/config/clock.js';

/** The monthly subscription run (spec §12.6, D77), its CLI command and the SUBSCRIPTIONS_CRON switch. */

let app: TestApp;
let fx: Fixtures;
let owner: UserEntity;
let fan: UserEntity;
let poor: UserEntity;
let counter = 0;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  owner = await fx.user({ username: 'owner', balanceCents: 100 });
  fan = await fx.user({ username: 'fan', balanceCents: 100 });
  poor = await fx.user({ username: 'poor', balanceCents: 0 });
});
afterAll(() => app?.close());

const em = () => app.orm.em.fork();
const at = (iso: string) => new ManualClock(new Date(iso));

async function sql(query: string, params: unknown[] = []): Promise<any[]> {
  return em().getConnection().execute(query, params);
}

async function newThing(by: UserEntity = owner): Promise<ThingEntity> {
  return fx.thing(by, { url: `https://example.org/sub/${++counter}` });
}

/** A subscription row as stored, bypassing the E18 rules (for the own-thing case of seed data). */
async function rawSubscription(user: UserEntity, thing: ThingEntity, startedAt: string, active = true): Promise<void> {
  const fork = em();
  fork.create(Subscription, {
    user: fork.getReference(User, user.id),
    thing: fork.getReference(Thing, thing.id),
    active,
    createdAt: new Date(startedAt),
    startedAt: new Date(startedAt),
  });
  await fork.flush();
}

/** The thing's flattr rows (timestamps come back from the driver as text: made Dates here). */
async function flattrsOn(thing: ThingEntity) {
  const rows = await sql('select user_id, created_at, period, source from flattrs where thing_id = ? order by id', [thing.id]);
  return rows.map((row) => ({ ...row, created_at: new Date(row.created_at) }));
}

describe('runSubscriptionPeriod', () => {
  it('flattrs every subscription active at the period start, once, with created_at = period start', async () => {
    // May 2026: a fresh period nothing else in this file touches.
    const active = await newThing();
    const paused = await newThing();
    const noMeans = await newThing();
    const own = await newThing(fan);
    const already = await newThing();
    const later = await newThing();
    const resumedLater = await newThing();

    await subscribe(em(), at('2026-04-10T00:00:00Z'), fan.id, active.id);
    await subscribe(em(), at('2026-04-10T00:00:00Z'), fan.id, paused.id);
    await toggleSubscription(em(), at('2026-04-20T00:00:00Z'), fan.id, paused.id);
    await subscribe(em(), at('2026-04-10T00:00:00Z'), poor.id, noMeans.id);
    await rawSubscription(fan, own, '2026-04-10T00:00:00Z');
    await subscribe(em(), at('2026-04-10T00:00:00Z'), fan.id, already.id);
    await flattrThing(em(), at('2026-05-01T00:00:00Z'), fan.id, already.id); // a click in May, before the run
    await subscribe(em(), at('2026-05-03T00:00:00Z'), fan.id, later.id); // not running at the period start
    // Paused in April, resumed after the start of May: it was not active at the start.
    await subscribe(em(), at('2026-04-10T00:00:00Z'), fan.id, resumedLater.id);
    await toggleSubscription(em(), at('2026-04-20T00:00:00Z'), fan.id, resumedLater.id);
    await toggleSubscription(em(), at('2026-05-02T00:00:00Z'), fan.id, resumedLater.id);

    const first = await runSubscriptionPeriod(em(), new Date('2026-05-17T13:14:15Z'));
    // Eligible: active, noMeans, own, already (paused, later and resumedLater were not running at the start).
    expect(first).toEqual({ period: '2026-05', flattred: 1, skipped: 3 });

    expect(await flattrsOn(active)).toEqual([
      { user_id: fan.id, created_at: new Date('2026-05-01T00:00:00Z'), period: '2026-05', source: 'subscription' },
    ]);
    for (const thing of [paused, noMeans, own, later, resumedLater]) expect(await flattrsOn(thing)).toEqual([]);
    expect(await flattrsOn(already)).toEqual([
      { user_id: fan.id, created_at: new Date('2026-05-01T00:00:00Z'), period: '2026-05', source: 'click' },
    ]);
    const [counters] = await sql('select flattrs_count, flattrs_user_count, last_flattr_at from things where id = ?', [active.id]);
    expect({ ...counters, last_flattr_at: new Date(counters.last_flattr_at) }).toEqual({
      flattrs_count: 1,
      flattrs_user_count: 1,
      last_flattr_at: new Date('2026-05-01T00:00:00Z'),
    });

    // Idempotent: a second run (any time in the period) changes nothing.
    const before = await sql('select id, thing_id, user_id, created_at from flattrs order by id');
    const second = await runSubscriptionPeriod(em(), new Date('2026-05-31T23:59:59Z'));
    expect(second).toEqual({ period: '2026-05', flattred: 0, skipped: 4 });
    expect(await sql('select id, thing_id, user_id, created_at from flattrs order by id')).toEqual(before);
    expect((await sql('select flattrs_count from things where id = ?', [active.id]))[0].flattrs_count).toBe(1);

    // The next period flattrs again, including the subscriptions that were resumed or created in May.
    const june = await runSubscriptionPeriod(em(), new Date('2026-06-01T00:00:00Z'));
    expect(june).toEqual({ period: '2026-06', flattred: 4, skipped: 2 });
    expect((await flattrsOn(resumedLater)).map((f) => f.created_at)).toEqual([new Date('2026-06-01T00:00:00Z')]);
  });

  it('a deleted subscription or thing is gone; concurrent runs still flattr once', async () => {
    const thing = await newThing();
    const gone = await newThing();
    const users = [fan, await fx.user({ balanceCents: 1 }), await fx.user({ balanceCents: 1 })];
    for (const user of users) await subscribe(em(), at('2026-06-15T00:00:00Z'), user.id, thing.id);
    await subscribe(em(), at('2026-06-15T00:00:00Z'), fan.id, gone.id);
    await em().nativeDelete(Thing, { id: gone.id });
    const results = await Promise.all(Array.from({ length: 4 }, () => runSubscriptionPeriod(em(), new Date('2026-07-01T00:00:00Z'))));
    expect(results.reduce((sum, r) => sum + r.flattred, 0)).toBeGreaterThanOrEqual(users.length);
    expect((await flattrsOn(thing)).length).toBe(users.length);
    const [row] = await sql('select flattrs_count, flattrs_user_count from things where id = ?', [thing.id]);
    expect(row).toEqual({ flattrs_count: 3, flattrs_user_count: 3 });
  });

  it('computes the UTC period start', () => {
    expect(periodStartOf(new Date('2026-12-31T23:59:59.999Z')).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(periodStartOf(new Date('2027-01-01T00:00:00+01:00')).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('SUBSCRIPTIONS_CRON', () => {
  it('is validated like the other switches', () => {
    expect(loadConfig({}).subscriptionsCron).toBe(false);
    expect(loadConfig({ SUBSCRIPTIONS_CRON: '1' }).subscriptionsCron).toBe(true);
    expect(loadConfig({ SUBSCRIPTIONS_CRON: 'off' }).subscriptionsCron).toBe(false);
    expect(() => loadConfig({ SUBSCRIPTIONS_CRON: 'hourly' })).toThrow(new ConfigError('SUBSCRIPTIONS_CRON must be true or false, got "hourly"'));
  });

  it('is the `subscriptions` job: due at once, then hourly and at the first tick of a month; never duplicates', async () => {
    expect(allJobs({ subscriptions: false }).map((job) => job.name)).not.toContain('subscriptions');
    const thing = await newThing();
    await subscribe(em(), at('2026-07-20T00:00:00Z'), fan.id, thing.id);
    const clock = at('2026-08-03T10:00:00Z');
    const jobs = new JobScheduler({ orm: app.orm, clock, logger: pino({ level: 'silent' }), jobs: allJobs({ subscriptions: true }) });
    const first = await jobs.run('subscriptions', { force: false });
    expect(first).toMatchObject({ outcome: 'ok', result: { period: '2026-08' } });
    expect((first.result as { flattred: number }).flattred).toBeGreaterThanOrEqual(1);
    clock.set('2026-08-03T10:59:00Z');
    expect(await jobs.run('subscriptions', { force: false })).toMatchObject({ outcome: 'not_due' });
    clock.set('2026-08-03T11:00:00Z');
    expect(await jobs.run('subscriptions', { force: false })).toMatchObject({ outcome: 'ok', result: { period: '2026-08', flattred: 0 } });
    clock.set('2026-08-31T23:59:00Z');
    await jobs.run('subscriptions', { force: true });
    clock.set('2026-09-01T00:00:30Z'); // a new month: due before the hour is over
    expect(await jobs.run('subscriptions', { force: false })).toMatchObject({ outcome: 'ok', result: { period: '2026-09' } });
    expect((await flattrsOn(thing)).map((f) => [f.created_at, f.source])).toEqual([
      [new Date('2026-08-01T00:00:00Z'), 'subscription'],
      [new Date('2026-09-01T00:00:00Z'), 'subscription'],
    ]);
  });
});

describe('admin CLI: period run', () => {
  function admin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: app.databaseUrl };
    delete env.TEST_DATABASE_URL;
    delete env.DATA_DIR;
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { cwd: process.cwd(), env, timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  }

  it('runs the period of --at and prints {"period","flattred","skipped"}', async () => {
    const thing = await newThing();
    await subscribe(em(), at('2026-09-05T00:00:00Z'), fan.id, thing.id);
    const before = await sql(`select count(*)::int as n from subscriptions where active and started_at <= '2026-10-01T00:00:00Z'`);
    const result = await admin('period', 'run', '--at', '2026-10-15');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const record = JSON.parse(result.stdout);
    expect(result.stdout).toBe(`${JSON.stringify({ period: '2026-10', flattred: record.flattred, skipped: before[0].n - record.flattred })}\n`);
    expect(record.flattred).toBeGreaterThanOrEqual(1);
    expect((await flattrsOn(thing)).map((f) => [f.created_at, f.source])).toEqual([[new Date('2026-10-01T00:00:00Z'), 'subscription']]);

    const bad = await admin('period', 'run', '--at', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^Invalid --at "soon".*Usage: admin period run \[--at ISO-DATE\]\n$/);
  });
});
