import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startRedisServer, startServerProcess, type RedisProcess, type ServerProcess, type Spawned } from './support/processes.js';
import { request, type HttpResult } from './support/http.js';
import { Fixtures } from './support/fixtures.js';
import { openDatabase } from '../src/db/database.js';
import { ManualClock } from '../src/config/clock.js';
import { loadConfig } from '../src/config/config.js';
import { sha256Hex } from '../src/services/tokens.js';
import { createRateLimiter, type RateLimiter } from '../src/rate-limit/limiter.js';
import { Readiness } from '../src/server/readiness.js';
import { LOGIN_THROTTLE } from '../src/rate-limit/login-attempts.js';

/** The shared Redis: never flushed; this file only touches keys under its own random prefix. */
const SHARED_REDIS = 'redis://127.0.0.1:6379';
const run = randomBytes(6).toString('hex');

let database: TestDatabase;
let token: string;
const processes: Spawned[] = [];
const limiters: RateLimiter[] = [];
let shared: Redis;

beforeAll(async () => {
  database = await createTestDatabase();
  const orm = await openDatabase({ databaseUrl: database.url });
  const fx = new Fixtures(orm, new ManualClock(new Date('2026-03-10T12:00:00Z')));
  token = await fx.token(await fx.user({ username: 'alice' }));
  await orm.close(true);
  shared = new Redis(SHARED_REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await shared.connect();
});

afterAll(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  await Promise.all(processes.map((p) => p.stop()));
  if (shared) {
    const keys = await shared.keys(`flattr-test-${run}-*`);
    if (keys.length) await shared.del(...keys);
    await shared.quit();
  }
  await database?.drop();
});

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const started = await startServerProcess({ DATABASE_URL: database.url, ...env });
  processes.push(started);
  return started;
}

const current = (res: HttpResult) => Number(res.headers['x-ratelimit-current']);
const get = (target: ServerProcess, path: string, headers: Record<string, string> = {}) => request(target.baseUrl, `/rest/v2${path}`, { headers });
const gql = (target: ServerProcess, query: string, headers: Record<string, string> = {}) =>
  request(target.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

describe('two server processes on one Redis', () => {
  const prefix = `flattr-test-${run}-shared`;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    const env = { REDIS_URL: SHARED_REDIS, RATE_LIMIT_KEY_PREFIX: prefix, RATE_LIMIT_PER_HOUR: '12' };
    [a, b] = await Promise.all([server(env), server(env)]);
  });

  it('share one budget exactly: N requests spread over both are counted once each', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const target = i % 2 === 0 ? a : b;
      const res = i % 3 === 2 ? await gql(target, '{ categories { id } }') : await get(target, '/categories');
      expect(res.status).toBe(200);
      if (i % 3 === 2) expect(res.json().extensions.rateLimit.current).toBe(current(res));
      seen.push(current(res));
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const auth = { Authorization: `Bearer ${token}` };
    const viaToken = [await get(a, '/user', auth), await gql(b, '{ viewer { username } }', auth), await get(b, '/user', auth), await get(a, '/user', auth)];
    expect(viaToken.map((res) => [res.status, current(res)])).toEqual([
      [200, 1],
      [200, 2],
      [200, 3],
      [200, 4],
    ]);

    // One key per bucket, under the prefix; the token appears only as its SHA-256.
    const keys = (await shared.keys(`${prefix}:*`)).sort();
    expect(keys).toEqual([`${prefix}:ip:127.0.0.1`, `${prefix}:token:${sha256Hex(token)}`].sort());
    expect(keys.some((key) => key.includes(token))).toBe(false);
    expect(await shared.get(`${prefix}:ip:127.0.0.1`)).toBe('10');
  });

  it('exhaust the budget together: both refuse, with the same reset', async () => {
    expect(current(await get(a, '/categories'))).toBe(11);
    expect(current(await get(b, '/nowhere'))).toBe(12);
    const refusedA = await get(a, '/categories');
    const refusedB = await get(b, '/categories');
    expect([refusedA.status, refusedB.status]).toEqual([403, 403]);
    expect([current(refusedA), current(refusedB)]).toEqual([12, 12]);
    expect(refusedA.headers['x-ratelimit-reset']).toBe(refusedB.headers['x-ratelimit-reset']);
    expect(Number(refusedB.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await gql(b, '{ categories { id } }')).status).toBe(429);
    expect(await shared.get(`${prefix}:ip:127.0.0.1`)).toBe('12'); // refusals are not counted
    const [onA, onB] = [(await get(a, '/rate_limit')).json(), (await get(b, '/rate_limit')).json()];
    expect(onA).toEqual(onB);
    expect(onA).toMatchObject({ hourly_limit: 12, remaining_hits: 0, current_hits: 12, reset_time_in_seconds: Number(refusedA.headers['x-ratelimit-reset']) });
  });
});

