import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import { Flattr, Subscription, Thing, User } from '../src/entities/index.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';
import type { Scope } from '../src/services/tokens.js';

/** The write endpoints through REST (spec E8–E10, E15–E20): statuses, headers, bodies and every listed error. */

let app: TestApp;
let fx: Fixtures;
let api: string;
let site: string;

const DOCS = 'http://developers.flattr.net';
const unix = (iso: string) => Date.parse(iso) / 1000;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  site = app.config.siteUrl;
  app.clock.set('2026-03-10T12:00:00Z');
});
afterAll(() => app?.close());

let userCounter = 0;
/** A user with means and a token with the given scopes. */
async function person(scopes: Scope[] = ['thing', 'flattr'], overrides: Partial<UserEntity> = {}): Promise<{ user: UserEntity; token: string }> {
  const user = await fx.user({ username: `writer${++userCounter}`, balanceCents: 500, ...overrides } as Partial<UserEntity>);
  return { user, token: await fx.token(user, scopes) };
}

type Send = { json?: unknown; form?: string; headers?: Record<string, string>; token?: string | null };

function call(method: string, path: string, send: Send = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(send.token ? { Authorization: `Bearer ${send.token}` } : {}), ...(send.headers ?? {}) };
  let body: string | undefined;
  if (send.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(send.json);
  } else if (send.form !== undefined) {
    headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    body = send.form;
  }
  return request(app.baseUrl, `/rest/v2${path}`, { method, headers, body });
}

// Rate-limit headers are asserted in test/rate-limit.test.ts; here they only vary with the request count.
const VOLATILE = new Set(['date', 'x-request-id', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-current', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit']);
/** Every header but the transport ones, for exact comparison. */
const headersOf = (res: HttpResult) => Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VOLATILE.has(name)));

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Current, X-RateLimit-Reset, RateLimit-Policy, RateLimit, Location, WWW-Authenticate, Retry-After, ETag, X-Request-Id',
};
const JSON_HEADERS = { ...CORS, 'content-type': 'application/json; charset=utf-8', vary: 'Accept' };

const error = (code: string, description: string, family: string | null) => ({
  error: code,
  error_description: description,
  error_uri: family ? `${DOCS}/api/resources/${family}/` : `${DOCS}/api/`,
});

/** Status, body and (some) headers of an error answer, in one comparable value. */
function expectError(res: HttpResult, status: number, body: ReturnType<typeof error>, headers: Record<string, string> = {}) {
  expect({ status: res.status, body: res.json(), headers: headersOf(res) }).toEqual({ status, body, headers: { ...JSON_HEADERS, ...headers } });
}

const NO_TOKEN = { 'www-authenticate': 'Bearer realm="flattr"' };
const unauthorized = () => error('unauthorized', 'You are unauthorized to access the resource', null);
const insufficientScope = () => error('insufficient_scope', "You don't have sufficient access rights to access this resource", null);
const scopeHeader = (scope: string) => ({ 'www-authenticate': `Bearer realm="flattr", error="insufficient_scope", scope="${scope}"` });
const NO_THING = 'The requested thing(s) could not be found';
const ROUTE_NOT_FOUND = error('not_found', 'The resource was not found', null);

/** Row counts, to show that a refused write changed nothing. */
async function counts() {
  const em = app.orm.em.fork();
  return { things: await em.count(Thing, {}), flattrs: await em.count(Flattr, {}), subscriptions: await em.count(Subscription, {}) };
}

async function storedThing(id: number) {
  const thing = await app.orm.em.fork().findOne(Thing, id);
  return thing
    ? { url: thing.url, title: thing.title, description: thing.description, category: thing.category.id, language: thing.language.id, tags: thing.tags, hidden: thing.hidden, updatedAt: thing.updatedAt, flattrs: thing.flattrsCount }
    : null;
}

const miniActionThing = (thing: ThingEntity, flattrs: number, title = thing.title) => ({
  type: 'thing',
  resource: `${api}/things/${thing.id}`,
  link: `${site}/thing/${thing.id}`,
  id: thing.id,
  url: thing.url,
  title,
  image: '',
  flattrs,
});

