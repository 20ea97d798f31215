import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { exitCode, startRedisServer, startServerProcess, type RedisProcess, type ServerProcess } from './support/processes.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { subscribe, type SseSubscription } from './support/sse.js';
import { openDatabase } from '../src/db/database.js';
import { systemClock } from '../src/config/clock.js';
import { revokeTokens } from '../src/services/tokens.js';
import { runSubscriptionPeriod } from '../src/services/subscriptions.js';
import { encodeGlobalId } from '../schema/global-id.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * Issue 20: GraphQL subscriptions over Server-Sent Events, on two real server processes that share one database and
 * one Redis. Writes go through REST (or plain SQL, for a rolled-back transaction); events come from PostgreSQL
 * NOTIFY, issued by triggers inside the writing transaction, which each process LISTENs to.
 */

const METRICS_TOKEN = 'live-metrics-token-0123456789';
let database: TestDatabase;
let redis: RedisProcess;
let orm: MikroORM;
let fx: Fixtures;
let a: ServerProcess;
let b: ServerProcess;
const open: SseSubscription[] = [];

let alice: UserEntity;
let bob: UserEntity;
let carol: UserEntity;
let dave: UserEntity;
let aliceToken: string;
let bobToken: string;
let carolToken: string;
let daveToken: string;
let staffToken: string;
let t1: ThingEntity;
let t2: ThingEntity;
let t3: ThingEntity;
let hidden: ThingEntity;

beforeAll(async () => {
  database = await createTestDatabase();
  redis = await startRedisServer();
  orm = await openDatabase({ databaseUrl: database.url });
  fx = new Fixtures(orm, systemClock);
  alice = await fx.user({ username: 'alice' });
  bob = await fx.user({ username: 'bob', balanceCents: 10_000 });
  carol = await fx.user({ username: 'carol', balanceCents: 10_000 });
  dave = await fx.user({ username: 'dave', balanceCents: 10_000 });
  const staff = await fx.user({ username: 'staff' });
  t1 = await fx.thing(alice, { title: 'Public one' });
  t2 = await fx.thing(alice, { title: 'Public two' });
  t3 = await fx.thing(alice, { title: 'Public three' });
  hidden = await fx.thing(alice, { title: 'Hidden', hidden: true });
  aliceToken = await fx.token(alice, ['thing']);
  bobToken = await fx.token(bob, ['flattr']);
  carolToken = await fx.token(carol, ['flattr']);
  daveToken = await fx.token(dave, ['flattr']);
  staffToken = await fx.token(staff, ['stats']);
  const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, METRICS_TOKEN, RATE_LIMIT_PER_HOUR: '100000', LIVE_MAX_PER_CALLER: '3', LIVE_BUFFER_EVENTS: '3' };
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
}, 90_000);

