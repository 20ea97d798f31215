import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { BrowserSession, signedUpBrowser } from './support/browser-session.js';
import { rawRequest, type RawResponse } from './support/fuzz/raw-http.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { SQL_PAYLOADS } from './support/fuzz/arbitraries.js';
import { assertNoInjectedMarkup, assertRestError, child, parseJsonp, parseXml, parseYaml, withoutSiteScripts, type XmlNode } from './support/fuzz/oracles.js';
import { reportFigures } from './support/fuzz/settings.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { evaluateTagExpression, parseTagExpression } from '../src/services/search/tag-expression.js';

/**
 * Issue 10 (2): injection.
 *   - SQL metacharacters in every parameter that reaches a query (search query/tags/user/url/language/category,
 *     usernames in paths, lookup and flattr urls, thing fields, GraphQL variables, login and OAuth fields): the
 *     values are data, results are exactly what the filters say, nothing slows down, nothing else changes.
 *   - Markup and control characters in titles, descriptions and tags come out escaped and well-formed in JSON, XML,
 *     Atom, Activity Streams, YAML and the HTML pages.
 *   - JSONP callbacks that are not plain identifiers are refused, unwrapped.
 *   - CR/LF in anything echoed into a header (preflight Access-Control-Request-Headers, X-Request-Id, OAuth `state`
 *     in Location, the website's `next`, JSONP) never produces a header of its own.
 */

let app: TestApp;
let port: number;
let db: DbWatcher;
let fx: Fixtures;
let bobToken: string;
let aliceToken: string;
let attacks = 0;

const api = (path: string) => `/rest/v2${path}`;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const json = (token: string) => ({ ...bearer(token), 'Content-Type': 'application/json' });

/** The planted things: one per SQL payload, owned by bob, its title, description and a tag carrying the payload. */
interface Planted {
  id: number;
  payload: string;
  title: string;
  description: string;
  url: string;
  tags: string[];
}
const planted: Planted[] = [];

/** Elements an unquoted PostgreSQL array literal would misread: NULL, backslashes, control characters. */
const ARRAY_LITERAL_SPECIAL = /^\s*null\s*$|\\|[\u0000-\u001f]/i;

/** §12.2 as the tests expect it (not the service's code): tags stripped, trimmed. */
const cleanTitle = (text: string) => text.replace(/<[^>]*>/g, '').trim();

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '1000000000' });
  port = Number(new URL(app.baseUrl).port);
  fx = new Fixtures(app.orm, app.clock);
  const em = app.orm.em.fork();
  const alice = await createUser(em, app.clock, { username: 'alice', email: 'alice@example.org', password: 'correct horse battery', balanceCents: 500 });
  const bob = await createUser(em, app.clock, { username: 'bob', email: 'bob@example.org', password: 'battery staple horse' });
  aliceToken = await fx.token(alice, ['flattr', 'thing', 'email', 'extendedread']);
  bobToken = await fx.token(bob, ['flattr', 'thing']);
  db = await DbWatcher.connect(app.databaseUrl);
  for (const [i, payload] of SQL_PAYLOADS.entries()) {
    const body = {
      url: `https://example.org/sqli/${i}?q=${encodeURIComponent(payload)}`,
      title: `sqli ${payload}`,
      description: `about ${payload}`,
      // Tags that PostgreSQL's array-literal syntax treats specially have a test of their own (below).
      tags: ['sqli', ...(ARRAY_LITERAL_SPECIAL.test(payload) ? [] : [payload])],
    };
    const res = await request(app.baseUrl, api('/things'), { method: 'POST', headers: json(bobToken), body: JSON.stringify(body) });
    expect(res.status, `${payload}: ${res.text}`).toBe(201);
    planted.push({
      id: res.json().id,
      payload,
      title: cleanTitle(body.title),
      description: body.description,
      url: body.url,
      tags: [...new Set(body.tags.map((t) => t.trim()).filter(Boolean))],
    });
  }
});

afterAll(async () => {
  reportFigures({ suite: 'security-injection', attacks });
  await db?.close();
  await app?.close();
});

