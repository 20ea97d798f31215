import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import { AccessToken, type UserEntity } from '../src/entities/index.js';
import { sha256Hex } from '../src/services/tokens.js';
import { schema } from '../schema/index.js';
import { documentCost, graphqlWeight } from '../src/rate-limit/document-cost.js';
import { resetTimeString } from '../src/rate-limit/state.js';
import { clientAddress } from '../src/rate-limit/admission.js';
import type { IncomingMessage } from 'node:http';

// Limit 5 per hour; TRUST_PROXY so that every test picks its own client address (its own IP bucket).
let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let bob: UserEntity;
let nextIp = 1;
const freshIp = () => `198.51.100.${nextIp++}`;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '5', TRUST_PROXY: 'true' });
  fx = new Fixtures(app.orm, app.clock);
  alice = await fx.user({ username: 'alice' });
  bob = await fx.user({ username: 'bob' });
});
afterAll(() => app?.close());

type Init = { ip: string; token?: string; headers?: Record<string, string>; method?: string; body?: string };

function rest(path: string, init: Init, target: TestApp = app): Promise<HttpResult> {
  const headers: Record<string, string> = { 'X-Forwarded-For': `${init.ip}, 10.0.0.1`, ...(init.headers ?? {}) };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  return request(target.baseUrl, `/rest/v2${path}`, { method: init.method ?? 'GET', headers, body: init.body });
}

function graphql(query: string, init: Init): Promise<HttpResult> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Forwarded-For': init.ip, ...(init.headers ?? {}) };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  return request(app.baseUrl, '/graphql', { method: 'POST', headers, body: JSON.stringify({ query }) });
}

const RATE_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-current', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit'];

/** The six headers, checked for consistency with each other, as numbers. */
function budget(res: HttpResult) {
  for (const name of RATE_HEADERS) expect(res.headers[name], `${name} on ${res.status}`).toBeDefined();
  const limit = Number(res.headers['x-ratelimit-limit']);
  const remaining = Number(res.headers['x-ratelimit-remaining']);
  const current = Number(res.headers['x-ratelimit-current']);
  const reset = Number(res.headers['x-ratelimit-reset']);
  expect(remaining).toBe(Math.max(0, limit - current));
  expect(res.headers['ratelimit-policy']).toBe(`"hourly";q=${limit};w=${app.config.rateLimitWindowSeconds}`);
  const match = /^"hourly";r=(\d+);t=(\d+)$/.exec(res.headers.ratelimit!);
  expect(match, res.headers.ratelimit).not.toBeNull();
  const t = Number(match![2]);
  expect(Number(match![1])).toBe(remaining);
  // t is the time until X-RateLimit-Reset, seen from now.
  expect(Math.abs(reset - t - Date.now() / 1000)).toBeLessThanOrEqual(2);
  return { limit, remaining, current, reset, t };
}

const noRateHeaders = (res: HttpResult) => expect(RATE_HEADERS.filter((name) => name in res.headers)).toEqual([]);

const EXCEEDED = { error: 'rate_limit_exceeded', error_description: 'Rate limit exceeded', error_uri: 'http://developers.flattr.net/api/' };