describe('E8 POST /things', () => {
  it('creates a thing from a JSON body: 201, the create body and a Location header (D52)', async () => {
    const { user, token } = await person();
    const res = await call('POST', '/things', { token, json: { url: 'https://e8.example/json' } });
    const id = res.json().id;
    expect(typeof id).toBe('number');
    expect({ status: res.status, headers: headersOf(res), body: res.json() }).toEqual({
      status: 201,
      headers: { ...JSON_HEADERS, location: `${api}/things/${id}` },
      body: { id, link: `${api}/things/${id}`, message: 'ok', description: 'Thing was created successfully' },
    });
    expect(Object.keys(res.json())).toEqual(['id', 'link', 'message', 'description']);
    // Defaults of the E8 table.
    const shown = await call('GET', `/things/${id}`, { token });
    expect(shown.json()).toEqual({
      type: 'thing',
      resource: `${api}/things/${id}`,
      link: `${site}/thing/${id}`,
      id,
      url: 'https://e8.example/json',
      flattrs: 0,
      flattrs_user_count: 0,
      title: 'https://e8.example/json',
      description: '',
      tags: [],
      language: 'en_GB',
      category: 'rest',
      created_at: unix('2026-03-10T12:00:00Z'),
      owner: { type: 'user', resource: `${api}/users/${user.username}`, link: `${site}/profile/${user.username}`, username: user.username },
      hidden: false,
      image: '',
      flattred: false,
      subscribed: false,
      last_flattr_at: 0,
      updated_at: 0,
    });
  });

  it('creates a thing from a form body with every parameter', async () => {
    const { token } = await person();
    const res = await call('POST', '/things', {
      token,
      form: 'url=https%3A%2F%2Fe8.example%2Fform&title=A+%3Cb%3Etitle%3C%2Fb%3E&description=one%3Cbr%3Etwo&category=text&language=sv_SE&tags=api,+flattr,API&hidden=yes',
    });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`${api}/things/${res.json().id}`);
    expect(await storedThing(res.json().id)).toEqual({
      url: 'https://e8.example/form',
      title: 'A title',
      description: 'one\ntwo',
      category: 'text',
      language: 'sv_SE',
      tags: ['api', 'flattr'],
      hidden: true,
      updatedAt: null,
      flattrs: 0,
    });
  });

  it('renders the create body as XML and YAML with the response root (D27), without ETag', async () => {
    const { token } = await person();
    const xml = await call('POST', '/things.xml', { token, json: { url: 'https://e8.example/xml' } });
    const id = Number(/<id type="integer">(\d+)<\/id>/.exec(xml.text)?.[1]);
    expect(xml.status).toBe(201);
    expect(headersOf(xml)).toEqual({ ...CORS, 'content-type': 'text/xml; charset=utf-8', vary: 'Accept', location: `${api}/things/${id}` });
    expect(xml.text.trimEnd()).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<response>',
        `  <id type="integer">${id}</id>`,
        `  <link>${api}/things/${id}</link>`,
        '  <message>ok</message>',
        '  <description>Thing was created successfully</description>',
        '</response>',
      ].join('\n'),
    );
    const yaml = await call('POST', '/things', { token, json: { url: 'https://e8.example/yaml' }, headers: { Accept: 'application/yaml' } });
    expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(parseYaml(yaml.text)).toEqual({ id: expect.any(Number), link: `${api}/things/${parseYaml(yaml.text).id}`, message: 'ok', description: 'Thing was created successfully' });
  });

  it('reports validation failures in the order of the E8 table and creates nothing', async () => {
    const { token } = await person();
    await call('POST', '/things', { token, json: { url: 'https://e8.example/taken' } });
    const long = (n: number) => 'x'.repeat(n);
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'Invalid url'],
      [{ url: '' }, 'Invalid url'],
      [{ url: '/relative' }, 'Invalid url'],
      [{ url: 'ftp://e8.example/file' }, 'Invalid url'],
      [{ url: `https://e8.example/${long(2048)}` }, 'Invalid url'],
      [{ url: 'https://flattr.com/submit/auto?user_id=x&url=https%3A%2F%2Fe8.example%2Fa' }, 'Invalid url'],
      [{ url: 'https://e8.example/taken', title: long(101), category: 'nope' }, 'A thing with that url already exists'],
      [{ url: 'https://e8.example/new', title: long(101), description: long(1001), category: 'nope' }, 'Title is too long'],
      [{ url: 'https://e8.example/new', description: long(1001), category: 'nope', language: 'xx' }, 'Description is too long'],
      [{ url: 'https://e8.example/new', category: 'nope', language: 'xx', hidden: 'maybe' }, 'Invalid category'],
      [{ url: 'https://e8.example/new', language: 'xx', hidden: 'maybe' }, 'Invalid language'],
      [{ url: 'https://e8.example/new', hidden: 'maybe' }, 'Invalid value for hidden'],
      [{ url: 'https://e8.example/new', hidden: 2 }, 'Invalid value for hidden'],
      [{ url: 'not a url', hidden: 'maybe' }, 'Invalid url'],
      [{ hidden: 'maybe' }, 'Invalid url'],
      [{ url: 'https://e8.example/taken', hidden: 'maybe' }, 'A thing with that url already exists'],
      [{ url: 'https://e8.example/new', title: long(101), hidden: 'maybe' }, 'Title is too long'],
    ];
    const before = await counts();
    for (const [body, description] of cases) {
      const res = await call('POST', '/things', { token, json: body });
      expect([body, res.status, res.json()]).toEqual([body, 400, error('validation', description, 'things')]);
    }
    const viaForm = await call('POST', '/things', { token, form: 'url=https%3A%2F%2Fe8.example%2Fnew&hidden=perhaps' });
    expectError(viaForm, 400, error('validation', 'Invalid value for hidden', 'things'));
    expect(await counts()).toEqual(before);
  });

  it('needs a token (401) with scope thing (403 insufficient_scope)', async () => {
    const { token } = await person(['flattr', 'email', 'extendedread']);
    const before = await counts();
    expectError(await call('POST', '/things', { json: { url: 'https://e8.example/anon' } }), 401, unauthorized(), NO_TOKEN);
    expectError(await call('POST', '/things', { token, json: { url: 'https://e8.example/scope' } }), 403, insufficientScope(), scopeHeader('thing'));
    expect(await counts()).toEqual(before);
  });
});