describe('SQL metacharacters are data, in every parameter', () => {
  it('thing fields are stored and read back verbatim (parameterised writes)', async () => {
    for (const p of planted) {
      attacks += 1;
      const res = await request(app.baseUrl, api(`/things/${p.id}`));
      const thing = res.json();
      expect({ title: thing.title, description: thing.description, url: thing.url }).toEqual({ title: p.title, description: p.description, url: p.url });
      expect(new Set(thing.tags.map((t: string) => t.toLowerCase()))).toEqual(new Set(p.tags.map((t) => t.toLowerCase())));
    }
  });

  async function search(query: string) {
    const res = await request(app.baseUrl, api(`/things/search?${query}&count=100`), { headers: bearer(aliceToken) });
    return res;
  }

  const allThings = async () => {
    const { rows } = await db.query('select t.id, t.title, t.description, t.url, t.tags, t.hidden, u.username from things t join users u on u.id = t.owner_id');
    return rows as { id: number; title: string; description: string; url: string; tags: string[]; hidden: boolean; username: string }[];
  };

  it('search `query`: exactly the things containing every term (§10.2), the planted one included, quickly', async () => {
    const things = await allThings();
    for (const p of planted) {
      attacks += 1;
      const started = performance.now();
      const res = await search(`query=${encodeURIComponent(p.payload)}`);
      expect(performance.now() - started, `${p.payload} was slow`).toBeLessThan(2_000);
      expect(res.status, `${p.payload}: ${res.text}`).toBe(200);
      const terms = p.payload.split(/\s+/).filter(Boolean).map((t) => t.toLowerCase());
      const expected = things
        .filter((t) => !t.hidden && terms.every((term) => [t.title, t.description, t.url, ...t.tags].some((field) => field.toLowerCase().includes(term))))
        .map((t) => t.id)
        .sort((a, b) => a - b);
      const got = res.json().things.map((t: { id: number }) => t.id).sort((a: number, b: number) => a - b);
      expect(got, p.payload).toEqual(expected);
      if (terms.length > 0) expect(got).toContain(p.id);
    }
  });

  it('search `url` (prefix), `user`, `language`, `category`: only what matches literally', async () => {
    const things = await allThings();
    for (const p of planted) {
      attacks += 4;
      const byUrl = await search(`url=${encodeURIComponent(p.url)}`);
      expect(byUrl.json().things.map((t: { id: number }) => t.id)).toEqual([p.id]);
      const byPrefix = await search(`url=${encodeURIComponent(p.payload)}`);
      expect(byPrefix.status).toBe(200);
      const prefix = p.payload.trim();
      const expected = prefix === '' ? things.length : things.filter((t) => !t.hidden && t.url.startsWith(prefix)).length;
      if (prefix !== '') expect(byPrefix.json().total_items, p.payload).toBe(expected);
      for (const name of ['user', 'language', 'category']) {
        const res = await search(`${name}=${encodeURIComponent(p.payload)}`);
        expect(res.status, `${name}=${p.payload}: ${res.text}`).toBe(200);
        // Unknown users, languages and categories match nothing (D55); an empty value is no filter (D14).
        if (p.payload !== '') expect(res.json().total_items, `${name}=${p.payload}`).toBe(0);
      }
    }
  });

  it('search `tags`: a valid expression selects exactly what it says (evaluated in JavaScript), anything else is 400', async () => {
    const things = (await allThings()).filter((t) => !t.hidden);
    for (const p of planted) {
      attacks += 1;
      const res = await search(`tags=${encodeURIComponent(p.payload)}`);
      let expression;
      try {
        expression = parseTagExpression(p.payload);
      } catch {
        expect(res.status, `${p.payload}: ${res.text}`).toBe(400);
        expect(res.json().error).toBe('invalid_parameters');
        continue;
      }
      expect(res.status, `${p.payload}: ${res.text}`).toBe(200);
      const expected = expression === null ? things.length : things.filter((t) => evaluateTagExpression(expression!, t.tags)).length;
      expect(res.json().total_items, p.payload).toBe(expected);
    }
  });

  it('usernames in paths (E1, E3, E12, E21 and the profile page): 404, never another user, never 5xx', async () => {
    for (const payload of [...SQL_PAYLOADS, "alice' --", 'alice%', 'ALICE', 'al_ce', 'bob\u0000']) {
      const segment = encodeURIComponent(payload);
      for (const path of [`/users/${segment}`, `/users/${segment}/things`, `/users/${segment}/flattrs`, `/users/${segment}/activities`]) {
        attacks += 1;
        const res = await rawRequest(port, { method: 'GET', target: api(path) });
        if (payload === 'ALICE') {
          expect(res.status).toBe(200);
          continue;
        }
        expect([400, 404], `${path}: ${res.text}`).toContain(res.status);
        assertRestError(res, app.config.docsUrl);
      }
      attacks += 1;
      const page = await rawRequest(port, { method: 'GET', target: `/profile/${segment}` });
      expect(page.status, payload).toBe(payload === 'ALICE' ? 200 : 404);
    }
  });

  it('lookup and flattr-by-url with metacharacters: not found or invalid, nothing created, nothing flattred', async () => {
    const before = await db.state();
    for (const payload of SQL_PAYLOADS) {
      for (const url of [payload, `https://example.org/${payload}`, `https://flattr.com/submit/auto?user_id=${encodeURIComponent(payload)}&url=${encodeURIComponent(`https://example.org/${payload}`)}`]) {
        attacks += 2;
        const lookup = await rawRequest(port, { method: 'GET', target: api(`/things/lookup?url=${encodeURIComponent(url)}`) });
        expect([400, 404], `${url}: ${lookup.text}`).toContain(lookup.status);
        assertRestError(lookup, app.config.docsUrl);
        const flattr = await rawRequest(port, {
          method: 'POST',
          target: api('/flattr'),
          headers: [['Authorization', `Bearer ${aliceToken}`], ['Content-Type', 'application/json']],
          body: JSON.stringify({ url }),
        });
        expect([400, 404], `${url}: ${flattr.text}`).toContain(flattr.status);
        assertRestError(flattr, app.config.docsUrl);
      }
    }
    expect(DbWatcher.changed(before, await db.state())).toEqual([]);
  });

  it('GraphQL variables carry the payloads as data', async () => {
    for (const p of planted) {
      attacks += 1;
      const res = await request(app.baseUrl, '/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          query: 'query($q: String, $u: String!) { searchThings(query: $q, first: 100) { totalCount edges { node { databaseId } } } user(username: $u) { username } }',
          variables: { q: p.payload, u: p.payload },
        }),
      });
      expect(res.status).toBe(200);
      const body = res.json();
      expect(body.errors, `${p.payload}: ${res.text}`).toBeUndefined();
      expect(body.data.user).toBeNull();
      if (p.payload.trim() !== '') expect(body.data.searchThings.edges.map((e: { node: { databaseId: number } }) => e.node.databaseId)).toContain(p.id);
    }
  });

  it('login, signup and OAuth fields with metacharacters are refused normally, and no account is reached', async () => {
    const browser = new BrowserSession(app.baseUrl);
    await browser.get('/login');
    for (const payload of ["alice' --", "' OR '1'='1", "alice'/*", 'alice%', 'al_ce']) {
      attacks += 3;
      const res = await browser.post('/login', { username: payload, password: "' OR '1'='1" });
      expect(res.status, payload).toBe(200);
      expect(res.text).toContain('Wrong username or password.');
      const authorize = await rawRequest(port, { method: 'GET', target: `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(payload)}` });
      expect(authorize.status).toBe(400);
      expect(JSON.parse(authorize.text).error).toBe('invalid_client');
      const token = await rawRequest(port, {
        method: 'POST',
        target: '/oauth/token',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: `grant_type=authorization_code&code=${encodeURIComponent(payload)}&client_id=${encodeURIComponent(payload)}&client_secret=${encodeURIComponent(payload)}`,
      });
      expect(token.status).toBe(401);
    }
  });

  it('tags PostgreSQL array literals treat specially are stored exactly (NULL, backslashes, quotes, control characters)', async () => {
    // Needs the TextArrayType of src/entities/text-array.ts: MikroORM's own
    // array type writes the tag `NULL` unquoted, so PostgreSQL stored an SQL NULL element and every list or search
    // showing the thing answered 500; `\u0001` and `\` came back altered.
    const tags = ['NULL', 'null', ' Null ', 'a\\b', '\\', '\u0001x', 'q"q', '{}', 'a,b', '\u2028sep'];
    const res = await request(app.baseUrl, api('/things'), { method: 'POST', headers: json(aliceToken), body: JSON.stringify({ url: 'https://example.org/array-literal', tags }) });
    expect(res.status, res.text).toBe(201);
    const id = res.json().id;
    attacks += 3;
    try {
      const read = await request(app.baseUrl, api(`/things/${id}`));
      expect(read.status, read.text).toBe(200);
      expect(read.json().tags).toEqual(['NULL', 'a\\b', '\\', '\u0001x', 'q"q', '{}', 'a,b', 'sep']);
      const list = await request(app.baseUrl, api('/users/alice/things'));
      expect(list.status, list.text).toBe(200);
      const found = await request(app.baseUrl, api('/things/search?tags=null'));
      expect(found.json().things.map((t: { id: number }) => t.id)).toEqual([id]);
    } finally {
      // Leave the other tests a readable database whether or not the fix is in.
      await db.query('delete from things where id = $1', [id]);
    }
  });

  it('every table is intact: row counts as planted, counters equal rows', async () => {
    const { rows } = await db.query('select (select count(*) from users)::int as users, (select count(*) from things)::int as things, (select count(*) from flattrs)::int as flattrs');
    expect(rows[0]).toEqual({ users: 2, things: planted.length, flattrs: 0 });
    expect(await db.counterViolations()).toEqual([]);
  });
});

