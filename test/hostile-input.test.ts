import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import { createClient } from '../src/services/oauth-clients.js';
import { Thing } from '../src/entities/index.js';

/**
 * Issue 14: the answers to the hostile inputs the issue names, exactly as a client sees them. How their cost grows
 * is test/blocking-growth.test.ts's business; here: what comes back, and what is (not) stored.
 */

let app: TestApp;
let token: string;
let thingId: number;
let clientId: string;
let bobToken: string;

const DOCS = 'http://developers.flattr.net';

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '1000000' }, { countQueries: false });
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice', balanceCents: 500 } as never);
  thingId = (await fx.thing(alice, { url: 'https://example.org/post', title: 'Post', tags: ['blog'] })).id;
  token = await fx.token(alice, ['flattr', 'thing']);
  bobToken = await fx.token(await fx.user({ username: 'bob', balanceCents: 500 } as never), ['flattr']);
  clientId = (await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'App', callbackUrls: ['https://app.example/cb'] })).client.clientId;
});
afterAll(() => app?.close());

function rest(method: string, path: string, body: unknown): Promise<HttpResult> {
  return request(app.baseUrl, `/rest/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function graphql(query: string, variables: unknown): Promise<HttpResult> {
  return request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
}

const validation = (description: string) => ({ error: 'validation', error_description: description, error_uri: `${DOCS}/api/resources/things/` });
const tagList = (n: number) => Array.from({ length: n }, (_, i) => `tag${i}`);
const thingCount = () => app.orm.em.fork().count(Thing, {});

describe('the 300,000-`<` description found by the fuzzer', () => {
  it('is refused as too long, and nothing is stored', async () => {
    const before = await thingCount();
    const res = await rest('POST', '/things', { url: 'https://example.org/lt', description: '<'.repeat(300_000) });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual(validation('Description is too long'));
    expect(await thingCount()).toBe(before);
  });

  it('a 1 MiB title of `<` is "Title is too long", through REST and GraphQL', async () => {
    const title = '<'.repeat(1024 * 1024 - 100);
    const res = await rest('POST', '/things', { url: 'https://example.org/lt-title', title });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual(validation('Title is too long'));
    const gql = await graphql('mutation ($i: ThingInput!) { createThing(input: $i) { __typename ... on MutationError { code message } } }', {
      i: { url: 'https://example.org/lt-gql', title: '<'.repeat(1024 * 1000) },
    });
    expect(gql.json().data.createThing).toEqual({ __typename: 'MutationError', code: 'VALIDATION', message: 'Title is too long' });
  });

  it('markup around a valid title still cleans down to it', async () => {
    const res = await rest('POST', '/things', { url: 'https://example.org/markup', title: `${'<span class="x">'.repeat(60)}Hello${'</span>'.repeat(60)}` });
    expect(res.status).toBe(201);
    const show = await request(app.baseUrl, `/rest/v2/things/${res.json().id}`);
    expect(show.json().title).toBe('Hello');
  });
});

describe('at most 100 tags per thing', () => {
  it('POST /things with 100 tags is created; with 101 it is "Too many tags" and nothing is stored', async () => {
    const ok = await rest('POST', '/things', { url: 'https://example.org/tags-100', tags: tagList(100) });
    expect(ok.status).toBe(201);
    expect((await request(app.baseUrl, `/rest/v2/things/${ok.json().id}`)).json().tags).toEqual(tagList(100));
    const before = await thingCount();
    for (const tags of [tagList(101), tagList(101).join(','), tagList(90_000).join(',')]) {
      const res = await rest('POST', '/things', { url: 'https://example.org/tags-101', tags });
      expect(res.status).toBe(400);
      expect(res.json()).toEqual(validation('Too many tags'));
    }
    expect(await thingCount()).toBe(before);
  });

  it('tags are counted after normalisation: duplicates in any case and empties do not count', async () => {
    const tags = [...tagList(100), 'TAG0', ' tag1 ', '', 'Tag99'].join(',');
    const res = await rest('POST', '/things', { url: 'https://example.org/tags-dupes', tags });
    expect(res.status).toBe(201);
  });

  it('"Too many tags" comes in the tags position of the check order', async () => {
    // Before it: an unknown language is reported first. After it: an unreadable hidden.
    const language = await rest('POST', '/things', { url: 'https://example.org/order', language: 'xx', tags: tagList(101) });
    expect(language.json()).toEqual(validation('Invalid language'));
    const hidden = await rest('POST', '/things', { url: 'https://example.org/order', tags: tagList(101), hidden: 'maybe' });
    expect(hidden.json()).toEqual(validation('Too many tags'));
  });

  it('PATCH /things/:id with 101 tags is refused and leaves the tags as they were', async () => {
    const res = await rest('PATCH', `/things/${thingId}`, { tags: tagList(101) });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual(validation('Too many tags'));
    expect((await request(app.baseUrl, `/rest/v2/things/${thingId}`)).json().tags).toEqual(['blog']);
  });

  it('GraphQL createThing and updateThing answer the same MutationError', async () => {
    const create = await graphql('mutation ($i: ThingInput!) { createThing(input: $i) { ... on MutationError { code message } } }', {
      i: { url: 'https://example.org/gql-tags', tags: tagList(101) },
    });
    expect(create.json().data.createThing).toEqual({ code: 'VALIDATION', message: 'Too many tags' });
    const update = await graphql('mutation ($p: ThingPatch!) { updateThing(id: "' + Buffer.from(`Thing:${thingId}`).toString('base64') + '", patch: $p) { ... on MutationError { code message } } }', {
      p: { tags: tagList(101) },
    });
    expect(update.json().data.updateThing).toEqual({ code: 'VALIDATION', message: 'Too many tags' });
  });

  it('an auto-submit URL with 150 tags creates its thing with the first 100', async () => {
    const inner = 'https://example.org/auto-tags';
    const url = `https://flattr.com/submit/auto?user_id=alice&url=${encodeURIComponent(inner)}&tags=${encodeURIComponent(tagList(150).join(','))}`;
    const res = await request(app.baseUrl, '/rest/v2/flattr', {
      method: 'POST',
      headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    expect(res.status).toBe(200);
    const thing = await app.orm.em.fork().findOneOrFail(Thing, { url: inner });
    expect(thing.tags).toEqual(tagList(100));
  });
});