describe('E9 PATCH /things/:id', () => {
  let owner: { user: UserEntity; token: string };
  let thing: ThingEntity;
  beforeAll(async () => {
    owner = await person();
    app.clock.set('2026-03-10T12:00:00Z');
    thing = await fx.thing(owner.user, { url: 'https://e9.example/post', title: 'Original', description: 'Old', tags: 'one,two', category: 'text', language: 'en_GB' });
  });

  it('updates from a JSON PATCH: 200 and the update body; only the parameters sent change', async () => {
    app.clock.set('2026-03-11T08:00:00Z');
    const res = await call('PATCH', `/things/${thing.id}`, { token: owner.token, json: { title: 'New <i>title</i>', tags: ['x', 'y'], hidden: true, url: 'https://e9.example/ignored' } });
    expect({ status: res.status, headers: headersOf(res), body: res.json() }).toEqual({
      status: 200,
      headers: JSON_HEADERS,
      body: { message: 'ok', description: 'Thing was updated correctly' },
    });
    expect(await storedThing(thing.id)).toEqual({
      url: 'https://e9.example/post',
      title: 'New title',
      description: 'Old',
      category: 'text',
      language: 'en_GB',
      tags: ['x', 'y'],
      hidden: true,
      updatedAt: new Date('2026-03-11T08:00:00Z'),
      flattrs: 0,
    });
  });

  it('updates through the POST workaround with a form body (spec 16.8)', async () => {
    const res = await call('POST', `/things/${thing.id}`, { token: owner.token, form: 'title=API+v2+documentation&_method=patch' });
    expect([res.status, res.json()]).toEqual([200, { message: 'ok', description: 'Thing was updated correctly' }]);
    expect((await storedThing(thing.id))!.title).toBe('API v2 documentation');
  });

  it('resets an empty title to the url, clears description and tags with empty values, and sets updated_at even without changes (D54)', async () => {
    app.clock.set('2026-03-12T09:00:00Z');
    const res = await call('POST', `/things/${thing.id}?_method=patch`, { token: owner.token, form: 'title=&description=&tags=&hidden=0' });
    expect(res.status).toBe(200);
    expect(await storedThing(thing.id)).toMatchObject({ title: 'https://e9.example/post', description: '', tags: [], hidden: false });
    app.clock.set('2026-03-13T09:00:00Z');
    expect((await call('PATCH', `/things/${thing.id}`, { token: owner.token })).status).toBe(200);
    const shown = await call('GET', `/things/${thing.id}`, { token: owner.token });
    expect(shown.json().updated_at).toBe(unix('2026-03-13T09:00:00Z'));
  });

  it('checks existence, then ownership, then validation in table order, and changes nothing on failure', async () => {
    const stranger = await person();
    const before = await storedThing(thing.id);
    const forbidden = error('forbidden', 'You are not allowed to update the thing', 'things');
    const cases: [string, Send, number, ReturnType<typeof error>][] = [
      ['/things/987654', { token: owner.token, json: { title: 'x', category: 'nope' } }, 404, error('not_found', NO_THING, 'things')],
      ['/things/987654', { token: owner.token, json: { hidden: 'maybe' } }, 404, error('not_found', NO_THING, 'things')],
      [`/things/${thing.id}`, { token: stranger.token, json: { title: 'x', category: 'nope' } }, 403, forbidden],
      [`/things/${thing.id}`, { token: stranger.token, json: { hidden: 'maybe' } }, 403, forbidden],
      [`/things/${thing.id}`, { token: owner.token, json: { title: 'x'.repeat(101), category: 'nope' } }, 400, error('validation', 'Title is too long', 'things')],
      [`/things/${thing.id}`, { token: owner.token, json: { description: 'x'.repeat(1001) } }, 400, error('validation', 'Description is too long', 'things')],
      [`/things/${thing.id}`, { token: owner.token, json: { category: 'nope', language: 'xx' } }, 400, error('validation', 'Invalid category', 'things')],
      [`/things/${thing.id}`, { token: owner.token, json: { language: 'xx', hidden: 'maybe' } }, 400, error('validation', 'Invalid language', 'things')],
      [`/things/${thing.id}`, { token: owner.token, json: { title: 'Fine', hidden: 'maybe' } }, 400, error('validation', 'Invalid value for hidden', 'things')],
      [`/things/${thing.id}`, { token: owner.token, json: { title: ['x'] } }, 400, error('invalid_parameters', 'One or many parameters are missing or invalid', 'things')],
      [`/things/${thing.id}`, { token: owner.token, json: { tags: [1] } }, 400, error('invalid_parameters', 'One or many parameters are missing or invalid', 'things')],
    ];
    for (const [path, send, status, body] of cases) {
      const res = await call('PATCH', path, send);
      expect([path, send.json, res.status, res.json()]).toEqual([path, send.json, status, body]);
    }
    expect(await storedThing(thing.id)).toEqual(before);
  });

  it('needs a token with scope thing, and a well-formed id', async () => {
    const { token } = await person(['flattr']);
    expectError(await call('PATCH', `/things/${thing.id}`, { json: { title: 'x' } }), 401, unauthorized(), NO_TOKEN);
    expectError(await call('PATCH', `/things/${thing.id}`, { token, json: { title: 'x' } }), 403, insufficientScope(), scopeHeader('thing'));
    expectError(await call('POST', `/things/${thing.id}`, { token, form: 'title=x&_method=patch' }), 403, insufficientScope(), scopeHeader('thing'));
    expectError(await call('PATCH', '/things/abc', { token: owner.token, json: { title: 'x' } }), 404, ROUTE_NOT_FOUND);
    expectError(await call('PATCH', '/things/0', { token: owner.token, json: { title: 'x' } }), 404, ROUTE_NOT_FOUND);
    // A plain POST to a thing is no route (D5).
    expectError(await call('POST', `/things/${thing.id}`, { token: owner.token, form: 'title=x' }), 404, ROUTE_NOT_FOUND);
  });
});

