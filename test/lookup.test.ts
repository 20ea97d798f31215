import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { xml2js, type Element } from 'xml-js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { Thing, type ThingEntity, type UserEntity } from '../src/entities/index.js';

/** GET /rest/v2/things/lookup (E7, spec §11.4, §11.5, §8.11) and GraphQL `lookupThing`. */

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let post: ThingEntity;
let hidden: ThingEntity;
let withQuery: ThingEntity;
let encodedQuery: ThingEntity;
let api: string;

const POST_URL = 'http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/';

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  alice = await fx.user({ username: 'Flattr' });
  await fx.user({ username: 'someoneelse' });
  post = await fx.thing(alice, { url: POST_URL, title: 'API v2 beta out' });
  hidden = await fx.thing(alice, { url: 'https://alice.example/hidden', hidden: true });
  withQuery = await fx.thing(alice, { url: 'https://example.org/page?a=1&b=2' });
  encodedQuery = await fx.thing(alice, { url: 'https://example.org/p?x=1&q=a%20b' });
});
afterAll(() => app?.close());

const lookup = (query: string, headers: Record<string, string> = {}) => request(app.baseUrl, `/rest/v2/things/lookup${query}`, { headers });
const found = (thing: ThingEntity) => ({ message: 'found', location: `${api}/things/${thing.id}` });
const NOT_FOUND = {
  message: 'not_found',
  description: 'No thing was found',
  error: 'not_found',
  error_description: 'No thing was found',
  error_uri: 'http://developers.flattr.net/api/resources/things/',
};
const MISMATCH = {
  error: 'validation',
  error_description: 'Owner mismatch. Current thing owned by other account.',
  error_uri: 'http://developers.flattr.net/api/resources/things/',
};
const INVALID = { error: 'invalid_parameters', error_description: 'One or many parameters are missing or invalid', error_uri: 'http://developers.flattr.net/api/resources/things/' };

async function expectFound(query: string, thing: ThingEntity) {
  const res = await lookup(query);
  expect([query, res.status, res.headers.location, res.json()]).toEqual([query, 302, `${api}/things/${thing.id}`, found(thing)]);
}

async function expectNotFound(query: string) {
  const res = await lookup(query);
  expect([query, res.status, res.headers.location, res.json()]).toEqual([query, 404, undefined, NOT_FOUND]);
}

describe('plain urls (§11.5 step 1)', () => {
  it('302 with Location {api}/things/{id} and the found body, keys in order', async () => {
    const res = await lookup(`?url=${encodeURIComponent(POST_URL)}`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${api}/things/${post.id}`);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.text).toBe(JSON.stringify(found(post)));
  });

  it('matches exactly, after trimming', async () => {
    await expectFound(`?url=${encodeURIComponent(`  ${POST_URL}\t`)}`, post);
    await expectNotFound(`?url=${encodeURIComponent(POST_URL.toUpperCase())}`);
    await expectNotFound(`?url=${encodeURIComponent(POST_URL.slice(0, -1))}`);
    await expectNotFound('?url=not-a-url');
  });

  it('finds hidden things too (D47)', async () => {
    await expectFound(`?url=${encodeURIComponent(hidden.url)}`, hidden);
  });

  it('404 with the lookup not-found body (§8.11, D46)', async () => {
    const res = await lookup('?url=https%3A%2F%2Fnowhere.example%2F');
    expect(res.status).toBe(404);
    expect(res.text).toBe(JSON.stringify(NOT_FOUND));
  });

  it('400 invalid_parameters without a url, with an empty one (D14) or a blank one', async () => {
    for (const q of ['', '?url=', '?url=%20%20', '?full=1']) {
      const res = await lookup(q);
      expect([q, res.status, res.json()]).toEqual([q, 400, INVALID]);
    }
  });

  it('answers the same with a trailing slash (D3), with a token, and for HEAD', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/lookup/?url=${encodeURIComponent(POST_URL)}`);
    expect([res.status, res.headers.location]).toEqual([302, `${api}/things/${post.id}`]);
    const token = await fx.token(alice);
    const authed = await lookup(`?url=${encodeURIComponent(POST_URL)}`, { Authorization: `Bearer ${token}` });
    expect([authed.status, authed.json()]).toEqual([302, found(post)]);
    const head = await request(app.baseUrl, `/rest/v2/things/lookup?url=${encodeURIComponent(POST_URL)}`, { method: 'HEAD' });
    expect([head.status, head.headers.location, head.text]).toEqual([302, `${api}/things/${post.id}`, '']);
  });
});

