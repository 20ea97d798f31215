import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import { Thing } from '../src/entities/index.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/** Request bodies (spec §4.2, §4.4, D15–D19), the method override (D4) and where body failures rank (§6.5). */

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let bob: UserEntity;
let token: string;
let flattrOnly: string;
let api: string;

const DOCS = 'http://developers.flattr.net';
const MIB = 1024 * 1024;
let urlCounter = 0;
const freshUrl = () => `https://bodies.example/${++urlCounter}`;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  alice = await fx.user({ username: 'alice', balanceCents: 1000 } as Partial<UserEntity>);
  bob = await fx.user({ username: 'bob', balanceCents: 1000 } as Partial<UserEntity>);
  token = await fx.token(alice, ['thing', 'flattr']);
  flattrOnly = await fx.token(alice, ['flattr']);
});
afterAll(() => app?.close());

const auth = (t = token) => ({ Authorization: `Bearer ${t}` });

function post(path: string, body: BodyInit | undefined, headers: Record<string, string> = {}, method = 'POST'): Promise<HttpResult> {
  return request(app.baseUrl, `/rest/v2${path}`, { method, headers: { ...auth(), ...headers }, body });
}

const json = (path: string, value: unknown, headers: Record<string, string> = {}, method = 'POST') =>
  post(path, JSON.stringify(value), { 'Content-Type': 'application/json', ...headers }, method);