describe('E10 DELETE /things/:id', () => {
  it('deletes the thing with its flattrs and subscriptions: 204, no body, no Content-Type (D74)', async () => {
    const owner = await person();
    const fan = await person();
    const thing = await fx.thing(owner.user, { url: 'https://e10.example/doomed' });
    await fx.flattr(fan.user, thing);
    expect((await call('POST', `/things/${thing.id}/subscriptions`, { token: fan.token })).status).toBe(200);
    const before = await counts();
    const res = await call('DELETE', `/things/${thing.id}`, { token: owner.token });
    expect({ status: res.status, text: res.text, headers: headersOf(res) }).toEqual({ status: 204, text: '', headers: CORS });
    expect(await counts()).toEqual({ things: before.things - 1, flattrs: before.flattrs - 1, subscriptions: before.subscriptions - 1 });
    expectError(await call('GET', `/things/${thing.id}`), 404, error('not_found', NO_THING, 'things'));
    // The url is free again.
    expect((await call('POST', '/things', { token: owner.token, json: { url: 'https://e10.example/doomed' } })).status).toBe(201);
  });

  it('is reachable as POST with _method=delete, in a JSON body too', async () => {
    const owner = await person();
    const a = await fx.thing(owner.user);
    const b = await fx.thing(owner.user);
    expect((await call('POST', `/things/${a.id}`, { token: owner.token, form: '_method=delete' })).status).toBe(204);
    expect((await call('POST', `/things/${b.id}`, { token: owner.token, json: { _method: 'DELETE' } })).status).toBe(204);
    expect(await storedThing(a.id)).toBeNull();
    expect(await storedThing(b.id)).toBeNull();
  });

  it('checks existence, then ownership, and changes nothing on failure', async () => {
    const owner = await person();
    const stranger = await person();
    const flattrOnly = await person(['flattr']);
    const thing = await fx.thing(owner.user);
    const before = await counts();
    expectError(await call('DELETE', '/things/987654', { token: stranger.token }), 404, error('not_found', NO_THING, 'things'));
    expectError(await call('DELETE', `/things/${thing.id}`, { token: stranger.token }), 403, error('forbidden', 'You are not allowed to delete the thing', 'things'));
    expectError(await call('DELETE', `/things/${thing.id}`, { token: flattrOnly.token }), 403, insufficientScope(), scopeHeader('thing'));
    expectError(await call('DELETE', `/things/${thing.id}`), 401, unauthorized(), NO_TOKEN);
    expect(await counts()).toEqual(before);
  });
});