describe('REST rate-limit headers (spec §7.4, D96)', () => {
  it('count every request of a bucket, with consistent headers and a fixed reset', async () => {
    const ip = freshIp();
    const before = Math.floor(Date.now() / 1000);
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(budget(await rest('/categories', { ip })));
    expect(seen.map((b) => [b.limit, b.current, b.remaining])).toEqual([
      [5, 1, 4],
      [5, 2, 3],
      [5, 3, 2],
    ]);
    // D37: the window opened with the first request and lasts RATE_LIMIT_WINDOW_SECONDS.
    expect(new Set(seen.map((b) => b.reset)).size).toBe(1);
    expect(seen[0]!.reset).toBeGreaterThanOrEqual(before + 3600);
    expect(seen[0]!.reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
    expect(seen[0]!.t).toBeLessThanOrEqual(3600);
  });

  it('count errors too, and keep the headers on them (404, 406, 400, 401)', async () => {
    const ip = freshIp();
    const notFound = await rest('/nowhere', { ip });
    const notAcceptable = await rest('/categories.atom', { ip });
    const badJsonp = await rest('/categories?jsonp=1+1', { ip });
    const badToken = await rest('/categories', { ip, token: 'not-a-token' });
    expect([notFound.status, notAcceptable.status, badJsonp.status, badToken.status]).toEqual([404, 406, 400, 401]);
    expect([notFound, notAcceptable, badJsonp, badToken].map((res) => budget(res).current)).toEqual([1, 2, 3, 4]);
    expect(badToken.headers['www-authenticate']).toContain('invalid_token');
  });

  it('do not count OPTIONS preflights, which carry no rate-limit headers', async () => {
    const ip = freshIp();
    expect(budget(await rest('/categories', { ip })).current).toBe(1);
    const preflight = await rest('/categories', { ip, method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    noRateHeaders(preflight);
    expect(budget(await rest('/categories', { ip })).current).toBe(2);
  });

  it('do not count a 304, whose headers show the count before it (D95)', async () => {
    const ip = freshIp();
    const first = await rest('/categories', { ip });
    expect(budget(first).current).toBe(1);
    const etag = first.headers.etag!;
    const notModified = await rest('/categories', { ip, headers: { 'If-None-Match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe(etag);
    expect(budget(notModified)).toMatchObject({ current: 1, remaining: 4, reset: budget(first).reset });
    const again = await rest('/categories', { ip, headers: { 'If-None-Match': etag, Accept: 'application/yaml' } });
    expect(again.status).toBe(200); // another representation, another tag: counted
    expect(budget(again).current).toBe(2);
    const head = await rest('/categories', { ip, method: 'HEAD', headers: { 'If-None-Match': etag } });
    expect([head.status, budget(head).current]).toEqual([304, 2]);
    expect(budget(await rest('/categories', { ip })).current).toBe(3);
  });
});

describe('buckets (spec §7.1, D36)', () => {
  it('keep one bucket per valid token, whatever the address, and one per address otherwise', async () => {
    const [ipA, ipB] = [freshIp(), freshIp()];
    const aliceToken = await fx.token(alice);
    const bobToken = await fx.token(bob);
    expect(budget(await rest('/user', { ip: ipA, token: aliceToken })).current).toBe(1);
    expect(budget(await rest('/user', { ip: ipB, token: aliceToken })).current).toBe(2);
    expect(budget(await rest('/user', { ip: ipA, token: bobToken })).current).toBe(1);
    expect(budget(await rest('/categories', { ip: ipA })).current).toBe(1);
    expect(budget(await rest('/categories', { ip: ipB })).current).toBe(1);
    expect(budget(await rest('/categories', { ip: ipA, token: aliceToken })).current).toBe(3);
  });

  it('count a request with an invalid token, or with several tokens, against the address', async () => {
    const ip = freshIp();
    const token = await fx.token(alice);
    expect(budget(await rest('/categories', { ip })).current).toBe(1);
    const invalid = await rest('/categories', { ip, token: 'f'.repeat(40) });
    expect([invalid.status, budget(invalid).current]).toEqual([401, 2]);
    const several = await rest(`/categories?access_token=${token}`, { ip, token });
    expect([several.status, several.json().error, budget(several).current]).toEqual([400, 'invalid_request', 3]);
    expect(budget(await rest('/categories', { ip })).current).toBe(4);
  });

  it('move a revoked token to the address bucket at once: its next request is a 401 counted there', async () => {
    const ip = freshIp();
    const token = await fx.token(bob);
    expect(budget(await rest('/user', { ip, token })).current).toBe(1); // token bucket, now in the cache
    expect(budget(await rest('/categories', { ip })).current).toBe(1); // address bucket
    await app.orm.em.fork().nativeUpdate(AccessToken, { tokenHash: sha256Hex(token) }, { revokedAt: new Date() });
    const revoked = await rest('/user', { ip, token });
    expect(revoked.status).toBe(401);
    expect(budget(revoked).current).toBe(2);
    expect(budget(await rest('/categories', { ip })).current).toBe(3);
  });

  it('ignore X-Forwarded-For without TRUST_PROXY, and use its first entry with it', () => {
    const req = (xff: string | undefined, peer: string) => ({ headers: xff ? { 'x-forwarded-for': xff } : {}, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;
    expect(clientAddress(req('203.0.113.9, 10.0.0.1', '::ffff:127.0.0.1'), false)).toBe('127.0.0.1');
    expect(clientAddress(req('203.0.113.9, 10.0.0.1', '::ffff:127.0.0.1'), true)).toBe('203.0.113.9');
    expect(clientAddress(req('2001:db8::1', '10.0.0.1'), true)).toBe('2001:db8::1');
    expect(clientAddress(req('not an address', '10.0.0.1'), true)).toBe('10.0.0.1');
    expect(clientAddress(req(undefined, '10.0.0.1'), true)).toBe('10.0.0.1');
  });
});

describe('exceeding the limit (spec §7.5, D38)', () => {
  it('answer 403 rate_limit_exceeded with the headers and Retry-After, count nothing and query nothing', async () => {
    const ip = freshIp();
    for (let i = 1; i <= 5; i++) expect(budget(await rest('/categories', { ip })).current).toBe(i);
    const queriesBefore = app.queries.length;
    for (const path of ['/categories', '/nowhere', '/users/alice.xml']) {
      const res = await rest(path, { ip });
      expect(res.status).toBe(403);
      const b = budget(res);
      expect([b.limit, b.remaining, b.current]).toEqual([5, 0, 5]);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBe(Math.max(1, b.t));
      expect(res.headers['access-control-allow-origin']).toBe('*');
      if (path.endsWith('.xml')) expect(res.text).toContain('<error>rate_limit_exceeded</error>');
      else expect(res.json()).toEqual(EXCEEDED);
    }
    // An invalid token from this address: refused as well (its bucket is the address's), before any 401.
    const invalid = await rest('/categories', { ip, token: 'f'.repeat(40) });
    expect([invalid.status, invalid.json()]).toEqual([403, EXCEEDED]);
    const again = await rest('/categories', { ip, token: 'f'.repeat(40) });
    expect(again.status).toBe(403);
    expect(app.queries.length - queriesBefore).toBeLessThanOrEqual(1); // at most the first sight of that token
    const queriesAfter = app.queries.length;
    await rest('/categories', { ip, token: 'f'.repeat(40) });
    expect(app.queries.length).toBe(queriesAfter);
  });

  it('refuse a token over its limit without any database query, while other buckets go on', async () => {
    const ip = freshIp();
    const token = await fx.token(alice);
    for (let i = 1; i <= 5; i++) expect((await rest('/user', { ip, token })).status).toBe(200);
    const before = app.queries.length;
    const refused = await rest('/user', { ip, token });
    expect([refused.status, refused.json()]).toEqual([403, EXCEEDED]);
    expect(app.queries.length).toBe(before);
    expect(budget(await rest('/categories', { ip })).current).toBe(1);
  });
});

describe('GET /rate_limit (E25, spec §7.6)', () => {
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const two = (n: number) => String(n).padStart(2, '0');
  const formatted = (unix: number) => {
    const d = new Date(unix * 1000);
    return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000 GMT`;
  };

  it('formats reset_time exactly as the documentation example', () => {
    expect(resetTimeString(1342521939)).toBe('Tue, 17 Jul 2012 10:45:39 +0000 GMT');
    expect(resetTimeString(Date.UTC(2026, 2, 1, 3, 4, 5) / 1000)).toBe('Sun, 01 Mar 2026 03:04:05 +0000 GMT');
  });

  it('describes an idle bucket as now + window (D39), without counting or rate-limit headers', async () => {
    const ip = freshIp();
    const before = Math.floor(Date.now() / 1000);
    const res = await rest('/rate_limit', { ip });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    noRateHeaders(res);
    expect(res.headers.etag).toBeUndefined();
    const body = res.json();
    expect(Object.keys(body)).toEqual(['hourly_limit', 'remaining_hits', 'current_hits', 'reset_time_in_seconds', 'reset_time']);
    expect(body).toMatchObject({ hourly_limit: 5, remaining_hits: 5, current_hits: 0 });
    expect(body.reset_time_in_seconds).toBeGreaterThanOrEqual(before + 3600);
    expect(body.reset_time_in_seconds).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(body.reset_time).toBe(formatted(body.reset_time_in_seconds));
    expect((await rest('/rate_limit', { ip })).json().current_hits).toBe(0);
    expect(budget(await rest('/categories', { ip })).current).toBe(1);
  });

  it('reports the active window exactly as the headers do, in every format, and is answered when exhausted', async () => {
    const ip = freshIp();
    let last!: ReturnType<typeof budget>;
    for (let i = 0; i < 5; i++) last = budget(await rest('/categories', { ip }));
    const expected = { hourly_limit: 5, remaining_hits: 0, current_hits: 5, reset_time_in_seconds: last.reset, reset_time: formatted(last.reset) };
    expect((await rest('/rate_limit', { ip })).json()).toEqual(expected);
    expect((await rest('/rate_limit.json', { ip })).json()).toEqual(expected);
    const yaml = await rest('/rate_limit.yaml', { ip });
    expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(yaml.text).toBe(
      `---\nhourly_limit: 5\nremaining_hits: 0\ncurrent_hits: 5\nreset_time_in_seconds: ${last.reset}\nreset_time: "${formatted(last.reset)}"\n`,
    );
    const xml = await rest('/rate_limit.xml', { ip });
    expect(xml.status).toBe(200);
    expect(xml.text).toContain('<rate_limit>');
    expect(xml.text).toContain(`<reset_time>${formatted(last.reset)}</reset_time>`);
    noRateHeaders(xml);
    expect((await rest('/categories', { ip })).status).toBe(403);
  });

  it('uses the token bucket for a valid token and answers 401 to an invalid one (D12)', async () => {
    const ip = freshIp();
    const token = await fx.token(alice);
    await rest('/categories', { ip });
    await rest('/user', { ip, token });
    await rest('/user', { ip, token });
    expect((await rest('/rate_limit', { ip })).json().current_hits).toBe(1);
    expect((await rest('/rate_limit', { ip, token })).json().current_hits).toBe(2);
    const invalid = await rest('/rate_limit', { ip, token: 'nope' });
    expect([invalid.status, invalid.json().error]).toEqual([401, 'unauthorized']);
    noRateHeaders(invalid);
    expect((await rest('/rate_limit', { ip })).json().current_hits).toBe(1);
  });
});

describe('GraphQL (same buckets)', () => {
  it('counts each request, with the headers and extensions.rateLimit, in the bucket REST uses', async () => {
    const ip = freshIp();
    const first = await graphql('{ categories { id } }', { ip });
    expect(first.status).toBe(200);
    const b = budget(first);
    expect(first.json().extensions.rateLimit).toEqual({ limit: 5, remaining: 4, current: 1, reset: b.reset });
    expect(budget(await rest('/categories', { ip })).current).toBe(2);
    const invalidQuery = await graphql('{ nope }', { ip });
    expect(invalidQuery.json().extensions.rateLimit.current).toBe(3);
    expect(budget(invalidQuery).current).toBe(3);

    const token = await fx.token(bob);
    const viaToken = await graphql('{ viewer { username } }', { ip, token });
    expect(viaToken.json()).toMatchObject({ data: { viewer: { username: 'bob' } }, extensions: { rateLimit: { current: 1 } } });
    expect(budget(await rest('/user', { ip, token })).current).toBe(2);

    const invalidToken = await graphql('{ categories { id } }', { ip, token: 'nope' });
    expect(invalidToken.status).toBe(401);
    expect(invalidToken.json().extensions.rateLimit.current).toBe(4);
    expect(budget(invalidToken).current).toBe(4);
  });

  it('answers 429 with Retry-After and a RATE_LIMITED error once the bucket is empty (REST still says 403)', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) await rest('/categories', { ip });
    const before = app.queries.length;
    const res = await graphql('{ categories { id } }', { ip });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const b = budget(res);
    expect(res.json()).toEqual({
      errors: [{ message: 'Rate limit exceeded', extensions: { code: 'RATE_LIMITED' } }],
      extensions: { rateLimit: { limit: 5, remaining: 0, current: 5, reset: b.reset } },
    });
    expect(app.queries.length).toBe(before);
  });

  it('does not count OPTIONS', async () => {
    const ip = freshIp();
    const preflight = await request(app.baseUrl, '/graphql', {
      method: 'OPTIONS',
      headers: { 'X-Forwarded-For': ip, Origin: 'http://example.org', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBeLessThan(300);
    noRateHeaders(preflight);
    expect(budget(await rest('/categories', { ip })).current).toBe(1);
  });

  // 10 fields under a page of 100 things: 1 (user) + 1 (things) + 100 (edges) + 100 (node) + 1000 = 1202.
  const HEAVY = `{ user(username: "alice") { things(first: 100) { edges { node {
    databaseId title url description tags flattrCount flattrUserCount resourceUrl webUrl hidden } } } } }`;

  it('weighs a request 1 + floor(cost / 1000), with the cost measure of GRAPHQL_MAX_COST', async () => {
    expect(documentCost(schema, parse(HEAVY))).toBe(1202);
    expect(documentCost(schema, parse('{ categories { id text } }'))).toBe(61); // a list without a size counts 30
    expect(documentCost(schema, parse('query A { categories { id } } query B { viewer { username } }'), 'B')).toBe(2);
    expect([graphqlWeight(0), graphqlWeight(999), graphqlWeight(1202), graphqlWeight(20000)]).toEqual([1, 1, 2, 21]);

    const ip = freshIp();
    const heavy = await graphql(HEAVY, { ip });
    expect(heavy.status).toBe(200);
    expect(heavy.json().extensions.rateLimit).toMatchObject({ current: 2, remaining: 3 });
    expect(budget(heavy).current).toBe(2);
    await rest('/categories', { ip });
    await rest('/categories', { ip }); // 4 counted, 1 left
    const tooHeavy = await graphql(HEAVY, { ip });
    expect(tooHeavy.status).toBe(429);
    expect(tooHeavy.json()).toMatchObject({
      errors: [{ message: 'Rate limit exceeded', extensions: { code: 'RATE_LIMITED' } }],
      extensions: { rateLimit: { current: 4, remaining: 1 } },
    });
    expect(tooHeavy.json().data).toBeUndefined();
    expect(Number(tooHeavy.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(budget(tooHeavy).current).toBe(4); // refused: not counted
    const light = await graphql('{ categories { id } }', { ip });
    expect([light.status, light.json().extensions.rateLimit.current]).toEqual([200, 5]);
  });
});

describe('window (spec §7.2, D37)', () => {
  let short: TestApp;
  beforeAll(async () => {
    short = await startTestApp({ RATE_LIMIT_PER_HOUR: '2', RATE_LIMIT_WINDOW_SECONDS: '2' });
  });
  afterAll(() => short?.close());

  it('opens a new window with a count of 0 at the reset time; without TRUST_PROXY the socket address counts', async () => {
    const one = await rest('/categories', { ip: '203.0.113.1' }, short);
    const two = await rest('/categories', { ip: '203.0.113.2' }, short); // X-Forwarded-For ignored: same bucket
    expect([one.headers['x-ratelimit-current'], two.headers['x-ratelimit-current']]).toEqual(['1', '2']);
    expect(two.headers['ratelimit-policy']).toBe('"hourly";q=2;w=2');
    const refused = await rest('/categories', { ip: '203.0.113.3' }, short);
    expect(refused.status).toBe(403);
    const reset = Number(refused.headers['x-ratelimit-reset']);
    expect(reset).toBe(Number(one.headers['x-ratelimit-reset']));
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, reset * 1000 - Date.now() + 20));
    const fresh = await rest('/categories', { ip: '203.0.113.4' }, short);
    expect(fresh.status).toBe(200);
    expect(fresh.headers['x-ratelimit-current']).toBe('1');
    expect(Number(fresh.headers['x-ratelimit-reset'])).toBeGreaterThan(reset);
    const idle = await rest('/rate_limit', { ip: '203.0.113.5' }, short);
    expect(idle.json()).toMatchObject({ hourly_limit: 2, current_hits: 1, remaining_hits: 1, reset_time_in_seconds: Number(fresh.headers['x-ratelimit-reset']) });
  });
});