describe('failed logins on two server processes with one Redis', () => {
  const prefix = `flattr-test-${run}-logins`;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    const env = { REDIS_URL: SHARED_REDIS, RATE_LIMIT_KEY_PREFIX: prefix };
    [a, b] = await Promise.all([server(env), server(env)]);
  });

  const wrongSecret = (target: ServerProcess) =>
    request(target.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from('guessed-client:wrong').toString('base64')}` },
      body: 'grant_type=authorization_code&code=nope',
    });

  it(`are counted together: ${LOGIN_THROTTLE.perAccount} failures spread over both, then both refuse`, async () => {
    for (let i = 0; i < LOGIN_THROTTLE.perAccount; i++) expect((await wrongSecret(i % 2 ? a : b)).status).toBe(401);
    const [refusedA, refusedB] = [await wrongSecret(a), await wrongSecret(b)];
    expect([refusedA.status, refusedB.status]).toEqual([429, 429]);
    expect(refusedA.json().error).toBe('invalid_client');
    expect(Number(refusedB.headers['retry-after'])).toBeGreaterThan(0);
    expect(await shared.get(`${prefix}:login-account:client:guessed-client|127.0.0.1`)).toBe(String(LOGIN_THROTTLE.perAccount));
  });
});

describe('Redis outage', () => {
  const prefix = `flattr-test-${run}-outage`;
  let redis: RedisProcess;
  let c: ServerProcess;
  let d: ServerProcess;
  let limiter: RateLimiter;
  const readiness = new Readiness();
  const logLines: string[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    processes.push(redis);
    const env = { REDIS_URL: redis.url, RATE_LIMIT_KEY_PREFIX: prefix, RATE_LIMIT_PER_HOUR: '1000' };
    [c, d] = await Promise.all([server(env), server(env)]);
    // The same limiter in this process, to read its readiness directly.
    const config = loadConfig({ REDIS_URL: redis.url, RATE_LIMIT_KEY_PREFIX: `${prefix}-local`, RATE_LIMIT_PER_HOUR: '1000' });
    limiter = createRateLimiter(config, pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }));
    limiters.push(limiter);
    readiness.register('rateLimit', () => limiter.health());
    await limiter.whenReady(5_000);
  });

  const warnings = (output: string) => output.split('\n').filter((line) => line.includes('Redis unavailable')).length;

  it('keeps answering with the per-process fallback, reports degraded, and shares counting again once Redis is back', async () => {
    // Shared counting.
    expect([current(await get(c, '/categories')), current(await get(d, '/categories')), current(await get(c, '/categories'))]).toEqual([1, 2, 3]);
    expect(readiness.report()).toEqual({ status: 'ok', ready: true, components: { rateLimit: { status: 'ok', store: 'redis' } } });

    await redis.stop();

    // Still answered, with headers, while Redis is down (it stays down until restarted below, so a request waiting
    // for it would never be answered); each process counts on its own now.
    const during = [await get(c, '/categories'), await get(d, '/categories'), await get(c, '/categories'), await get(c, '/categories'), await get(d, '/categories')];
    for (const res of during) {
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('1000');
      expect(res.headers.ratelimit).toMatch(/^"hourly";r=\d+;t=\d+$/);
    }
    expect(during.map((res) => current(res))).toEqual([1, 1, 2, 3, 2]);
    // One warning per outage and process, however many requests.
    expect([warnings(c.output()), warnings(d.output())]).toEqual([1, 1]);

    const fallback = await limiter.consume('ip:local');
    expect(fallback.allowed && fallback.counted.store).toBe('memory');
    const report = readiness.report();
    expect(report).toMatchObject({ status: 'degraded', ready: true, components: { rateLimit: { status: 'degraded', store: 'memory' } } });
    expect(report.components.rateLimit!.detail).toContain('Redis unavailable');

    // Same port, empty Redis: shared counting resumes from a new window.
    redis = await startRedisServer(redis.port);
    processes.push(redis);
    const deadline = Date.now() + 10_000;
    let resumed: number[] = [];
    while (Date.now() < deadline) {
      resumed = [current(await get(c, '/categories')), current(await get(d, '/categories')), current(await get(c, '/categories'))];
      if (resumed[1] === resumed[0]! + 1 && resumed[2] === resumed[0]! + 2 && c.output().includes('Redis is back') && d.output().includes('Redis is back')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(resumed[1]).toBe(resumed[0]! + 1);
    expect(resumed[2]).toBe(resumed[0]! + 2);
    const probe = await new Redis(redis.url);
    try {
      expect(Number(await probe.get(`${prefix}:ip:127.0.0.1`))).toBe(resumed[2]);
    } finally {
      probe.disconnect();
    }
    expect(c.output()).toContain('Redis is back');
    expect(warnings(c.output())).toBe(1);

    while (readiness.report().status !== 'ok' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readiness.report().status).toBe('ok');
    const back = await limiter.consume('ip:local');
    expect(back.allowed && back.counted.store).toBe('redis');
    expect(logLines.filter((line) => line.includes('Redis unavailable'))).toHaveLength(1);
  });

  it('does not wait on a Redis that stops answering longer than the command timeout', async () => {
    const admin = new Redis(redis.url);
    /** How many times Redis has run the limiter's script (EVALSHA, or EVAL after NOSCRIPT): one per command it received. */
    const scriptRuns = async () =>
      [...(await admin.info('commandstats')).matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    try {
      expect((await limiter.consume('ip:paused')).allowed).toBe(true);
      const before = await scriptRuns();
      // Redis holds every command for longer than RATE_LIMIT_REDIS_TIMEOUT_MS (200) and PROBE_INTERVAL_MS (1 s) together.
      await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
      // Answered while Redis still holds the command (so without waiting for it): counted in memory.
      const during = await limiter.consume('ip:paused');
      expect(during.allowed && during.counted.store).toBe('memory');
      expect(readiness.report().status).toBe('degraded');
      // Other requests do not queue behind the stuck connection: they go to memory and send Redis nothing.
      const next = await limiter.consume('ip:paused');
      expect(next.allowed && next.counted.store).toBe('memory');
      // Redis answers the admin connection once the pause is over; by then it has run what the limiter sent: one command.
      expect(await admin.ping()).toBe('PONG');
      expect(await scriptRuns()).toBe(before + 1);
      // More than PROBE_INTERVAL_MS after the failure, the next request tries Redis again, and counting returns there.
      const after = await limiter.consume('ip:paused');
      expect(after.allowed && after.counted.store).toBe('redis');
      expect(readiness.report().status).toBe('ok');
      expect(await scriptRuns()).toBe(before + 2);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });
});