describe('E15 POST /things/:id/flattr', () => {
  it('flattrs: 200 and the flattr body, mini thing without owner and with the new count, plus location (D45)', async () => {
    const owner = await person();
    const fan = await person(['flattr']);
    const thing = await fx.thing(owner.user, { title: 'Flattr me' });
    const res = await call('POST', `/things/${thing.id}/flattr`, { token: fan.token });
    expect({ status: res.status, headers: headersOf(res), body: res.json() }).toEqual({
      status: 200,
      headers: JSON_HEADERS,
      body: { message: 'ok', description: 'Thing was successfully flattred', thing: miniActionThing(thing, 1), location: `${api}/things/${thing.id}` },
    });
    expect(Object.keys(res.json())).toEqual(['message', 'description', 'thing', 'location']);
    // Spec 16.2: the same month again.
    const again = await call('POST', `/things/${thing.id}/flattr`, { token: fan.token, form: 'ignored=1' });
    expectError(again, 403, error('flattr_once', 'You are not allowed to flattr this thing more than once this period', 'flattrs'));
    // Next month it works again; a form body is ignored.
    app.clock.set('2026-04-02T00:00:00Z');
    const nextMonth = await call('POST', `/things/${thing.id}/flattr`, { token: fan.token, form: 'anything=else' });
    expect([nextMonth.status, nextMonth.json().thing.flattrs]).toEqual([200, 2]);
    app.clock.set('2026-03-10T12:00:00Z');
  });

  it('renders the flattr body as XML with the response root', async () => {
    const owner = await person();
    const fan = await person(['flattr']);
    const thing = await fx.thing(owner.user, { title: 'Fish & chips > 3' });
    const res = await call('POST', `/things/${thing.id}/flattr.xml`, { token: fan.token });
    expect([res.status, res.headers['content-type'], res.headers.etag]).toEqual([200, 'text/xml; charset=utf-8', undefined]);
    expect(res.text.trimEnd()).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<response>',
        '  <message>ok</message>',
        '  <description>Thing was successfully flattred</description>',
        '  <thing>',
        '    <type>thing</type>',
        `    <resource>${api}/things/${thing.id}</resource>`,
        `    <link>${site}/thing/${thing.id}</link>`,
        `    <id type="integer">${thing.id}</id>`,
        `    <url>${thing.url}</url>`,
        '    <title>Fish &amp; chips &gt; 3</title>',
        '    <image></image>',
        '    <flattrs type="integer">1</flattrs>',
        '  </thing>',
        `  <location>${api}/things/${thing.id}</location>`,
        '</response>',
      ].join('\n'),
    );
  });

  it('refuses the owner, a user without means (with its challenge, D34) and unknown things, changing nothing', async () => {
    const owner = await person();
    const poor = await person(['flattr'], { balanceCents: 0 } as Partial<UserEntity>);
    const thing = await fx.thing(owner.user);
    const before = await counts();
    expectError(await call('POST', `/things/${thing.id}/flattr`, { token: owner.token }), 403, error('flattr_owner', 'You are not allowed to flattr your own thing', 'flattrs'));
    expectError(await call('POST', `/things/${thing.id}/flattr`, { token: poor.token }), 401, error('no_means', "You don't have any money to flattr with", 'flattrs'), NO_TOKEN);
    expectError(await call('POST', '/things/987654/flattr', { token: poor.token }), 404, error('not_found', NO_THING, 'flattrs'));
    expectError(await call('POST', '/things/nope/flattr', { token: poor.token }), 404, ROUTE_NOT_FOUND);
    expect(await counts()).toEqual(before);
    expect((await storedThing(thing.id))!.flattrs).toBe(0);
  });

  it('needs a token with scope flattr', async () => {
    const owner = await person();
    const thingOnly = await person(['thing', 'email']);
    const thing = await fx.thing(owner.user);
    expectError(await call('POST', `/things/${thing.id}/flattr`), 401, unauthorized(), NO_TOKEN);
    expectError(await call('POST', `/things/${thing.id}/flattr`, { token: thingOnly.token }), 403, insufficientScope(), scopeHeader('flattr'));
    expectError(await call('GET', `/things/${thing.id}/flattr`, { token: thingOnly.token }), 404, ROUTE_NOT_FOUND);
  });
});

