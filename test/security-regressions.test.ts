import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { BrowserSession, signedUpBrowser } from './support/browser-session.js';
import { rawRequest } from './support/fuzz/raw-http.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { assertOAuthError, assertRestError } from './support/fuzz/oracles.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { TAG_MAX } from '../src/services/thing-rules.js';

/**
 * Issue 10: one deterministic test per vulnerability the fuzz and injection suites found and this issue fixed, so a
 * regression fails here with a clear name whatever the fuzzers happen to generate. Each fails without its fix
 * (SECURITY.md, "Findings of issue 10").
 */

let app: TestApp;
let port: number;
let db: DbWatcher;
let aliceToken: string;
let clientId: string;

beforeAll(async () => {
  app = await startTestApp();
  port = Number(new URL(app.baseUrl).port);
  const fx = new Fixtures(app.orm, app.clock);
  const em = app.orm.em.fork();
  const alice = await createUser(em, app.clock, { username: 'alice', email: 'alice@example.org', password: 'correct horse battery', balanceCents: 500 });
  await fx.user({ username: 'bob' });
  aliceToken = await fx.token(alice, ['flattr', 'thing']);
  ({ client: { clientId } } = await createClient(em, app.clock, { ownerId: null, name: 'App', callbackUrls: ['https://app.example/cb'] }));
  db = await DbWatcher.connect(app.databaseUrl);
});

afterAll(async () => {
  await db?.close();
  await app?.close();
});

const auth = () => [['Authorization', `Bearer ${aliceToken}`]] as [string, string][];

describe('A: U+0000 in a parameter is invalid input, never a database error (was 500 everywhere)', () => {
  it('REST: path, query and body parameters → 400 invalid_parameters (or the endpoint\'s own not-found / validation)', async () => {
    const before = await db.state();
    const cases: { method: string; target: string; body?: string; json?: boolean }[] = [
      { method: 'GET', target: '/rest/v2/users/a%00b' },
      { method: 'GET', target: '/rest/v2/users/a%00b/things' },
      { method: 'GET', target: '/rest/v2/things/search?query=a%00b' },
      { method: 'GET', target: '/rest/v2/things/search?tags=a%00b' },
      { method: 'GET', target: '/rest/v2/things/search?user=a%00b' },
      { method: 'GET', target: '/rest/v2/things/search?url=https://x/%00' },
      { method: 'GET', target: '/rest/v2/things/lookup?url=https://example.org/%00' },
      { method: 'POST', target: '/rest/v2/things', body: JSON.stringify({ url: 'https://example.org/n1', title: 'a\u0000b' }), json: true },
      { method: 'POST', target: '/rest/v2/things', body: JSON.stringify({ url: 'https://example.org/n2', tags: ['a\u0000'] }), json: true },
      { method: 'POST', target: '/rest/v2/things', body: 'url=https://example.org/n3&description=%00' },
      { method: 'POST', target: '/rest/v2/flattr', body: 'url=https://example.org/%00' },
      { method: 'POST', target: '/rest/v2/flattr', body: JSON.stringify({ url: 'https://example.org/\u0000' }), json: true },
    ];
    for (const c of cases) {
      const headers = auth();
      if (c.json) headers.push(['Content-Type', 'application/json']);
      const res = await rawRequest(port, { method: c.method, target: c.target, headers, body: c.body });
      expect(res.status, `${c.method} ${c.target} ${res.text}`).toBeLessThan(500);
      expect(res.status, c.target).toBe(400);
      assertRestError(res, app.config.docsUrl);
    }
    expect(DbWatcher.changed(before, await db.state())).toEqual([]);
  });

  it('GraphQL: an argument holding U+0000 is an invalid_parameters error, not INTERNAL_SERVER_ERROR', async () => {
    const res = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'query($u: String!) { user(username: $u) { id } searchThings(query: "\\u0000") { totalCount } }', variables: { u: 'a\u0000' } }),
    });
    const codes = res.json().errors.map((e: { extensions: { code: string } }) => e.extensions.code);
    expect(codes).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
  });

  it('OAuth, login, profile, auto-submit, signup and app registration: answered normally', async () => {
    const authorize = await rawRequest(port, { method: 'GET', target: '/oauth/authorize?response_type=code&client_id=a%00' });
    expect(authorize.status).toBe(400);
    expect(assertOAuthError(authorize, app.config.docsUrl)).toBe('invalid_client');
    const token = await rawRequest(port, { method: 'POST', target: '/oauth/token', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'grant_type=authorization_code&code=x&client_id=a%00&client_secret=x' });
    expect(token.status).toBe(401);
    const consent = await rawRequest(port, { method: 'POST', target: '/oauth/authorize', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: `response_type=code&client_id=${clientId}&decision=allow&username=a%00&password=x` });
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('Wrong username or password.');
    expect((await rawRequest(port, { method: 'GET', target: '/profile/a%00b' })).status).toBe(404);
    expect((await rawRequest(port, { method: 'GET', target: '/submit/auto?url=https://example.org/%00&user_id=bob' })).status).toBe(400);
    const preview = await rawRequest(port, { method: 'GET', target: '/submit/auto?url=https://example.org/new&user_id=bob&title=a%00b&tags=x%00y' });
    expect(preview.status).toBe(200);
    expect(preview.text).toContain('<dd>ab</dd>');
    const browser = new BrowserSession(app.baseUrl);
    await browser.get('/login');
    expect((await browser.post('/login', { username: 'alice\u0000', password: 'x' })).status).toBe(200);
    await browser.get('/signup');
    expect((await browser.post('/signup', { username: 'nul', email: 'a\u0000@example.org', password: 'correct horse battery' })).status).toBe(400);
    const owner = await signedUpBrowser(app.baseUrl, 'owner');
    await owner.get('/apps/new');
    expect((await owner.post('/apps', { name: 'a\u0000b', callback_urls: 'https://app.example/cb', token_format: 'opaque' })).status).toBe(400);
    expect((await owner.post('/apps', { name: 'ok', callback_urls: 'myapp:cb\u0000', token_format: 'opaque' })).status).toBe(400);
  });

  it('an auto-submit URL whose metadata holds U+0000 creates its thing with the character dropped', async () => {
    const res = await rawRequest(port, {
      method: 'POST',
      target: '/rest/v2/flattr',
      headers: auth(),
      body: `url=${encodeURIComponent('https://flattr.com/submit/auto?user_id=bob&url=https%3A%2F%2Fexample.org%2Fnul-meta&title=a%00b&description=c%00d&tags=e%00f,g')}`,
    });
    expect(res.status, res.text).toBe(200);
    const thing = (await request(app.baseUrl, `/rest/v2/things/${JSON.parse(res.text).thing.id}`)).json();
    expect({ title: thing.title, description: thing.description, tags: thing.tags }).toEqual({ title: 'ab', description: 'cd', tags: ['ef', 'g'] });
  });
});