describe('formats', () => {
  it('XML and YAML bodies under the root <response>; the Location never carries the suffix (D51)', async () => {
    const xml = await lookup(`.xml?url=${encodeURIComponent(POST_URL)}`);
    expect([xml.status, xml.headers.location, xml.headers['content-type']]).toEqual([302, `${api}/things/${post.id}`, 'text/xml; charset=utf-8']);
    expect(xml.text).toBe(`<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <message>found</message>\n  <location>${api}/things/${post.id}</location>\n</response>`);
    const yaml = await lookup(`?url=${encodeURIComponent(POST_URL)}`, { Accept: 'text/yaml' });
    expect(yaml.text).toBe(`---\nmessage: "found"\nlocation: "${api}/things/${post.id}"\n`);

    const missingXml = await lookup('.xml?url=https%3A%2F%2Fnowhere.example%2F');
    expect(missingXml.status).toBe(404);
    expect(readXml(missingXml.text)).toEqual({ root: 'response', value: NOT_FOUND });
    const missingYaml = await lookup('.yaml?url=https%3A%2F%2Fnowhere.example%2F');
    expect(missingYaml.text.split('\n').slice(0, 3)).toEqual(['---', 'message: "not_found"', 'description: "No thing was found"']);
    expect(parseYaml(missingYaml.text)).toEqual(NOT_FOUND);
  });
});

describe('auto-submit urls (§11.5 step 2)', () => {
  const autoSubmit = (params: Record<string, string>, base = 'https://flattr.com/submit/auto') => `${base}?${new URLSearchParams(params)}`;

  it('resolves a properly encoded auto-submit url (§16.3)', async () => {
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ url: POST_URL, user_id: 'flattr' }))}`, post);
  });

  it('needs no user_id (D67), compares user_id case-insensitively, ignores the metadata', async () => {
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ url: POST_URL }))}`, post);
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ user_id: ' FLATTR ', url: ` ${POST_URL} `, title: 'Other', tags: 'x,y' }))}`, post);
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ url: POST_URL, user_id: '' }))}`, post);
  });

  it('recognises www.flattr.com, http, /submit/auto/ and the SITE_URL authority (§11.2)', async () => {
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ url: POST_URL }, 'http://www.flattr.com/submit/auto/'))}`, post);
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ url: POST_URL }, `${app.config.siteUrl}/submit/auto`))}`, post);
  });

  it('finds hidden things through an auto-submit url', async () => {
    await expectFound(`?url=${encodeURIComponent(autoSubmit({ url: hidden.url, user_id: 'flattr' }))}`, hidden);
  });

  it('400 validation "Owner mismatch" when user_id names someone else (§16.3)', async () => {
    for (const user of ['someoneelse', 'nobody-at-all']) {
      const res = await lookup(`?url=${encodeURIComponent(autoSubmit({ url: POST_URL, user_id: user }))}`);
      expect([res.status, res.json()]).toEqual([400, MISMATCH]);
    }
  });

  it('404 for an unregistered inner url, and creates nothing', async () => {
    const before = await app.orm.em.fork().count(Thing, {});
    await expectNotFound(`?url=${encodeURIComponent(autoSubmit({ url: 'https://new.example/', user_id: 'flattr', title: 'New' }))}`);
    expect(await app.orm.em.fork().count(Thing, {})).toBe(before);
  });

  it('400 validation "Invalid url" for a missing or bad inner url', async () => {
    const inners: Record<string, string>[] = [{}, { url: 'not a url' }, { url: 'ftp://x.example/' }];
    for (const inner of inners) {
      const res = await lookup(`?url=${encodeURIComponent(autoSubmit(inner))}`);
      expect([res.status, res.json()]).toEqual([400, { error: 'validation', error_description: 'Invalid url', error_uri: 'http://developers.flattr.net/api/resources/things/' }]);
    }
  });
});

