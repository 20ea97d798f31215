import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import { buildOpenApi } from '../src/ops/openapi.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * D98: `GET /rest/v2/things/lookup/q/{urlencoded url}` answers exactly as `GET /rest/v2/things/lookup?url=` does:
 * same status, same headers (but Date and X-Request-Id), same bytes.
 */

let app: TestApp;
let fx: Fixtures;
let owner: UserEntity;
let plain: ThingEntity;
let tricky: ThingEntity;
let api: string;

const PLAIN_URL = 'http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/';
/** `%2F`, `+`, a space, `?`, `&`, `#` and non-ASCII: every character the two encodings must agree on. */
const TRICKY_URL = 'https://example.org/a%2Fb/c+d e?q=x+y&r=1/2#frag ment/ü';

/** PHP's `urlencode`: everything but letters, digits and `-_.` percent-encoded, a space as `+`. */
function phpUrlencode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

let forwardedFor = 0;

/**
 * Both forms, each from a fresh rate-limit bucket (its own client address) at the same second, so that even the
 * rate-limit headers must agree; a pair that straddles a second boundary is asked again.
 */
async function both(
  url: string,
  init: { headers?: Record<string, string>; method?: string; path?: string; token?: () => Promise<string> } = {},
): Promise<[HttpResult, HttpResult]> {
  const pathForm = init.path ?? `/rest/v2/things/lookup/q/${phpUrlencode(url)}`;
  for (let attempt = 0; ; attempt++) {
    // A valid token picks its own bucket: each side gets a fresh token then.
    const tokens = init.token ? await Promise.all([init.token(), init.token()]) : [null, null];
    const send = (path: string, token: string | null) =>
      request(app.baseUrl, path, {
        method: init.method ?? 'GET',
        headers: {
          ...init.headers,
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          'X-Forwarded-For': `10.0.${Math.floor(++forwardedFor / 250)}.${forwardedFor % 250}`,
        },
      });
    const [query, alias] = await Promise.all([send(`/rest/v2/things/lookup?url=${encodeURIComponent(url)}`, tokens[0]), send(pathForm, tokens[1])]);
    if (query.headers['x-ratelimit-reset'] === alias.headers['x-ratelimit-reset'] || attempt >= 3) return [query, alias];
  }
}

function comparable(res: HttpResult) {
  const { date: _date, 'x-request-id': _id, ...headers } = res.headers;
  return { status: res.status, headers, body: res.text };
}

async function expectSame(url: string, init: Parameters<typeof both>[1] = {}): Promise<HttpResult> {
  const [query, alias] = await both(url, init);
  expect(comparable(alias)).toEqual(comparable(query));
  return query;
}

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'true' });
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  owner = await fx.user({ username: 'flattr' });
  await fx.user({ username: 'someoneelse' });
  plain = await fx.thing(owner, { url: PLAIN_URL, title: 'API v2 beta out' });
  tricky = await fx.thing(owner, { url: TRICKY_URL, title: 'Tricky' });
});
afterAll(() => app?.close());