describe('E16 POST /flattr', () => {
  it('flattrs a registered url from a JSON body, a form body or the query string (D57)', async () => {
    const owner = await person();
    const things = await Promise.all([0, 1, 2].map((i) => fx.thing(owner.user, { url: `https://e16.example/${i}`, title: `E16 ${i}` })));
    const fan = await person(['flattr']);
    const viaJson = await call('POST', '/flattr', { token: fan.token, json: { url: things[0]!.url } });
    expect({ status: viaJson.status, headers: headersOf(viaJson), body: viaJson.json() }).toEqual({
      status: 200,
      headers: JSON_HEADERS,
      body: { message: 'ok', description: 'Thing was successfully flattred', thing: miniActionThing(things[0]!, 1), location: `${api}/things/${things[0]!.id}` },
    });
    const viaForm = await call('POST', '/flattr', { token: fan.token, form: `url=${encodeURIComponent(things[1]!.url)}` });
    expect([viaForm.status, viaForm.json().thing.id]).toEqual([200, things[1]!.id]);
    const viaQuery = await call('POST', `/flattr?url=${encodeURIComponent(things[2]!.url)}`, { token: fan.token });
    expect([viaQuery.status, viaQuery.json().thing.id]).toEqual([200, things[2]!.id]);
    // The body's url wins over the query string's.
    const other = await person(['flattr']);
    const both = await call('POST', `/flattr?url=${encodeURIComponent(things[2]!.url)}`, { token: other.token, json: { url: `  ${things[0]!.url} ` } });
    expect([both.status, both.json().thing.id]).toEqual([200, things[0]!.id]);
  });

  it('answers 400 invalid_parameters for a missing, empty, relative or non-http url, changing nothing', async () => {
    const fan = await person(['flattr']);
    const before = await counts();
    const invalid = error('invalid_parameters', 'One or many parameters are missing or invalid', 'flattrs');
    const sends: Send[] = [
      {},
      { json: {} },
      { json: { url: '' } },
      { json: { url: '   ' } },
      { json: { url: '/things/1' } },
      { json: { url: 'e16.example/x' } },
      { json: { url: 'ftp://e16.example/x' } },
      { json: { url: 'mailto:a@e16.example' } },
      { json: { url: ['https://e16.example/0'] } },
      { json: { url: { href: 'https://e16.example/0' } } },
      { form: 'url=' },
      { form: 'title=x' },
    ];
    for (const send of sends) {
      const res = await call('POST', '/flattr', { token: fan.token, ...send });
      expect([send, res.status, res.json()]).toEqual([send, 400, invalid]);
    }
    const query = await call('POST', '/flattr?url=relative/path', { token: fan.token });
    expectError(query, 400, invalid);
    expect(await counts()).toEqual(before);
  });

  it('answers 404 "No thing was found" for an unregistered url, and the flattr errors of §12.4', async () => {
    const owner = await person();
    const poor = await person(['flattr'], { balanceCents: 0 } as Partial<UserEntity>);
    const fan = await person(['flattr']);
    const thing = await fx.thing(owner.user, { url: 'https://e16.example/errors' });
    const before = await counts();
    expectError(await call('POST', '/flattr', { token: fan.token, json: { url: 'https://e16.example/unknown' } }), 404, error('not_found', 'No thing was found', 'flattrs'));
    expectError(await call('POST', '/flattr', { token: owner.token, json: { url: thing.url } }), 403, error('flattr_owner', 'You are not allowed to flattr your own thing', 'flattrs'));
    expectError(await call('POST', '/flattr', { token: poor.token, json: { url: thing.url } }), 401, error('no_means', "You don't have any money to flattr with", 'flattrs'), NO_TOKEN);
    expect(await counts()).toEqual(before);
    expect((await call('POST', '/flattr', { token: fan.token, json: { url: thing.url } })).status).toBe(200);
    expectError(
      await call('POST', '/flattr', { token: fan.token, form: `url=${encodeURIComponent(thing.url)}` }),
      403,
      error('flattr_once', 'You are not allowed to flattr this thing more than once this period', 'flattrs'),
    );
  });

  it('flattrs an auto-submit URL, refusing an owner mismatch', async () => {
    const owner = await person(['thing', 'flattr'], { username: 'autoowner' } as Partial<UserEntity>);
    const fan = await person(['flattr']);
    const thing = await fx.thing(owner.user, { url: 'https://e16.example/auto' });
    const auto = (userId: string) => `https://flattr.com/submit/auto?user_id=${userId}&url=${encodeURIComponent(thing.url)}`;
    const before = await counts();
    expectError(
      await call('POST', '/flattr', { token: fan.token, json: { url: auto('someoneelse') } }),
      400,
      error('validation', 'Owner mismatch. Current thing owned by other account.', 'flattrs'),
    );
    expect(await counts()).toEqual(before);
    const ok = await call('POST', '/flattr', { token: fan.token, json: { url: auto('AutoOwner') } });
    expect([ok.status, ok.json().thing.id, ok.json().thing.flattrs]).toEqual([200, thing.id, 1]);
  });

  it('creates the thing of an auto-submit URL on its first flattr (spec 16.4), and nothing when the flattr is refused', async () => {
    await fx.user({ username: 'flattr', balanceCents: 100 } as Partial<UserEntity>);
    const fan = await person(['flattr']);
    const url =
      'https://flattr.com/submit/auto?user_id=flattr&url=http%3A%2F%2Fdevelopers.flattr.net&title=Flattr%20API%20Documentation&language=en_GB&tags=flattr,api,programming&category=text';
    const flattrUser = await app.orm.em.fork().findOneOrFail(User, { username: 'flattr' });
    const flattrToken = await fx.token(flattrUser as UserEntity, ['flattr']);
    const before = await counts();
    expectError(await call('POST', '/flattr', { token: flattrToken, json: { url } }), 403, error('flattr_owner', 'You are not allowed to flattr your own thing', 'flattrs'));
    expectError(
      await call('POST', '/flattr', { token: fan.token, json: { url: 'https://flattr.com/submit/auto?user_id=nobody_here&url=http%3A%2F%2Fnew.example' } }),
      404,
      error('not_found', 'The requested user could not be found', 'flattrs'),
    );
    expectError(
      await call('POST', '/flattr', { token: fan.token, json: { url: 'https://flattr.com/submit/auto?url=http%3A%2F%2Fnew.example' } }),
      404,
      error('not_found', 'No thing was found', 'flattrs'),
    );
    expect(await counts()).toEqual(before);
    const res = await call('POST', '/flattr', { token: fan.token, json: { url } });
    expect(res.status).toBe(200);
    expect(res.json().thing).toMatchObject({ url: 'http://developers.flattr.net', title: 'Flattr API Documentation', flattrs: 1 });
    expect(await storedThing(res.json().thing.id)).toMatchObject({ tags: ['flattr', 'api', 'programming'], category: 'text', language: 'en_GB' });
    expect(await counts()).toEqual({ ...before, things: before.things + 1, flattrs: before.flattrs + 1 });
  });

  describe('reassembles unencoded auto-submit URLs (§11.4, D71)', () => {
    // The docs' example: the url value is not percent-encoded, so user_id arrives as a parameter of its own.
    const inner = 'http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/';
    let thing: ThingEntity;
    beforeAll(async () => {
      const owner = await fx.user({ username: 'blogowner', balanceCents: 100 } as Partial<UserEntity>);
      thing = await fx.thing(owner, { url: inner, title: "API v2 beta out - what's changed?" });
    });

    it('in the query string', async () => {
      const fan = await person(['flattr']);
      const ok = await call('POST', `/flattr?url=http://flattr.com/submit/auto?url=${inner}&user_id=blogowner`, { token: fan.token });
      expect([ok.status, ok.json().thing.id]).toEqual([200, thing.id]);
      const mismatch = await call('POST', `/flattr?url=http://flattr.com/submit/auto?url=${inner}&user_id=someoneelse`, { token: fan.token });
      expectError(mismatch, 400, error('validation', 'Owner mismatch. Current thing owned by other account.', 'flattrs'));
    });

    it('in a form body, leaving the known parameters out', async () => {
      const fan = await person(['flattr']);
      const mismatch = await call('POST', '/flattr', { token: fan.token, form: `url=http://flattr.com/submit/auto?url=${inner}&full=1&user_id=someoneelse&_method=post` });
      expectError(mismatch, 400, error('validation', 'Owner mismatch. Current thing owned by other account.', 'flattrs'));
      const ok = await call('POST', '/flattr', { token: null, form: `url=http://flattr.com/submit/auto?url=${inner}&access_token=${fan.token}&user_id=blogowner` });
      expect([ok.status, ok.json().thing.id]).toEqual([200, thing.id]);
    });

    it('never in a JSON body', async () => {
      const fan = await person(['flattr']);
      const res = await call('POST', '/flattr', { token: fan.token, json: { url: `http://flattr.com/submit/auto?url=${inner}`, user_id: 'someoneelse' } });
      expect([res.status, res.json().thing.id]).toEqual([200, thing.id]);
    });

    it('but not when the url came from the body and the unknown parameters sit in the query string', async () => {
      const fan = await person(['flattr']);
      const res = await call('POST', '/flattr?user_id=someoneelse', { token: fan.token, form: `url=http://flattr.com/submit/auto?url=${encodeURIComponent(inner)}` });
      expect([res.status, res.json().thing.id]).toEqual([200, thing.id]);
    });
  });

  it('needs a token with scope flattr', async () => {
    const { token } = await person(['thing']);
    expectError(await call('POST', '/flattr', { json: { url: 'https://e16.example/0' } }), 401, unauthorized(), NO_TOKEN);
    expectError(await call('POST', '/flattr', { token, json: { url: 'https://e16.example/0' } }), 403, insufficientScope(), scopeHeader('flattr'));
  });
});