describe('reassembly of unencoded urls (§11.4, D71)', () => {
  it('resolves the docs example, sent without encoding', async () => {
    await expectFound(`?url=http://flattr.com/submit/auto?url=${POST_URL}&user_id=flattr`, post);
    const res = await lookup(`?url=http://flattr.com/submit/auto?url=${POST_URL}&user_id=someoneelse`);
    expect([res.status, res.json()]).toEqual([400, MISMATCH]);
  });

  it('appends the raw text of unknown parameters in order, leaving out the known ones', async () => {
    await expectFound('?url=https://example.org/page?a=1&b=2', withQuery);
    await expectFound('?full=1&url=https://example.org/page?a=1&b=2', withQuery);
    await expectFound('?url=https://example.org/page?a=1&full&b=2&_method=GET', withQuery);
    // Still-encoded text stays encoded: the thing's url holds "%20".
    await expectFound('?url=https://example.org/p?x=1&q=a%20b', encodedQuery);
    // The order of unknown parameters is kept: b before a is another url.
    await expectNotFound('?url=https://example.org/page?b=2&a=1');
  });

  it('keeps jsonp out of the url and wraps the answer (§5.10)', async () => {
    const res = await lookup('?url=https://example.org/page?a=1&jsonp=cb&b=2');
    expect([res.status, res.headers['content-type'], res.text]).toEqual([302, 'application/javascript; charset=utf-8', `/**/cb(${JSON.stringify(found(withQuery))});`]);
  });

  it('leaves a properly encoded request alone', async () => {
    await expectFound(`?url=${encodeURIComponent('https://example.org/page?a=1&b=2')}`, withQuery);
    await expectNotFound(`?url=${encodeURIComponent('https://example.org/page?a=1')}`);
  });

  it('uses the access_token parameter for authentication, not as part of the url', async () => {
    const token = await fx.token(alice);
    await expectFound(`?url=https://example.org/page?a=1&access_token=${token}&b=2`, withQuery);
  });
});

describe('GraphQL lookupThing', () => {
  async function gql(url: string) {
    const res = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'query($url: String!) { lookupThing(url: $url) { databaseId hidden } }', variables: { url } }),
    });
    return res.json();
  }

  it('returns the thing, null, or an error with the REST code', async () => {
    expect((await gql(POST_URL)).data).toEqual({ lookupThing: { databaseId: post.id, hidden: false } });
    expect((await gql(hidden.url)).data).toEqual({ lookupThing: { databaseId: hidden.id, hidden: true } });
    expect((await gql('https://nowhere.example/')).data).toEqual({ lookupThing: null });
    const mismatch = await gql(`https://flattr.com/submit/auto?url=${encodeURIComponent(POST_URL)}&user_id=someoneelse`);
    expect(mismatch.errors[0]).toMatchObject({ message: 'Owner mismatch. Current thing owned by other account.', extensions: { code: 'BAD_USER_INPUT', reason: 'VALIDATION' } });
    const empty = await gql('  ');
    expect(empty.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

function readXml(xml: string): { root: string; value: unknown } {
  const doc = xml2js(xml, { compact: false }) as Element;
  const root = doc.elements![0]!;
  const value = Object.fromEntries(
    (root.elements ?? []).map((e) => [e.name!, (e.elements ?? []).map((c) => String(c.text ?? '')).join('')]),
  );
  return { root: root.name!, value };
}