describe('the path form of lookup (D98)', () => {
  it('found: the same 302, Location and body', async () => {
    const res = await expectSame(PLAIN_URL);
    expect([res.status, res.headers.location, res.text]).toEqual([302, `${api}/things/${plain.id}`, JSON.stringify({ message: 'found', location: `${api}/things/${plain.id}` })]);
  });

  it('not found: the same 404 lookup body', async () => {
    const res = await expectSame('https://nowhere.example/nothing');
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ message: 'not_found', error: 'not_found', error_description: 'No thing was found' });
  });

  it('a url holding %2F, +, a space, ?, & and #: decoded once, + as a space', async () => {
    const res = await expectSame(TRICKY_URL);
    expect([res.status, res.headers.location]).toEqual([302, `${api}/things/${tricky.id}`]);
    // `%20` for the space (rawurlencode) works too; the `+` of the url itself must arrive as `%2B`.
    const rawEncoded = encodeURIComponent(TRICKY_URL);
    const [, alias] = await both(TRICKY_URL, { path: `/rest/v2/things/lookup/q/${rawEncoded}` });
    expect(alias.headers.location).toBe(`${api}/things/${tricky.id}`);
    // Decoded once: a `%252F` stays `%2F` in the url, so it does not find the thing whose url has a `/` there.
    const [, once] = await both(TRICKY_URL, { path: `/rest/v2/things/lookup/q/${phpUrlencode(TRICKY_URL.replace('a%2Fb', 'a/b')).replace('%2F', '%252F')}` });
    expect(once.status).toBe(404);
  });

  it('auto-submit urls: found, owner mismatch and not found alike', async () => {
    const auto = (params: Record<string, string>) => `https://flattr.com/submit/auto?${new URLSearchParams(params)}`;
    const found = await expectSame(auto({ url: PLAIN_URL, user_id: 'flattr', title: 'Whatever' }));
    expect(found.status).toBe(302);
    const mismatch = await expectSame(auto({ url: PLAIN_URL, user_id: 'someoneelse' }));
    expect([mismatch.status, mismatch.json().error]).toEqual([400, 'validation']);
    const missing = await expectSame(auto({ url: 'https://new.example/post', user_id: 'flattr' }));
    expect(missing.status).toBe(404);
    const badInner = await expectSame(auto({ url: 'not a url' }));
    expect([badInner.status, badInner.json().error_description]).toEqual([400, 'Invalid url']);
  });

  it('formats by Accept, JSONP, HEAD, and tokens act alike', async () => {
    for (const accept of ['application/xml', 'application/x-yaml', 'text/html', '*/*']) {
      await expectSame(PLAIN_URL, { headers: { Accept: accept } });
      await expectSame('https://nowhere.example/', { headers: { Accept: accept } });
    }
    await expectSame(PLAIN_URL, { method: 'HEAD' });
    await expectSame(PLAIN_URL, { token: () => fx.token(owner) });
    await expectSame(PLAIN_URL, { headers: { Authorization: 'Bearer not-a-token' } });
    const [query, alias] = await Promise.all([
      request(app.baseUrl, `/rest/v2/things/lookup?url=${encodeURIComponent(PLAIN_URL)}&jsonp=cb`),
      request(app.baseUrl, `/rest/v2/things/lookup/q/${phpUrlencode(PLAIN_URL)}?jsonp=cb`),
    ]);
    expect([alias.status, alias.text]).toEqual([query.status, query.text]);
  });

  it('takes no format suffix: the whole rest of the path is the url', async () => {
    const xmlUrl = 'https://feeds.example/rss.xml';
    const feed = await fx.thing(owner, { url: xmlUrl });
    const res = await expectSame(xmlUrl);
    expect([res.status, res.headers['content-type'], res.headers.location]).toEqual([302, 'application/json; charset=utf-8', `${api}/things/${feed.id}`]);
    // Even unencoded, slashes and a trailing slash included.
    const raw = await request(app.baseUrl, `/rest/v2/things/lookup/q/${PLAIN_URL.replace('://', '%3A%2F%2F')}`);
    expect([raw.status, raw.headers.location]).toEqual([302, `${api}/things/${plain.id}`]);
  });

  it('an empty url is invalid_parameters, like ?url=', async () => {
    const [query, alias] = await Promise.all([
      request(app.baseUrl, '/rest/v2/things/lookup?url='),
      request(app.baseUrl, '/rest/v2/things/lookup/q/'),
    ]);
    expect([alias.status, alias.text]).toEqual([query.status, query.text]);
    expect(alias.json().error).toBe('invalid_parameters');
    const blank = await request(app.baseUrl, '/rest/v2/things/lookup/q/+++');
    expect([blank.status, blank.text]).toEqual([query.status, query.text]);
  });

  it('other methods, and /q without a url, are no route', async () => {
    for (const [method, path] of [
      ['POST', '/rest/v2/things/lookup/q/x'],
      ['DELETE', '/rest/v2/things/lookup/q/x'],
      ['GET', '/rest/v2/things/lookup/q'],
    ] as const) {
      const res = await request(app.baseUrl, path, { method });
      expect([method, path, res.status, res.json().error_description]).toEqual([method, path, 404, 'The resource was not found']);
    }
  });

  it('is deprecated in OpenAPI, beside the canonical form', () => {
    const doc = buildOpenApi(app.config);
    const alias = doc.paths['/things/lookup/q/{url}']!.get!;
    expect(alias.deprecated).toBe(true);
    expect(alias['x-flattr-routes']).toEqual(['E7 things.lookup (path form, D98)']);
    expect(doc.paths['/things/lookup']!.get!.deprecated).toBeUndefined();
  });
});