/** Title, description and tags full of markup, quoting, control and odd Unicode characters (after §12.2 cleaning). */
const HOSTILE_TITLE = `5 > 3 & "q" 'r' ]]> <![CDATA[ \u0001\u000b\ufffe\u2028 ☃ 😀 {{x}} <script`;
const HOSTILE_DESCRIPTION = `<img src=x onerror=alert(1) "&amp;" ]]> &lt; \u0000 \u0008 \u001f \r\n: - # * ! | > key: "value"\n--- \n... <svg onload=alert(1)`;
const HOSTILE_TAGS = ['<svg/onload=alert(1)>', '"quoted"', 'a&b', ']]>', '\u0001ctl', 'key: value', '- item', '#c', '😀', "'single'"];

/** What XML keeps of a string: the characters XML 1.0 allows (§5.7 drops the others). */
const xmlText = (text: string) => text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');

describe('markup and control characters come out escaped and well-formed', () => {
  let thingId: number;
  let expected: { title: string; description: string; tags: string[] };

  beforeAll(async () => {
    const res = await request(app.baseUrl, api('/things'), {
      method: 'POST',
      headers: json(bobToken),
      body: JSON.stringify({ url: 'https://example.org/markup?a=1&b=<2>"', title: HOSTILE_TITLE, description: HOSTILE_DESCRIPTION.replace('\u0000', ''), tags: HOSTILE_TAGS }),
    });
    expect(res.status, res.text).toBe(201);
    thingId = res.json().id;
    const read = (await request(app.baseUrl, api(`/things/${thingId}`))).json();
    expected = { title: read.title, description: read.description, tags: read.tags };
    // The stored values keep the characters (only §12.2's <...> removal applies).
    expect(expected.title).toContain('"q"');
    expect(expected.title).toContain('\u0001');
    expect(expected.tags).toContain('<svg/onload=alert(1)>');
    // alice flattrs it, so it shows in flattr lists, activities and feeds too.
    const flattr = await request(app.baseUrl, api(`/things/${thingId}/flattr`), { method: 'POST', headers: bearer(aliceToken) });
    expect(flattr.status).toBe(200);
  });

  it('JSON and YAML carry the exact strings; YAML parses to the same document as JSON', async () => {
    for (const path of [`/things/${thingId}`, `/things/${thingId},1`, '/users/bob/things', '/users/alice/flattrs?full=1', `/things/search?query=${encodeURIComponent('"q"')}`]) {
      attacks += 1;
      const asJson = await request(app.baseUrl, api(path));
      expect(asJson.status, path).toBe(200);
      const [base, query] = path.split('?');
      const asYaml = await request(app.baseUrl, api(`${base}.yaml${query ? `?${query}` : ''}`));
      expect(asYaml.status, path).toBe(200);
      expect(parseYaml(asYaml.text), path).toEqual(asJson.json());
    }
    const thing = (await request(app.baseUrl, api(`/things/${thingId}`))).json();
    expect(thing.title).toBe(expected.title);
  });

  it('XML is well-formed and holds the same text, minus the characters XML 1.0 forbids (§5.7)', async () => {
    attacks += 3;
    const one = await request(app.baseUrl, api(`/things/${thingId}.xml`));
    const root = parseXml(one.text);
    expect(child(root, 'title')!.text).toBe(xmlText(expected.title));
    expect(child(root, 'description')!.text).toBe(xmlText(expected.description));
    expect(child(root, 'tags')!.children.map((t) => t.text)).toEqual(expected.tags.map(xmlText));
    for (const path of ['/users/bob/things.xml', '/users/alice/flattrs.xml?full=1', `/things/search.xml?query=${encodeURIComponent('"q"')}`]) {
      const res = await request(app.baseUrl, api(path));
      expect(res.status, path).toBe(200);
      parseXml(res.text);
    }
  });

  it('Atom feeds and Activity Streams are well-formed and hold the escaped titles', async () => {
    const titles = (node: XmlNode): string[] => [...(node.name === 'title' ? [node.text] : []), ...node.children.flatMap(titles)];
    for (const path of ['/users/bob/things.atom', '/users/alice/activities.atom', '/users/bob/activities.atom?type=incoming', `/things/${thingId}/flattrs.atom`, '/users/alice/flattrs.atom']) {
      attacks += 1;
      const res = await request(app.baseUrl, api(path));
      expect(res.status, path).toBe(200);
      const feed = parseXml(res.text);
      expect(feed.name).toBe('feed');
      expect(titles(feed).some((t) => t.includes(xmlText(expected.title))), path).toBe(true);
    }
    for (const path of ['/users/alice/activities', '/users/bob/things.as']) {
      attacks += 1;
      const res = await request(app.baseUrl, api(path));
      expect(res.status, path).toBe(200);
      expect(JSON.stringify(res.json())).toContain(JSON.stringify(expected.title).slice(1, -1));
    }
  });

  it('HTML pages (thing, profile, auto-submit preview, consent, apps) escape every value', async () => {
    const pages: string[] = [];
    for (const path of [`/thing/${thingId}`, `/thing/${thingId}/any-slug`, '/profile/bob', '/profile/alice']) {
      const res = await request(app.baseUrl, path);
      expect(res.status, path).toBe(200);
      pages.push(res.text);
    }
    const submit = await request(
      app.baseUrl,
      `/submit/auto?user_id=bob&url=${encodeURIComponent('https://example.org/new"><script>alert(1)</script>')}&title=${encodeURIComponent(HOSTILE_TITLE)}&description=${encodeURIComponent(HOSTILE_DESCRIPTION)}&tags=${encodeURIComponent(HOSTILE_TAGS.join(','))}`,
    );
    expect(submit.status).toBe(200);
    pages.push(submit.text);
    // An application whose name and description are markup, on its own pages and on the consent page.
    const owner = await signedUpBrowser(app.baseUrl, 'carol');
    await owner.get('/apps/new');
    const created = await owner.post('/apps', { name: '<script>alert(1)</script> "App"', description: HOSTILE_DESCRIPTION.replace('\u0000', ''), callback_urls: 'https://app.example/cb', token_format: 'opaque' });
    expect(created.status, created.text.slice(-600)).toBe(201);
    pages.push(created.text);
    const em = app.orm.em.fork();
    const { client } = await createClient(em, app.clock, { ownerId: null, name: '<img src=x onerror=alert(1)> & "co"', description: HOSTILE_DESCRIPTION.replace('\u0000', ''), callbackUrls: ['https://app.example/cb'] });
    const consent = await request(app.baseUrl, `/oauth/authorize?response_type=code&client_id=${client.clientId}&state=${encodeURIComponent('"><script>alert(1)</script>')}&scope=flattr`);
    expect(consent.status).toBe(200);
    pages.push(consent.text);
    for (const page of pages) {
      attacks += 1;
      assertNoInjectedMarkup(page);
      // (The new-secret page loads the site's own copy-button script, and nothing else.)
      expect(withoutSiteScripts(page)).not.toContain('<script');
      expect(page).not.toContain('<svg');
      expect(page).not.toContain('<img');
    }
    expect(pages[0]).toContain('&quot;q&quot;');
  });
});