afterAll(async () => {
  for (const subscription of open) subscription.close();
  await a?.stop(15_000).catch(() => undefined);
  await b?.stop(15_000).catch(() => undefined);
  await orm?.close(true);
  await redis?.stop();
  await database?.drop();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Open subscriptions of a server process, from its metrics. */
async function openStreams(server: ServerProcess): Promise<number> {
  const metrics = await request(server.baseUrl, '/metrics', { headers: bearer(METRICS_TOKEN) });
  return [...metrics.text.matchAll(/^flattr_live_streams_open\{field="[a-zA-Z]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

// Each test starts with no stream open (anonymous ones share one caller cap): closing a connection closes its stream.
afterEach(async () => {
  for (const subscription of open.splice(0)) subscription.close();
  for (const server of [a, b]) {
    if (server.child.exitCode !== null) continue;
    for (let i = 0; i < 100 && (await openStreams(server)) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openStreams(server)).toBe(0);
  }
});

async function live(server: ServerProcess, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<SseSubscription> {
  const subscription = await subscribe(server.baseUrl, query, variables, headers);
  open.push(subscription);
  return subscription;
}

async function graphql(server: ServerProcess, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await request(server.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

async function restFlattr(server: ServerProcess, token: string, thing: ThingEntity): Promise<number> {
  const response = await request(server.baseUrl, `/rest/v2/things/${thing.id}/flattr`, { method: 'POST', headers: bearer(token) });
  return response.status;
}

/** The final event of a stream that the server ended: its error code. */
function finalCode(subscription: SseSubscription): unknown {
  const results = subscription.results();
  return results[results.length - 1]?.errors?.[0]?.extensions?.code;
}

const FLATTR_CREATED = `subscription Flattrs($thingId: ID, $ownerId: ID) {
  flattrCreated(thingId: $thingId, ownerId: $ownerId) {
    flattr { id databaseId source owner { username } }
    thing { id databaseId title flattrCount flattrUserCount }
  }
}`;

describe('across processes', () => {
  it('a flattr through REST on process A reaches an SSE subscriber on process B, with the counters a later query shows', async () => {
    const subscription = await live(b, FLATTR_CREATED, { thingId: encodeGlobalId('Thing', t1.id) });
    expect(subscription.status).toBe(200);
    expect(subscription.headers['content-type']).toBe('text/event-stream');

    expect(await restFlattr(a, bobToken, t1)).toBe(200);
    const [event] = await subscription.waitForEvents(1);
    const after = await graphql(a, 'query($id: Int!) { thing(id: $id) { id databaseId title flattrCount flattrUserCount } }', { id: t1.id });
    expect(event!.event).toBe('next');
    expect(event!.data.errors).toBeUndefined();
    const created = event!.data.data.flattrCreated;
    expect(created.flattr.owner).toEqual({ username: 'bob' });
    expect(created.flattr.source).toBe('CLICK');
    expect(created.flattr.id).toBe(encodeGlobalId('Flattr', created.flattr.databaseId));
    expect(created.thing).toEqual(after.data.thing);
    expect(created.thing).toMatchObject({ databaseId: t1.id, flattrCount: 1, flattrUserCount: 1 });
  });

  it('a rolled-back write produces no event: the first event is the write committed after it', async () => {
    const subscription = await live(b, FLATTR_CREATED, { thingId: encodeGlobalId('Thing', t2.id) });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('begin');
      await client.query(`insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, now(), to_char(now() at time zone 'UTC', 'YYYY-MM'), 'click')`, [dave.id, t2.id]);
      await client.query('rollback');
    } finally {
      await client.end();
    }
    // A refused REST write (flattring one's own thing) commits nothing either.
    expect(await restFlattr(a, aliceToken, t2)).not.toBe(200);
    expect(await restFlattr(a, carolToken, t2)).toBe(200);
    const [event] = await subscription.waitForEvents(1);
    const created = event!.data.data.flattrCreated;
    expect(created.flattr.owner).toEqual({ username: 'carol' });
    expect(created.thing).toMatchObject({ databaseId: t2.id, flattrCount: 1, flattrUserCount: 1 });
    const { rows } = await orm.em.getConnection().execute<{ n: string }[]>('select count(*) as n from flattrs where thing_id = ?', [t2.id]).then((r) => ({ rows: r }));
    expect(Number(rows[0]!.n)).toBe(1);
  });
});

describe('transport', () => {
  it('answers a subscription sent without Accept: text/event-stream with BAD_REQUEST, and opens no stream', async () => {
    const openStreams = async () => {
      const metrics = await request(b.baseUrl, '/metrics', { headers: bearer(METRICS_TOKEN) });
      return Number(/^flattr_live_streams_open\{field="flattrCreated"\} (\d+)$/m.exec(metrics.text)?.[1]);
    };
    const before = await openStreams();
    const answer = await graphql(b, 'subscription { flattrCreated { thing { id } } }');
    expect(answer.errors).toEqual([{ message: 'Subscriptions are served as Server-Sent Events: send Accept: text/event-stream.', extensions: { code: 'BAD_REQUEST' } }]);
    expect(await openStreams()).toBe(before);
  });
});

describe('bad input', () => {
  it('answers a malformed or wrong-type id, and an interval out of range, with BAD_USER_INPUT naming the argument', async () => {
    const cases: [string, Record<string, unknown>, Record<string, string>, string][] = [
      ['subscription($id: ID!) { thingChanged(id: $id) { change } }', { id: 'abc' }, {}, 'Invalid global id "abc": use the id field of an object'],
      ['subscription($id: ID!) { thingChanged(id: $id) { change } }', { id: encodeGlobalId('User', alice.id) }, {}, '"id" must be the id of a Thing, not of a User'],
      ['subscription($id: ID) { flattrCreated(ownerId: $id) { thing { id } } }', { id: encodeGlobalId('Thing', t1.id) }, {}, '"ownerId" must be the id of a User, not of a Thing'],
      ['subscription { statsTotals(everySeconds: 0) { at } }', {}, bearer(staffToken), 'everySeconds must be between 1 and 3600'],
    ];
    for (const [query, variables, headers, message] of cases) {
      const subscription = await live(b, query, variables, headers);
      expect(await subscription.closed).toBe(true);
      expect(subscription.results()).toEqual([{ errors: [expect.objectContaining({ message, extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })] }]);
    }
  });
});

describe('every write path', () => {
  it('a GraphQL flattrThing on A, and the monthly subscription run (any process), reach a subscriber on B', async () => {
    const erin = await fx.user({ username: 'erin', balanceCents: 10_000 });
    const frank = await fx.user({ username: 'frank', balanceCents: 10_000 });
    const thing = await fx.thing(bob, { title: 'Paths' });
    const subscription = await live(b, FLATTR_CREATED, { thingId: encodeGlobalId('Thing', thing.id) });
    const mutation = await graphql(
      a,
      'mutation($id: ID!) { flattrThing(id: $id) { __typename ... on FlattrSuccess { flattr { databaseId } } } }',
      { id: encodeGlobalId('Thing', thing.id) },
      bearer(await fx.token(erin, ['flattr'])),
    );
    expect(mutation.data.flattrThing.__typename).toBe('FlattrSuccess');
    // The event's thing is read when B delivers it: the next flattr waits for it, or its counters could already show both.
    await subscription.waitForEvents(1);
    // frank has subscribed to the thing since before this month: the monthly run flattrs it for him.
    await orm.em.getConnection().execute(
      `insert into subscriptions (user_id, thing_id, active, created_at, started_at) values (?, ?, true, '2020-01-01', '2020-01-01')`,
      [frank.id, thing.id],
    );
    expect((await runSubscriptionPeriod(orm.em.fork(), new Date())).flattred).toBe(1);
    const [first, second] = await subscription.waitForEvents(2);
    expect(first!.data.data.flattrCreated).toMatchObject({ flattr: { databaseId: mutation.data.flattrThing.flattr.databaseId, source: 'CLICK', owner: { username: 'erin' } }, thing: { flattrCount: 1 } });
    expect(second!.data.data.flattrCreated).toMatchObject({ flattr: { source: 'SUBSCRIPTION', owner: { username: 'frank' } }, thing: { flattrCount: 2, flattrUserCount: 2 } });
  });

  it('thingChanged follows an update and the deletion of a thing, then completes', async () => {
    const thing = await fx.thing(alice, { title: 'Short-lived' });
    const subscription = await live(b, 'subscription($id: ID!) { thingChanged(id: $id) { change thingId thing { title } } }', { id: encodeGlobalId('Thing', thing.id) });
    const patch = await graphql(
      a,
      'mutation($id: ID!) { updateThing(id: $id, patch: { title: "Renamed" }) { __typename } }',
      { id: encodeGlobalId('Thing', thing.id) },
      bearer(aliceToken),
    );
    expect(patch.data.updateThing.__typename).toBe('UpdateThingSuccess');
    const deleted = await graphql(a, 'mutation($id: ID!) { deleteThing(id: $id) { __typename } }', { id: encodeGlobalId('Thing', thing.id) }, bearer(aliceToken));
    expect(deleted.data.deleteThing.__typename).toBe('DeleteThingSuccess');
    expect(await subscription.closed).toBe(true);
    expect(subscription.results()).toEqual([
      { data: { thingChanged: { change: 'UPDATED', thingId: encodeGlobalId('Thing', thing.id), thing: { title: 'Renamed' } } } },
      { data: { thingChanged: { change: 'DELETED', thingId: encodeGlobalId('Thing', thing.id), thing: null } } },
    ]);
    expect(subscription.events[subscription.events.length - 1]!.event).toBe('complete');
  });
});

describe('authorization as for queries', () => {
  it('refuses statsTotals without the stats scope (FORBIDDEN) and anonymously (UNAUTHENTICATED); a stats token gets the totals', async () => {
    const STATS = 'subscription { statsTotals(everySeconds: 1) { totals { users things flattrs activeSubscriptions } flattrsToday { start count } } }';
    const refused = await live(b, STATS, {}, bearer(bobToken));
    await refused.closed;
    expect(refused.results()).toEqual([
      { errors: [expect.objectContaining({ message: "You don't have sufficient access rights to access this resource", extensions: { code: 'FORBIDDEN', requiredScope: 'stats' } })] },
    ]);
    expect(refused.events[refused.events.length - 1]!.event).toBe('complete');
    const anonymous = await live(b, STATS);
    await anonymous.closed;
    expect(anonymous.results()[0].errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const allowed = await live(b, STATS, {}, bearer(staffToken));
    const counts = async () => {
      const [row] = await orm.em.getConnection().execute<Record<string, string>[]>(
        `select (select count(*) from users) as users, (select count(*) from things) as things, (select count(*) from flattrs) as flattrs,
                (select count(*) from subscriptions where active) as "activeSubscriptions"`,
      );
      return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
    };
    const before = await counts();
    // Nothing is pushed until a committed write changes the numbers.
    expect(await restFlattr(a, daveToken, t1)).toBe(200);
    const [event] = await allowed.waitForEvents(1);
    expect(event!.data.data.statsTotals.totals).toEqual({ ...before, flattrs: before.flattrs! + 1 });
    expect(event!.data.data.statsTotals.totals).toEqual(await counts());
    expect(event!.data.data.statsTotals.flattrsToday).toEqual({ start: new Date().toISOString().slice(0, 10), count: expect.any(Number) });
  });

  it("keeps a hidden thing's events with its owner", async () => {
    const owner = await live(b, FLATTR_CREATED, { ownerId: encodeGlobalId('User', alice.id) }, bearer(aliceToken));
    const other = await live(b, FLATTR_CREATED, {}, bearer(bobToken));
    const anonymous = await live(a, FLATTR_CREATED);
    expect(await restFlattr(a, carolToken, hidden)).toBe(200);
    expect(await restFlattr(a, carolToken, t3)).toBe(200);
    const [first, second] = await owner.waitForEvents(2);
    expect(first!.data.data.flattrCreated.thing.databaseId).toBe(hidden.id);
    expect(second!.data.data.flattrCreated.thing.databaseId).toBe(t3.id);
    // Events arrive in commit order: had the hidden thing's flattr reached them, it would come first.
    for (const subscription of [other, anonymous]) {
      const [event] = await subscription.waitForEvents(1);
      expect(event!.data.data.flattrCreated.thing.databaseId).toBe(t3.id);
    }

    const THING = 'subscription($id: ID!) { thingChanged(id: $id) { change thingId thing { title hidden } } }';
    const notFound = await live(b, THING, { id: encodeGlobalId('Thing', hidden.id) }, bearer(bobToken));
    await notFound.closed;
    expect(notFound.results()[0].errors[0]).toMatchObject({ message: 'No thing was found', extensions: { code: 'NOT_FOUND' } });
  });

  it('keeps the flattrs of a user who hides their flattrs with that user (a private flattr list stays private)', async () => {
    const quiet = await fx.user({ username: 'quiet', balanceCents: 10_000, hideFlattrs: true });
    const quietToken = await fx.token(quiet, ['flattr']);
    const thing = await fx.thing(alice, { title: 'Watched privately' });
    const owner = await live(b, FLATTR_CREATED, { thingId: encodeGlobalId('Thing', thing.id) }, bearer(aliceToken));
    const self = await live(b, FLATTR_CREATED, { thingId: encodeGlobalId('Thing', thing.id) }, bearer(quietToken));
    expect(await restFlattr(a, quietToken, thing)).toBe(200);
    expect(await restFlattr(a, bobToken, thing)).toBe(200);
    const [mine] = await self.waitForEvents(1);
    expect(mine!.data.data.flattrCreated.flattr.owner).toEqual({ username: 'quiet' });
    // The owner's first event is bob's, committed after quiet's.
    const [first] = await owner.waitForEvents(1);
    expect(first!.data.data.flattrCreated.flattr.owner).toEqual({ username: 'bob' });
    expect(first!.data.data.flattrCreated.thing.flattrCount).toBe(2);
  });

  it('keeps an idle stream alive with ":" comments between events', async () => {
    // Yoga pings every 12 s in production; under NODE_ENV=test (these server processes) every 300 ms. What this checks
    // is that the pings pass through the Koa streaming (src/server/live-transport.ts) while no event comes.
    const subscription = await live(b, 'subscription($id: ID!) { thingChanged(id: $id) { change } }', { id: encodeGlobalId('Thing', t2.id) });
    const atStart = subscription.pings();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(subscription.events).toEqual([]);
    expect(subscription.pings() - atStart).toBeGreaterThanOrEqual(2);
  });

  it("ends a revoked token's stream with a final TOKEN_REVOKED event", async () => {
    const token = await fx.token(carol, ['flattr']);
    const subscription = await live(b, 'subscription($id: ID!) { thingChanged(id: $id) { change thing { title } } }', { id: encodeGlobalId('Thing', t3.id) }, bearer(token));
    expect(await revokeTokens(orm.em.fork(), systemClock, { token })).toBe(1);
    expect(await subscription.closed).toBe(true);
    expect(finalCode(subscription)).toBe('TOKEN_REVOKED');
    expect(subscription.results()[0].errors[0].message).toMatch(/access token was revoked/);
    expect(subscription.events[subscription.events.length - 1]!.event).toBe('complete');
  });
});

describe('limits', () => {
  it('caps open subscriptions per token across processes sharing Redis (SUBSCRIPTION_LIMIT) and counts them in the metrics', async () => {
    const token = await fx.token(bob, ['flattr']);
    const query = 'subscription($id: ID!) { thingChanged(id: $id) { change } }';
    const variables = { id: encodeGlobalId('Thing', t1.id) };
    // Two on A and one on B: the token's third, counted in Redis.
    const streams = [await live(a, query, variables, bearer(token)), await live(a, query, variables, bearer(token)), await live(b, query, variables, bearer(token))];
    for (const stream of streams) expect(stream.events).toEqual([]);
    const refused = await live(b, query, variables, bearer(token));
    await refused.closed;
    expect(refused.results()).toEqual([
      {
        errors: [expect.objectContaining({ message: 'Too many open subscriptions for this token (at most 3): close one first.', extensions: { code: 'SUBSCRIPTION_LIMIT', limit: 'caller', max: 3 } })],
      },
    ]);
    // Another token is not affected.
    const other = await live(b, query, variables, bearer(daveToken));
    expect(other.status).toBe(200);
    const metrics = await request(b.baseUrl, '/metrics', { headers: bearer(METRICS_TOKEN) });
    expect(metrics.text).toMatch(/^flattr_live_subscriptions_refused_total\{limit="caller"\} 1$/m);
    const openThingChanged = Number(/^flattr_live_streams_open\{field="thingChanged"\} (\d+)$/m.exec(metrics.text)?.[1]);
    expect(openThingChanged).toBe(2); // the token's one on B and dave's
    // Closing one (on A) frees its place (on B).
    streams[0]!.close();
    let again: SseSubscription | null = null;
    for (let attempt = 0; attempt < 50 && !again; attempt++) {
      const next = await live(b, query, variables, bearer(token));
      if (next.events.length === 0) again = next;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(again).not.toBeNull();
  });

  it('drops a subscriber that stops reading: its buffer stays bounded and the stream ends with SLOW_CONSUMER', async () => {
    // Big events (100 tags of 255 characters, selected 20 times) fill the socket buffers quickly.
    const tags = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(252)}`);
    const big = await fx.thing(alice, { title: 'Big', tags });
    const selection = Array.from({ length: 20 }, (_, i) => `t${i}: tags`).join(' ');
    const slow = await live(b, `subscription($id: ID!) { thingChanged(id: $id) { change thing { ${selection} } } }`, { id: encodeGlobalId('Thing', big.id) });
    slow.pause();
    const dropped = async () => {
      const metrics = await request(b.baseUrl, '/metrics', { headers: bearer(METRICS_TOKEN) });
      return Number(/^flattr_live_events_dropped_total\{field="thingChanged"\} (\d+)$/m.exec(metrics.text)?.[1] ?? 0);
    };
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (let i = 0; i < 200 && (await dropped()) === 0; i++) {
        await client.query('update things set title = $1 where id = $2', [`Big ${i}`, big.id]);
      }
    } finally {
      await client.end();
    }
    const count = await dropped();
    expect(count).toBeGreaterThan(3); // more than LIVE_BUFFER_EVENTS were waiting, and were thrown away
    slow.resume();
    await slow.closed;
    expect(finalCode(slow)).toBe('SLOW_CONSUMER');
    expect(slow.events[slow.events.length - 1]!.event).toBe('complete');
  });
});

describe('shutdown', () => {
  it('ends open streams with a final SERVER_SHUTTING_DOWN event, and the process exits 0', async () => {
    const subscription = await live(a, FLATTR_CREATED);
    await a.stop(15_000);
    expect(await exitCode(a)).toBe(0);
    expect(await subscription.closed).toBe(true);
    expect(finalCode(subscription)).toBe('SERVER_SHUTTING_DOWN');
  });
});
