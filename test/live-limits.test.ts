import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startServerProcess, type ServerProcess } from './support/processes.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { subscribe, type SseSubscription } from './support/sse.js';
import { openDatabase } from '../src/db/database.js';
import { systemClock } from '../src/config/clock.js';
import { encodeGlobalId } from '../schema/global-id.js';
import type { ThingEntity } from '../src/entities/index.js';

/**
 * Issue 20, limits of GraphQL subscriptions on a real server process: the per-process cap (LIVE_MAX_STREAMS), and
 * open subscriptions counting against the rate limit (LIVE_CHARGE_SECONDS: one more request per period open).
 */

let database: TestDatabase;
let orm: MikroORM;
let fx: Fixtures;
let server: ServerProcess;
let thing: ThingEntity;
const open: SseSubscription[] = [];

const RATE_LIMIT = 6;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openDatabase({ databaseUrl: database.url });
  fx = new Fixtures(orm, systemClock);
  const alice = await fx.user({ username: 'alice' });
  thing = await fx.thing(alice, { title: 'Watched' });
  server = await startServerProcess({ DATABASE_URL: database.url, LIVE_MAX_STREAMS: '3', LIVE_CHARGE_SECONDS: '1', RATE_LIMIT_PER_HOUR: String(RATE_LIMIT) });
}, 60_000);

afterAll(async () => {
  for (const subscription of open) subscription.close();
  await server?.stop(15_000).catch(() => undefined);
  await orm?.close(true);
  await database?.drop();
});

const QUERY = 'subscription($id: ID!) { thingChanged(id: $id) { change } }';

async function live(token: string | null): Promise<SseSubscription> {
  const subscription = await subscribe(server.baseUrl, QUERY, { id: encodeGlobalId('Thing', thing.id) }, token ? { Authorization: `Bearer ${token}` } : {});
  open.push(subscription);
  return subscription;
}

const lastResult = (subscription: SseSubscription) => subscription.results()[subscription.results().length - 1];

describe('rate limit', () => {
  it('charges an open subscription one request per LIVE_CHARGE_SECONDS and ends it with RATE_LIMITED when the bucket is empty', async () => {
    const user = await fx.user({ username: 'counted' });
    const token = await fx.token(user, []);
    const subscription = await live(token);
    expect(subscription.status).toBe(200);
    expect(subscription.headers['x-ratelimit-remaining']).toBe(String(RATE_LIMIT - 1));
    expect(await subscription.closed).toBe(true);
    expect(lastResult(subscription).errors[0]).toMatchObject({ message: 'The subscription ended: the rate limit of its token is exhausted.', extensions: { code: 'RATE_LIMITED' } });
    expect(subscription.events[subscription.events.length - 1]!.event).toBe('complete');
    // The bucket is spent: the next request is refused.
    const refused = await request(server.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ categories { id } }' }),
    });
    expect(refused.status).toBe(429);
    expect(refused.json().errors[0].extensions.code).toBe('RATE_LIMITED');
  }, 30_000);
});

describe('per-process cap', () => {
  it('refuses a subscription beyond LIVE_MAX_STREAMS with SUBSCRIPTION_LIMIT (limit "process")', async () => {
    const tokens = await Promise.all([1, 2, 3, 4].map(async (n) => fx.token(await fx.user({ username: `cap${n}` }), [])));
    const streams = [];
    for (const token of tokens.slice(0, 3)) {
      // The rate-limit test's stream may still be closing: wait until there is room.
      let stream = await live(token);
      for (let attempt = 0; attempt < 50 && stream.events.length > 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        stream = await live(token);
      }
      expect(stream.events).toEqual([]);
      streams.push(stream);
    }
    const refused = await live(tokens[3]!);
    await refused.closed;
    expect(refused.results()).toEqual([
      {
        errors: [
          expect.objectContaining({
            message: 'This server has too many open subscriptions (at most 3): try again later.',
            extensions: { code: 'SUBSCRIPTION_LIMIT', limit: 'process', max: 3 },
          }),
        ],
      },
    ]);
  }, 30_000);
});

describe('revalidation', () => {
  it('ends the streams of a disabled application within seconds (TOKEN_REVOKED), though no token was revoked', async () => {
    for (const subscription of open.splice(0)) subscription.close();
    const token = await fx.token(await fx.user({ username: 'disabled' }), []);
    let subscription = await live(token);
    for (let attempt = 0; attempt < 50 && subscription.events.length > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      subscription = await live(token);
    }
    expect(subscription.events).toEqual([]);
    await orm.em.getConnection().execute('update oauth_clients set enabled = false');
    expect(await subscription.closed).toBe(true);
    expect(lastResult(subscription).errors[0].extensions.code).toBe('TOKEN_REVOKED');
  }, 30_000);
});