describe('JSONP callbacks (§5.10, D29)', () => {
  const HOSTILE_CALLBACKS = [
    'alert(1)',
    'a;alert(1)',
    'a b',
    '<script>',
    'a.b(',
    '0abc',
    'a..b',
    'a.',
    '.a',
    'a-b',
    'x'.repeat(101),
    'a\u2028b',
    'a\r\nX-Injected: 1',
    'constructor[0]',
    'ünïcode',
    '/**/a',
    'a//',
    'a=1',
  ];

  it('refuses every callback that is not a plain dotted identifier of at most 100 characters, unwrapped', async () => {
    for (const callback of HOSTILE_CALLBACKS) {
      attacks += 1;
      const res = await rawRequest(port, { method: 'GET', target: api(`/users/alice?jsonp=${encodeURIComponent(callback)}`) });
      expect(res.status, callback).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_parameters', error_description: 'Invalid jsonp callback' });
      expect(res.text.startsWith('/**/')).toBe(false);
      expect(res.rawHeaders.some(([name]) => name === 'x-injected')).toBe(false);
    }
  });

  it('wraps valid callbacks as /**/cb(...); with nosniff, errors included', async () => {
    for (const callback of ['cb', 'a.b.c', '$', '_x$1', 'x'.repeat(100)]) {
      const res = await rawRequest(port, { method: 'GET', target: api(`/users/alice?jsonp=${callback}`) });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(parseJsonp(res.text)).toMatchObject({ callback, value: { username: 'alice' } });
    }
    const missing = await rawRequest(port, { method: 'GET', target: api('/users/nobody?jsonp=cb') });
    expect(missing.status).toBe(404);
    expect(parseJsonp(missing.text).value).toMatchObject({ error: 'not_found' });
  });
});