describe('subscriptions (E17–E20)', () => {
  let owner: { user: UserEntity; token: string };
  let fan: { user: UserEntity; token: string };
  let first: ThingEntity;
  let second: ThingEntity;

  beforeAll(async () => {
    app.clock.set('2026-03-10T12:00:00Z');
    owner = await person();
    fan = await person(['flattr', 'email']);
    first = await fx.thing(owner.user, { url: 'https://subs.example/1', title: 'First' });
    second = await fx.thing(owner.user, { url: 'https://subs.example/2', title: 'Second' });
  });

  it('E18 subscribes: 200 and the subscribe body, without flattring (12.6)', async () => {
    app.clock.set('2026-03-10T12:00:00Z');
    const res = await call('POST', `/things/${first.id}/subscriptions`, { token: fan.token });
    expect({ status: res.status, headers: headersOf(res), body: res.json() }).toEqual({
      status: 200,
      headers: JSON_HEADERS,
      body: { message: 'ok', description: 'Successfully subscribed to Thing', thing: miniActionThing(first, 0) },
    });
    app.clock.set('2026-03-11T12:00:00Z');
    const form = await call('POST', `/things/${second.id}/subscriptions`, { token: fan.token, form: 'whatever=1' });
    expect([form.status, form.json().thing.id]).toEqual([200, second.id]);
  });

  it('E18 refuses a second subscription, the owner and unknown things, changing nothing', async () => {
    const before = await counts();
    expectError(await call('POST', `/things/${first.id}/subscriptions`, { token: fan.token }), 403, error('subscribed', 'User already subscribed to thing', 'subscriptions'));
    expectError(await call('POST', `/things/${first.id}/subscriptions`, { token: owner.token }), 403, error('thing_owner', 'You are not allowed to subscribe to your own thing', 'subscriptions'));
    expectError(await call('POST', '/things/987654/subscriptions', { token: fan.token }), 404, error('not_found', NO_THING, 'subscriptions'));
    expect(await counts()).toEqual(before);
  });

  it('E17 lists the caller’s subscriptions newest first, with full things rendered for the caller', async () => {
    const res = await call('GET', '/user/subscriptions?count=1&page=2', { token: fan.token });
    expect(res.status).toBe(200);
    expect(res.headers.etag).toMatch(/^"/);
    const thingFor = (thing: ThingEntity, title: string) => ({
      type: 'thing',
      resource: `${api}/things/${thing.id}`,
      link: `${site}/thing/${thing.id}`,
      id: thing.id,
      url: thing.url,
      flattrs: 0,
      flattrs_user_count: 0,
      title,
      description: '',
      tags: [],
      language: 'en_GB',
      category: 'rest',
      created_at: unix('2026-03-10T12:00:00Z'),
      owner: { type: 'user', resource: `${api}/users/${owner.user.username}`, link: `${site}/profile/${owner.user.username}`, username: owner.user.username },
      hidden: false,
      image: '',
      flattred: false,
      subscribed: true,
    });
    expect(res.json()).toEqual([
      { type: 'subscription', active: true, created_at: unix('2026-03-11T12:00:00Z'), started_at: unix('2026-03-11T12:00:00Z'), thing: thingFor(second, 'Second') },
      { type: 'subscription', active: true, created_at: unix('2026-03-10T12:00:00Z'), started_at: unix('2026-03-10T12:00:00Z'), thing: thingFor(first, 'First') },
    ]);
    const full = await call('GET', '/user/subscriptions?full', { token: fan.token });
    expect(full.json()[0].thing.owner).toEqual({
      type: 'user',
      resource: `${api}/users/${owner.user.username}`,
      link: `${site}/profile/${owner.user.username}`,
      username: owner.user.username,
      firstname: '',
      lastname: '',
      avatar: '',
      about: '',
      city: '',
      country: '',
      url: '',
    });
    const xml = await call('GET', '/user/subscriptions.xml', { token: fan.token });
    expect(xml.text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<subscriptions type="array">\n {2}<subscription>\n {4}<type>subscription<\/type>\n {4}<active type="boolean">true<\/active>/);
    const none = await call('GET', '/user/subscriptions', { token: owner.token });
    expect([none.status, none.json()]).toEqual([200, []]);
  });

  it('E19 toggles between paused and started; started_at moves only on resume (D43)', async () => {
    app.clock.set('2026-03-15T12:00:00Z');
    const paused = await call('PUT', `/things/${first.id}/subscriptions`, { token: fan.token, json: { active: true } });
    expect({ status: paused.status, headers: headersOf(paused), body: paused.json() }).toEqual({
      status: 200,
      headers: JSON_HEADERS,
      body: { message: 'paused', description: 'Subscription paused' },
    });
    let listed = (await call('GET', '/user/subscriptions', { token: fan.token })).json();
    expect(listed[1]).toMatchObject({ active: false, started_at: unix('2026-03-10T12:00:00Z'), thing: { id: first.id, subscribed: true } });
    app.clock.set('2026-03-16T12:00:00Z');
    const started = await call('POST', `/things/${first.id}/subscriptions`, { token: fan.token, form: '_method=put' });
    expect([started.status, started.json()]).toEqual([200, { message: 'started', description: 'Subscription started' }]);
    listed = (await call('GET', '/user/subscriptions', { token: fan.token })).json();
    expect(listed[1]).toMatchObject({ active: true, created_at: unix('2026-03-10T12:00:00Z'), started_at: unix('2026-03-16T12:00:00Z') });
    const yaml = await call('POST', `/things/${first.id}/subscriptions.yaml?_method=PUT`, { token: fan.token });
    expect([yaml.headers['content-type'], parseYaml(yaml.text)]).toEqual(['application/yaml; charset=utf-8', { message: 'paused', description: 'Subscription paused' }]);
  });

  it('E19 answers 404 without a thing or a subscription', async () => {
    const before = await counts();
    expectError(await call('PUT', '/things/987654/subscriptions', { token: fan.token }), 404, error('not_found', NO_THING, 'subscriptions'));
    expectError(await call('PUT', `/things/${first.id}/subscriptions`, { token: owner.token }), 404, error('not_found', 'No subscription was found', 'subscriptions'));
    expect(await counts()).toEqual(before);
  });

  it('E20 unsubscribes: 204 with no body; then 404 "No subscription was found"', async () => {
    const before = await counts();
    const res = await call('DELETE', `/things/${second.id}/subscriptions`, { token: fan.token });
    expect({ status: res.status, text: res.text, headers: headersOf(res) }).toEqual({ status: 204, text: '', headers: CORS });
    expect(await counts()).toEqual({ ...before, subscriptions: before.subscriptions - 1 });
    expectError(await call('DELETE', `/things/${second.id}/subscriptions`, { token: fan.token }), 404, error('not_found', 'No subscription was found', 'subscriptions'));
    expectError(await call('DELETE', '/things/987654/subscriptions', { token: fan.token }), 404, error('not_found', NO_THING, 'subscriptions'));
    const viaPost = await call('POST', `/things/${first.id}/subscriptions`, { token: fan.token, json: { _method: 'delete' } });
    expect([viaPost.status, viaPost.text]).toEqual([204, '']);
    expect(await counts()).toEqual({ ...before, subscriptions: before.subscriptions - 2 });
  });

  it('all need a token with scope flattr', async () => {
    const thingOnly = await person(['thing', 'email', 'extendedread']);
    const before = await counts();
    const routes: [string, string][] = [
      ['GET', '/user/subscriptions'],
      ['POST', `/things/${first.id}/subscriptions`],
      ['PUT', `/things/${first.id}/subscriptions`],
      ['DELETE', `/things/${first.id}/subscriptions`],
    ];
    for (const [method, path] of routes) {
      expectError(await call(method, path), 401, unauthorized(), NO_TOKEN);
      expectError(await call(method, path, { token: thingOnly.token }), 403, insufficientScope(), scopeHeader('flattr'));
    }
    expect(await counts()).toEqual(before);
  });
});

describe('write answers', () => {
  it('are not JSONP-wrapped and carry no ETag', async () => {
    const owner = await person();
    const res = await call('POST', '/things?jsonp=cb', { token: owner.token, json: { url: 'https://answers.example/jsonp' } });
    expect([res.status, res.headers['content-type'], res.headers.etag, res.json().message]).toEqual([201, 'application/json; charset=utf-8', undefined, 'ok']);
  });

  it('send Cache-Control: private when the token came in the query string', async () => {
    const owner = await person();
    const res = await call('POST', `/things?access_token=${owner.token}`, { json: { url: 'https://answers.example/private' } });
    expect([res.status, res.headers['cache-control']]).toEqual([201, 'private']);
  });
});