describe('D: values over the database index limits are validation errors, not 500', () => {
  it(`tags: at most ${TAG_MAX} code points ("Tag is too long"), as long as any UTF-8 is allowed up to that`, async () => {
    const post = (body: object) =>
      rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers: [...auth(), ['Content-Type', 'application/json']], body: JSON.stringify(body) });
    const tooLong = await post({ url: 'https://example.org/longtag', tags: ['y'.repeat(300_000)] });
    expect(tooLong.status).toBe(400);
    expect(JSON.parse(tooLong.text)).toMatchObject({ error: 'validation', error_description: 'Tag is too long' });
    let random = '';
    for (let i = 0; i < TAG_MAX; i++) random += String.fromCodePoint(0x20000 + ((i * 7919) % 40000));
    const widest = await post({ url: 'https://example.org/widetag', tags: [random, `${random.slice(0, -2)}x`] });
    expect(widest.status, widest.text).toBe(201);
    expect((await post({ url: 'https://example.org/widetag2', tags: [`${random}z`] })).status).toBe(400);
  });

  it('urls: 2048 characters and 2048 UTF-8 bytes at most ("Invalid url")', async () => {
    const post = (url: string) =>
      rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers: [...auth(), ['Content-Type', 'application/json']], body: JSON.stringify({ url }) });
    let cjk = '';
    for (let i = 0; i < 2000; i++) cjk += String.fromCodePoint(0x4e00 + ((i * 7919) % 20000));
    const wide = await post(`https://example.org/${cjk}`);
    expect(wide.status).toBe(400);
    expect(JSON.parse(wide.text)).toMatchObject({ error: 'validation', error_description: 'Invalid url' });
    const ascii = `https://example.org/${'a'.repeat(2048 - 20)}`;
    expect(ascii.length).toBe(2048);
    expect((await post(ascii)).status).toBe(201);
  });

  it('auto-submit metadata is cut, not refused (D70): an over-long tag is cut to the limit', async () => {
    const res = await rawRequest(port, {
      method: 'POST',
      target: '/rest/v2/flattr',
      headers: auth(),
      body: `url=${encodeURIComponent(`https://flattr.com/submit/auto?user_id=bob&url=https%3A%2F%2Fexample.org%2Flongmeta&tags=${'t'.repeat(5000)}`)}`,
    });
    expect(res.status, res.text).toBe(200);
    const thing = (await request(app.baseUrl, `/rest/v2/things/${JSON.parse(res.text).thing.id}`)).json();
    expect(thing.tags).toEqual(['t'.repeat(TAG_MAX)]);
  });
});

describe('E: a lone surrogate in a JSON consent form (was URIError → 500)', () => {
  it('state "\\ud800" comes back as U+FFFD, like malformed bytes in a form', async () => {
    const res = await rawRequest(port, {
      method: 'POST',
      target: '/oauth/authorize',
      headers: [['Content-Type', 'application/json']],
      body: `{"response_type":"code","client_id":"${clientId}","state":"a\\ud800b","decision":"deny"}`,
    });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location!).searchParams.get('state')).toBe('a\ufffdb');
  });
});

describe('F: a url no thing could hold never reaches the ORM (a 700 KB flattr url blocked the event loop ~0.5 s)', () => {
  // MikroORM 6 runs Object.keys over a string criterion, one key per character: linear, but 0.6 µs a character.
  const byUrl = () => app.queries.filter((q) => /from "things" as "t0" where "t0"\."url" = /.test(q)).length;

  it('POST /flattr with a form whose unencoded url swallows 700 KB of other fields: 404 not_found, no url lookup', async () => {
    const before = byUrl();
    const res = await rawRequest(port, {
      method: 'POST',
      target: '/rest/v2/flattr',
      headers: [...auth(), ['Content-Type', 'application/x-www-form-urlencoded']],
      body: `url=https%3A%2F%2Fexample.org%2Fform&title=${'!'.repeat(350_000)}&tags=${'!'.repeat(350_000)}`,
    });
    expect(res.status, res.text).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'not_found', error_description: 'No thing was found' });
    expect(byUrl()).toBe(before);
  });

  it('a url that fits is still looked up (the guard is the url rule, not a smaller one)', async () => {
    const before = byUrl();
    const res = await request(app.baseUrl, `/rest/v2/things/lookup?url=${encodeURIComponent(`https://example.org/${'a'.repeat(2000)}`)}`);
    expect(res.status).toBe(404);
    expect(byUrl()).toBe(before + 1);
  });
});