/** No header of the answer may carry CR or LF, and none may have come from the request. */
function expectNoInjectedHeader(res: RawResponse, marker = 'x-injected'): void {
  for (const [name, value] of res.rawHeaders) {
    expect(name).not.toBe(marker);
    expect(value).not.toMatch(/[\r\n]/);
    if (name === 'set-cookie') expect(value).not.toMatch(/^x=1/);
  }
}

describe('CR/LF header injection in anything echoed', () => {
  it('preflight: Access-Control-Request-Headers is echoed without line breaks (or the request is refused by Node)', async () => {
    const attempts: [string, string][] = [
      ['Access-Control-Request-Headers', 'authorization, content-type'],
      ['Access-Control-Request-Headers', 'x\r\n X-Injected: 1'],
      ['Access-Control-Request-Headers', 'x\rX-Injected: 1'],
      ['Access-Control-Request-Headers', 'x\nX-Injected: 1'],
      ['Access-Control-Request-Headers', 'a\u00ff\u0085b'],
    ];
    for (const header of attempts) {
      for (const path of [api('/things/1/flattr'), api('/no/such/path'), '/oauth/token']) {
        attacks += 1;
        let res: RawResponse;
        try {
          res = await rawRequest(port, { method: 'OPTIONS', target: path, headers: [header, ['Origin', 'https://evil.example']] });
        } catch {
          continue; // Node closed the connection on a malformed header line: nothing echoed
        }
        expectNoInjectedHeader(res);
        if (res.status === 204) expect(res.headers['access-control-allow-headers']).not.toMatch(/X-Injected: 1$/m);
        else expect(res.status).toBe(400);
      }
    }
  });

  it('X-Request-Id: only a sanitised id is echoed, hostile ones are replaced', async () => {
    const ID = /^[A-Za-z0-9._:-]{1,128}$/;
    for (const sent of ['abc-123', 'a b', '<script>', 'x'.repeat(200), '\u00ff\u00fe', 'id;drop', 'a\tb', '"quoted"', '../..']) {
      attacks += 1;
      const res = await rawRequest(port, { method: 'GET', target: api('/categories'), headers: [['X-Request-Id', sent]] });
      expect(res.status).toBe(200);
      const echoed = res.rawHeaders.filter(([name]) => name === 'x-request-id').map(([, v]) => v);
      expect(echoed).toHaveLength(1);
      expect(echoed[0]).toMatch(ID);
      if (ID.test(sent)) expect(echoed[0]).toBe(sent);
      else expect(echoed[0]).not.toBe(sent);
    }
  });

  it('OAuth state with CR/LF stays percent-encoded inside Location', async () => {
    const em = app.orm.em.fork();
    const { client } = await createClient(em, app.clock, { ownerId: null, name: 'CRLF', callbackUrls: ['https://app.example/cb'] });
    for (const state of ['a\r\nSet-Cookie: x=1', '\r\n\r\n<html>', 'a\nX-Injected: 1']) {
      attacks += 2;
      const denied = await rawRequest(port, {
        method: 'POST',
        target: '/oauth/authorize',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: `response_type=code&client_id=${client.clientId}&state=${encodeURIComponent(state)}&decision=deny`,
      });
      expect(denied.status).toBe(302);
      expectNoInjectedHeader(denied);
      expect(new URL(denied.headers.location!).searchParams.get('state')).toBe(state);
      const badScope = await rawRequest(port, { method: 'GET', target: `/oauth/authorize?response_type=code&client_id=${client.clientId}&scope=nope&state=${encodeURIComponent(state)}` });
      expect(badScope.status).toBe(302);
      expectNoInjectedHeader(badScope);
    }
    // A redirect_uri with CR/LF is never a registered callback: refused without a redirect.
    const crlfUri = await rawRequest(port, { method: 'GET', target: `/oauth/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent('https://app.example/cb\r\nX-Injected: 1')}` });
    expect(crlfUri.status).toBe(400);
    expect(crlfUri.headers.location).toBeUndefined();
  });

  it("the website's `next` cannot carry a line break (or leave the site) into Location", async () => {
    for (const next of ['/apps\r\nSet-Cookie: x=1', '/apps%0d%0aSet-Cookie:x=1', '/\r\n/evil.example', '\r\n//evil.example']) {
      attacks += 2;
      const browser = new BrowserSession(app.baseUrl);
      const page = await browser.get(`/login?next=${encodeURIComponent(next)}`);
      expect(page.status).toBe(200);
      const res = await browser.post('/login', { username: 'alice', password: 'correct horse battery', next });
      expect(res.status).toBe(303);
      // A decoded line break refuses the value (the fallback /apps); an encoded one stays an inert same-site path.
      expect(res.location).toMatch(/^\/(?![/\\])[\x21-\x7e]*$/);
      if (/[\r\n]/.test(next)) expect(res.location).toBe('/apps');
      expect(res.setCookies.some((c) => c.startsWith('x='))).toBe(false);
      expectNoInjectedHeader({ rawHeaders: Object.entries(res.headers) } as unknown as RawResponse);
    }
  });

  it('a thing url with line breaks never reaches a header (Location is always the API resource URL)', async () => {
    attacks += 1;
    const create = await rawRequest(port, {
      method: 'POST',
      target: api('/things'),
      headers: [['Authorization', `Bearer ${bobToken}`], ['Content-Type', 'application/json']],
      body: JSON.stringify({ url: 'https://example.org/crlf\r\nX-Injected: 1', title: 'crlf' }),
    });
    expectNoInjectedHeader(create);
    if (create.status === 201) {
      expect(create.headers.location).toMatch(/\/rest\/v2\/things\/\d+$/);
      const lookup = await rawRequest(port, { method: 'GET', target: api(`/things/lookup?url=${encodeURIComponent('https://example.org/crlf\r\nX-Injected: 1')}`) });
      expectNoInjectedHeader(lookup);
    } else {
      expect(create.status).toBe(400);
    }
  });
});