describe('JSON bodies nested deeper than 64 levels are refused before parsing', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('REST: 400 invalid_request with the catalogue text; 64 levels are still read', async () => {
    const deep = await rest('POST', '/things', `{"url":"https://example.org/deep","tags":${nested(100_000)}}`);
    expect(deep.status).toBe(400);
    expect(deep.json()).toEqual({ error: 'invalid_request', error_description: 'The request is invalid', error_uri: `${DOCS}/api/` });
    // 64 levels in all (the body object is one): read, then refused for what the tags are.
    const at = await rest('POST', '/things', `{"url":"https://example.org/deep","tags":${nested(63)}}`);
    expect(at.json().error).toBe('invalid_parameters');
    // Brackets inside strings are text, not nesting.
    const inString = await rest('POST', '/things', { url: 'https://example.org/brackets', title: '['.repeat(1000) });
    expect(inString.json()).toEqual(validation('Title is too long'));
  });

  it('OAuth token endpoint: 400 invalid_request', async () => {
    const res = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{"grant_type":"authorization_code","code":${nested(100_000)}}`,
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', error_description: 'The request is invalid' });
  });

  it('GraphQL: 400 BAD_REQUEST, before the variables are parsed', async () => {
    const res = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: `{"query":"mutation ($p: ThingPatch!) { updateThing(id: 1, patch: $p) { __typename } }","variables":{"p":{"tags":${nested(100_000)}}}}`,
    });
    expect(res.status).toBe(400);
    expect(res.json().errors).toEqual([
      expect.objectContaining({ message: 'POST body nests arrays and objects deeper than 64 levels.', extensions: expect.objectContaining({ code: 'BAD_REQUEST' }) }),
    ]);
    // Ordinary bodies are read as before, invalid JSON answered as before.
    const ok = await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(ok.json()).toMatchObject({ data: { __typename: 'Query' } });
    const broken = await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"query":' });
    expect(broken.status).toBe(400);
    expect(broken.json().errors[0].message).toBe('POST body sent invalid JSON.');
  });
});

describe('identifiers longer than any stored one are not looked up', () => {
  it('a megabyte client_id is an unknown client', async () => {
    const res = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code=x&client_id=${'a'.repeat(1000 * 1000)}&client_secret=x`,
    });
    expect(res.status).toBe(401);
    expect(res.json().error).toBe('invalid_client');
    // The real one is still found.
    const real = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code=x&client_id=${clientId}&client_secret=wrong`,
    });
    expect(real.json().error).toBe('invalid_client');
  });
});