const form = (path: string, text: string, headers: Record<string, string> = {}, method = 'POST') =>
  post(path, text, { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, method);

/** A request through node:http, for what fetch refuses to send (a GET with a body, a body without Content-Type). */
function rawRequest(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.baseUrl}/rest/v2${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function stored(id: number): Promise<ThingEntity> {
  return (await app.orm.em.fork().findOneOrFail(Thing, id)) as ThingEntity;
}

async function thingCount(): Promise<number> {
  return app.orm.em.fork().count(Thing, {});
}

const error = (code: string, description: string, family: string | null = null) => ({
  error: code,
  error_description: description,
  error_uri: family ? `${DOCS}/api/resources/${family}/` : `${DOCS}/api/`,
});

const INVALID_PARAMETERS = error('invalid_parameters', 'One or many parameters are missing or invalid', 'things');
const MALFORMED = error('invalid_request', 'Malformed JSON body');

async function created(res: HttpResult): Promise<ThingEntity> {
  expect([res.status, res.text]).toEqual([201, expect.any(String)]);
  return stored(res.json().id);
}

describe('JSON bodies (§4.2)', () => {
  it('are read as UTF-8 whatever the charset parameter says', async () => {
    const url = freshUrl();
    const res = await post('/things', JSON.stringify({ url, title: 'Grüße 👋', tags: 'ä,b' }), { 'Content-Type': 'application/json; charset=ISO-8859-1' });
    const thing = await created(res);
    expect([thing.url, thing.title, thing.tags]).toEqual([url, 'Grüße 👋', ['ä', 'b']]);
  });

  it('turn numbers and booleans given for string parameters into their JSON text, and read JSON booleans and 1/0', async () => {
    const res = await json('/things', { url: freshUrl(), title: 123, description: true, tags: 7, hidden: 1 });
    const thing = await created(res);
    expect([thing.title, thing.description, thing.tags, thing.hidden]).toEqual(['123', 'true', ['7'], true]);
    const res2 = await json('/things', { url: freshUrl(), title: 1.5, hidden: false });
    const thing2 = await created(res2);
    expect([thing2.title, thing2.hidden]).toEqual(['1.5', false]);
    const res3 = await json('/things', { url: freshUrl(), hidden: 0 });
    expect((await created(res3)).hidden).toBe(false);
  });

  it('treat null as an absent parameter, so the query string’s value or the default applies', async () => {
    const url = freshUrl();
    const thing = await created(await json('/things', { url, title: null, description: null, tags: null, hidden: null }));
    expect([thing.title, thing.description, thing.tags, thing.hidden]).toEqual([url, '', [], false]);
    const fromQuery = await created(await json('/things?title=From%20query', { url: freshUrl(), title: null }));
    expect(fromQuery.title).toBe('From query');
  });

  it('accept tags as an array of strings (D19) and reject an array holding anything else', async () => {
    const thing = await created(await json('/things', { url: freshUrl(), tags: [' api ', 'Flattr', '', 'flattr', 'API'] }));
    expect(thing.tags).toEqual(['api', 'Flattr']);
    const before = await thingCount();
    for (const tags of [['ok', 3], [null], [['nested']], [{ a: 1 }], [true]]) {
      const res = await json('/things', { url: freshUrl(), tags });
      expect([JSON.stringify(tags), res.status, res.json()]).toEqual([JSON.stringify(tags), 400, INVALID_PARAMETERS]);
    }
    expect(await thingCount()).toBe(before);
  });

  it('answer 400 invalid_parameters for any other nested value', async () => {
    const before = await thingCount();
    const cases: Record<string, unknown>[] = [
      { url: freshUrl(), title: { text: 'x' } },
      { url: freshUrl(), title: ['x'] },
      { url: [freshUrl()] },
      { url: freshUrl(), description: {} },
      { url: freshUrl(), category: ['text'] },
      { url: freshUrl(), language: { id: 'en_GB' } },
      { url: freshUrl(), hidden: [true] },
      { url: freshUrl(), hidden: {} },
      { url: freshUrl(), tags: { a: 'b' } },
    ];
    for (const body of cases) {
      const res = await json('/things', body);
      expect([body, res.status, res.json()]).toEqual([body, 400, INVALID_PARAMETERS]);
    }
    expect(await thingCount()).toBe(before);
  });

  it('ignore nested values of parameters the endpoint does not read', async () => {
    const res = await json('/things', { url: freshUrl(), extra: { anything: [1, 2] }, more: [{}] });
    expect(res.status).toBe(201);
  });

  it('must hold a JSON object: anything else is 400 invalid_request "Malformed JSON body"', async () => {
    const before = await thingCount();
    for (const text of ['{"url":', '[]', `[{"url":"${freshUrl()}"}]`, '"https://bodies.example/x"', '42', 'true', 'null', '{"a":1} {"b":2}', "{'url':'x'}", 'url=https://x.example']) {
      const res = await post('/things', text, { 'Content-Type': 'application/json' });
      expect([text, res.status, res.json()]).toEqual([text, 400, MALFORMED]);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    }
    expect(await thingCount()).toBe(before);
  });

  it('render a body failure in the negotiated format', async () => {
    const res = await post('/things.xml', '{', { 'Content-Type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(res.text).toContain('<error_description>Malformed JSON body</error_description>');
  });
});

describe('empty bodies (§4.2)', () => {
  it('mean no body parameters, not an error, even with Content-Type: application/json', async () => {
    for (const text of ['', ' ', '\r\n\t  \n']) {
      const url = freshUrl();
      const res = await post(`/things?url=${encodeURIComponent(url)}&title=Q`, text, { 'Content-Type': 'application/json' });
      const thing = await created(res);
      expect([thing.url, thing.title]).toEqual([url, 'Q']);
    }
    const noUrl = await post('/things', '  ', { 'Content-Type': 'application/json' });
    expect([noUrl.status, noUrl.json()]).toEqual([400, error('validation', 'Invalid url', 'things')]);
  });

  it('are fine with any content type, or none', async () => {
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      const res = await post(`/things?url=${encodeURIComponent(freshUrl())}`, '', { 'Content-Type': type });
      expect([type, res.status]).toEqual([type, 201]);
    }
    const res = await rawRequest('POST', `/things?url=${encodeURIComponent(freshUrl())}`, { ...auth(), 'Content-Length': '0' });
    expect(res.status).toBe(201);
  });

  it('are accepted on a flattr with Content-Type: application/json', async () => {
    const thing = await fx.thing(bob);
    const res = await post(`/things/${thing.id}/flattr`, '', { 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
  });
});

describe('form bodies (§4.2)', () => {
  it('are decoded like the query string: + is a space, first occurrence wins, empty values are kept', async () => {
    const url = freshUrl();
    const res = await form('/things', `url=${encodeURIComponent(url)}&title=First+title%21&title=Second&tags=a,%20b,,c&description=&hidden=ON`);
    const thing = await created(res);
    expect([thing.url, thing.title, thing.tags, thing.description, thing.hidden]).toEqual([url, 'First title!', ['a', 'b', 'c'], '', true]);

    const updated = await form(`/things/${thing.id}`, 'description=&tags=&_method=patch');
    expect(updated.status).toBe(200);
    await form(`/things/${thing.id}`, 'description=Something&_method=patch');
    expect((await stored(thing.id)).description).toBe('Something');
    await form(`/things/${thing.id}`, 'description=&_method=patch');
    expect((await stored(thing.id)).description).toBe('');
  });

  it('ignore the charset parameter and the letter case of the media type', async () => {
    const url = freshUrl();
    const res = await form('/things', `url=${encodeURIComponent(url)}&title=caf%C3%A9`, { 'Content-Type': 'Application/X-WWW-Form-URLEncoded; charset=UTF-8' });
    expect((await created(res)).title).toBe('café');
  });

  it('are assumed when a non-empty body comes without Content-Type (D15)', async () => {
    const url = freshUrl();
    const body = Buffer.from(`url=${encodeURIComponent(url)}&title=No+type`);
    const res = await rawRequest('POST', '/things', { ...auth(), 'Content-Length': String(body.length) }, body);
    const thing = await created(res);
    expect([thing.url, thing.title]).toEqual([url, 'No type']);
    // fetch sends no Content-Type for a byte body either.
    const viaFetch = await post('/things', new TextEncoder().encode(`url=${encodeURIComponent(freshUrl())}`));
    expect(viaFetch.status).toBe(201);
  });

  it('carry the access token (D11)', async () => {
    const res = await request(app.baseUrl, '/rest/v2/things', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `access_token=${token}&url=${encodeURIComponent(freshUrl())}`,
    });
    expect(res.status).toBe(201);
  });
});

describe('other bodies (§4.2, D16)', () => {
  it('answer 400 invalid_request "Unsupported content type" for any other type with a body', async () => {
    const before = await thingCount();
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/vnd.api+json', 'text/json', 'application/json-patch+json']) {
      const res = await post('/things', `url=${encodeURIComponent(freshUrl())}`, { 'Content-Type': type });
      expect([type, res.status, res.json()]).toEqual([type, 400, error('invalid_request', 'Unsupported content type')]);
    }
    expect(await thingCount()).toBe(before);
  });

  it('answer 400 invalid_request for bytes that are not UTF-8, in JSON and form bodies', async () => {
    const before = await thingCount();
    const url = freshUrl();
    const jsonBytes = Buffer.concat([Buffer.from(`{"url":"${url}","title":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const res = await post('/things', jsonBytes, { 'Content-Type': 'application/json' });
    expect([res.status, res.json()]).toEqual([400, error('invalid_request', 'The request is invalid')]);
    const formBytes = Buffer.concat([Buffer.from(`url=${encodeURIComponent(url)}&title=`), Buffer.from([0xff, 0xfe])]);
    const res2 = await post('/things', formBytes, { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect([res2.status, res2.json()]).toEqual([400, error('invalid_request', 'The request is invalid')]);
    expect(await thingCount()).toBe(before);
  });

  it('answer 400 invalid_request "Request body too large" above 1 MiB, with or without Content-Length', async () => {
    const before = await thingCount();
    const head = `{"url":"${freshUrl()}","description":"`;
    const tail = '"}';
    const exact = head + 'x'.repeat(MIB - head.length - tail.length) + tail;
    expect(Buffer.byteLength(exact)).toBe(MIB);
    const over = exact.slice(0, -2) + 'x' + tail;
    expect(Buffer.byteLength(over)).toBe(MIB + 1);

    const tooLarge = await post('/things', over, { 'Content-Type': 'application/json' });
    expect([tooLarge.status, tooLarge.json()]).toEqual([400, error('invalid_request', 'Request body too large')]);

    // Chunked: no Content-Length, so the limit is found while reading.
    const chunks = [Buffer.from(over.slice(0, 500_000)), Buffer.from(over.slice(500_000))];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const chunked = await request(app.baseUrl, '/rest/v2/things', {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { headers: Record<string, string> });
    expect([chunked.status, chunked.json()]).toEqual([400, error('invalid_request', 'Request body too large')]);
    expect(await thingCount()).toBe(before);

    // Exactly 1 MiB is still read; the description is then too long for the domain, which proves it was parsed.
    const atLimit = await post('/things', exact, { 'Content-Type': 'application/json' });
    expect([atLimit.status, atLimit.json()]).toEqual([400, error('validation', 'Description is too long', 'things')]);
  });

  it('are ignored by GET and HEAD, even when malformed or too large', async () => {
    const thing = await fx.thing(bob);
    const get = await rawRequest('GET', `/things/${thing.id}`, { 'Content-Type': 'application/json', 'Content-Length': '1' }, '{');
    expect([get.status, get.json().id]).toEqual([200, thing.id]);
    const head = await rawRequest('HEAD', `/things/${thing.id}`, { 'Content-Type': 'text/plain', 'Content-Length': '5' }, 'hello');
    expect(head.status).toBe(200);
    const big = await rawRequest('GET', `/things/${thing.id}`, { 'Content-Type': 'application/json', 'Content-Length': String(MIB + 10) }, 'x'.repeat(MIB + 10));
    expect([big.status, big.json().id]).toEqual([200, thing.id]);
  });
});

describe('write parameters are the query string and the body together (D17)', () => {
  it('with the body winning a name both carry, for JSON and form bodies', async () => {
    const url = freshUrl();
    const thing = await created(await json(`/things?title=From+query&description=Query+description&url=https%3A%2F%2Fignored.example%2F`, { url, title: 'From body' }));
    expect([thing.url, thing.title, thing.description]).toEqual([url, 'From body', 'Query description']);
    const url2 = freshUrl();
    const thing2 = await created(await form('/things?title=From+query&category=text', `url=${encodeURIComponent(url2)}&title=From+body`));
    expect([thing2.url, thing2.title, thing2.category.id]).toEqual([url2, 'From body', 'text']);
  });

  it('with an empty body value still winning over the query string', async () => {
    const thing = await created(await json('/things', { url: freshUrl(), description: 'old' }));
    const res = await form(`/things/${thing.id}?description=from-query`, 'description=&_method=patch');
    expect(res.status).toBe(200);
    expect((await stored(thing.id)).description).toBe('');
  });
});

describe('body failures come at step 9 of §6.5', () => {
  it('after the route: an unknown route with a malformed body is 404', async () => {
    const res = await post('/nothing_here', '{', { 'Content-Type': 'application/json' });
    expect([res.status, res.json()]).toEqual([404, error('not_found', 'The resource was not found')]);
    const getOnly = await post('/categories', '{', { 'Content-Type': 'application/json' });
    expect(getOnly.status).toBe(404);
  });

  it('after the token and the format: an invalid token is 401, an unacceptable format 406', async () => {
    const invalid = await post('/things', '{', { 'Content-Type': 'application/json', Authorization: 'Bearer nope' });
    expect([invalid.status, invalid.json().error_description]).toEqual([401, 'The access token is invalid']);
    const notAcceptable = await post('/things', '{', { 'Content-Type': 'application/json', Accept: 'text/html' });
    expect([notAcceptable.status, notAcceptable.json().error]).toEqual([406, 'not_acceptable']);
  });

  it('before authentication and scope', async () => {
    const anonymous = await request(app.baseUrl, '/rest/v2/things', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
    expect([anonymous.status, anonymous.json()]).toEqual([400, error('invalid_request', 'Unsupported content type')]);
    const wrongScope = await post('/things', '[1]', { 'Content-Type': 'application/json', ...auth(flattrOnly) });
    expect([wrongScope.status, wrongScope.json()]).toEqual([400, MALFORMED]);
  });

  it('even where the endpoint ignores its body (E15)', async () => {
    const thing = await fx.thing(bob);
    const res = await post(`/things/${thing.id}/flattr`, '{"oops"', { 'Content-Type': 'application/json' });
    expect([res.status, res.json()]).toEqual([400, MALFORMED]);
    const ignored = await json(`/things/${thing.id}/flattr`, { anything: { nested: true } });
    expect(ignored.status).toBe(200);
  });
});

describe('method override (D4)', () => {
  let thing: ThingEntity;
  beforeAll(async () => {
    thing = await fx.thing(alice, { title: 'Override me' });
  });

  const title = async () => (await stored(thing.id)).title;

  it('takes `_method` from a form body, a JSON body, the query string or the header, in any letter case', async () => {
    expect((await form(`/things/${thing.id}`, 'title=One&_method=patch')).status).toBe(200);
    expect(await title()).toBe('One');
    expect((await json(`/things/${thing.id}`, { title: 'Two', _method: 'PATCH' })).status).toBe(200);
    expect(await title()).toBe('Two');
    expect((await json(`/things/${thing.id}?_method=PaTcH`, { title: 'Three' })).status).toBe(200);
    expect(await title()).toBe('Three');
    expect((await json(`/things/${thing.id}`, { title: 'Four' }, { 'X-HTTP-Method-Override': 'patch' })).status).toBe(200);
    expect(await title()).toBe('Four');
  });

  it('prefers the body `_method`, then the query `_method`, then the header', async () => {
    const bodyFirst = await form(`/things/${thing.id}?_method=delete`, 'title=Five&_method=patch', { 'X-HTTP-Method-Override': 'DELETE' });
    expect([bodyFirst.status, bodyFirst.json()]).toEqual([200, { message: 'ok', description: 'Thing was updated correctly' }]);
    expect(await title()).toBe('Five');
    const queryNext = await json(`/things/${thing.id}?_method=patch`, { title: 'Six' }, { 'X-HTTP-Method-Override': 'DELETE' });
    expect(queryNext.status).toBe(200);
    expect(await title()).toBe('Six');
  });

  it('leaves a POST alone when `_method` names another method', async () => {
    for (const value of ['get', 'post', 'options', 'patchy', '']) {
      const res = await form(`/things/${thing.id}`, `title=Nope&_method=${value}`);
      expect([value, res.status, res.json()]).toEqual([value, 404, error('not_found', 'The resource was not found')]);
    }
    expect(await title()).toBe('Six');
  });

  it('only overrides POST', async () => {
    const patch = await json(`/things/${thing.id}?_method=delete`, { title: 'Seven', _method: 'delete' }, { 'X-HTTP-Method-Override': 'DELETE' }, 'PATCH');
    expect(patch.status).toBe(200);
    expect(await title()).toBe('Seven');
    const get = await request(app.baseUrl, `/rest/v2/things/${thing.id}?_method=delete`, { headers: { ...auth(), 'X-HTTP-Method-Override': 'DELETE' } });
    expect([get.status, get.json().title]).toEqual([200, 'Seven']);
    const put = await request(app.baseUrl, `/rest/v2/things/${thing.id}?_method=patch`, { method: 'PUT', headers: auth() });
    expect([put.status, put.json()]).toEqual([404, error('not_found', 'The resource was not found')]);
  });

  it('uses only the query `_method` and the header when the body could not be parsed', async () => {
    // POST /things/:id is no route; overridden to DELETE it is, so the body failure is what gets reported.
    const res = await post(`/things/${thing.id}?_method=delete`, '{"_method":"patch"', { 'Content-Type': 'application/json' });
    expect([res.status, res.json()]).toEqual([400, MALFORMED]);
    const viaHeader = await post(`/things/${thing.id}`, '{"_method":"patch"', { 'Content-Type': 'application/json', 'X-HTTP-Method-Override': 'PATCH' });
    expect([viaHeader.status, viaHeader.json()]).toEqual([400, MALFORMED]);
    const none = await post(`/things/${thing.id}`, '{"_method":"patch"', { 'Content-Type': 'application/json' });
    expect(none.status).toBe(404);
    expect(await stored(thing.id)).toBeTruthy();
  });

  it('reaches DELETE through `_method=delete`', async () => {
    const doomed = await fx.thing(alice);
    const res = await form(`/things/${doomed.id}`, '_method=delete');
    expect([res.status, res.text]).toEqual([204, '']);
    expect(await app.orm.em.fork().findOne(Thing, doomed.id)).toBeNull();
  });
});
