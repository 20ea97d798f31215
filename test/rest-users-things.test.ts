import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

let app: TestApp;
let fx: Fixtures;
let owner: UserEntity;
let reader: UserEntity;
let thing: ThingEntity;
let hiddenThing: ThingEntity;
let api: string;
let site: string;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  site = app.config.siteUrl;
  app.clock.set('2026-03-01T10:00:00Z');
  owner = await fx.user({ username: 'Melpomene', firstname: 'Mel', lastname: 'Pomene', about: 'Muse', city: 'Athens', country: 'GR', url: 'https://muse.example', email: 'mel@example.org' });
  reader = await fx.user({ username: 'reader', email: 'reader@example.org' });
  thing = await fx.thing(owner, { url: 'https://blog.example/post', title: 'A <b>post</b>', description: 'line<br/>two', tags: 'api, flattr,API', language: 'sv_SE', category: 'text' });
  hiddenThing = await fx.thing(owner, { url: 'https://blog.example/secret', hidden: true });
  app.clock.set('2026-03-05T10:00:00Z');
  await fx.flattr(reader, thing, new Date('2026-02-20T10:00:00Z'));
  await fx.flattr(reader, thing, new Date('2026-03-04T09:00:00Z'));
});
afterAll(() => app?.close());

const publicUser = () => ({
  type: 'user',
  resource: `${api}/users/melpomene`,
  link: `${site}/profile/melpomene`,
  username: 'Melpomene',
  firstname: 'Mel',
  lastname: 'Pomene',
  avatar: '',
  about: 'Muse',
  city: 'Athens',
  country: 'GR',
  url: 'https://muse.example',
});

const publicThing = () => ({
  type: 'thing',
  resource: `${api}/things/${thing.id}`,
  link: `${site}/thing/${thing.id}`,
  id: thing.id,
  url: 'https://blog.example/post',
  flattrs: 2,
  flattrs_user_count: 1,
  title: 'A post',
  description: 'line\ntwo',
  tags: ['api', 'flattr'],
  language: 'sv_SE',
  category: 'text',
  created_at: Date.parse('2026-03-01T10:00:00Z') / 1000,
  owner: { type: 'user', resource: `${api}/users/melpomene`, link: `${site}/profile/melpomene`, username: 'Melpomene' },
  hidden: false,
  image: '',
});

describe('GET /users/:username (E1)', () => {
  it('returns the full user object, matched case-insensitively, without private fields', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/MELPOMENE');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(publicUser());
    expect(Object.keys(res.json())).toEqual(Object.keys(publicUser()));
  });

  it('shows email and registered_at only to the user themself, under the right scopes (D40)', async () => {
    const extended = await fx.token(owner, ['extendedread']);
    const mine = await request(app.baseUrl, '/rest/v2/users/melpomene', { headers: { Authorization: `Bearer ${extended}` } });
    expect(mine.json()).toEqual({ ...publicUser(), email: 'mel@example.org', registered_at: Date.parse('2026-03-01T10:00:00Z') / 1000 });

    const emailOnly = await fx.token(owner, ['email']);
    const withEmail = await request(app.baseUrl, '/rest/v2/users/melpomene', { headers: { Authorization: `OAuth ${emailOnly}` } });
    expect(withEmail.json()).toEqual({ ...publicUser(), email: 'mel@example.org' });

    const otherExtended = await fx.token(reader, ['extendedread', 'email']);
    const someoneElse = await request(app.baseUrl, '/rest/v2/users/melpomene', { headers: { Authorization: `Bearer ${otherExtended}` } });
    expect(someoneElse.json()).toEqual(publicUser());
  });

  it('answers 404 with the users error_uri for an unknown user', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/nobody');
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({
      error: 'not_found',
      error_description: 'The requested user could not be found',
      error_uri: 'http://developers.flattr.net/api/resources/users/',
    });
  });

  it('renders the user as XML with the user root', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/melpomene.xml');
    expect(res.text).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<user>',
        '  <type>user</type>',
        `  <resource>${api}/users/melpomene</resource>`,
        `  <link>${site}/profile/melpomene</link>`,
        '  <username>Melpomene</username>',
        '  <firstname>Mel</firstname>',
        '  <lastname>Pomene</lastname>',
        '  <avatar></avatar>',
        '  <about>Muse</about>',
        '  <city>Athens</city>',
        '  <country>GR</country>',
        '  <url>https://muse.example</url>',
        '</user>',
      ].join('\n') + (res.text.endsWith('\n') ? '\n' : ''),
    );
  });
});

describe('tokens on REST calls (spec §3)', () => {
  it('rejects an invalid token with 401 and the invalid_token challenge, even on public endpoints (D12)', async () => {
    const res = await request(app.baseUrl, '/rest/v2/categories', { headers: { Authorization: 'Bearer 0000000000000000000000000000000000000000' } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="flattr", error="invalid_token", error_description="The access token is invalid"');
    expect(res.json()).toEqual({ error: 'unauthorized', error_description: 'The access token is invalid', error_uri: 'http://developers.flattr.net/api/' });
  });

  it('rejects a token supplied in two places with 400 invalid_request', async () => {
    const token = await fx.token(reader);
    const res = await request(app.baseUrl, `/rest/v2/categories?access_token=${token}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', error_description: 'Multiple access tokens supplied', error_uri: 'http://developers.flattr.net/api/' });
  });

  it('accepts the token in the query string and marks the answer private', async () => {
    const token = await fx.token(owner, ['email']);
    const res = await request(app.baseUrl, `/rest/v2/users/melpomene?access_token=${token}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private');
    expect(res.json().email).toBe('mel@example.org');
  });

  it('ignores other Authorization schemes on REST endpoints', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/melpomene', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(200);
  });
});

describe('GET /things/:id (E5)', () => {
  it('returns the public thing object to anonymous callers, keys in spec order', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/${thing.id}`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(publicThing());
    expect(Object.keys(res.json())).toEqual(Object.keys(publicThing()));
  });

  it('adds flattred/subscribed for an authenticated non-owner (D41: current period)', async () => {
    const token = await fx.token(reader);
    const res = await request(app.baseUrl, `/rest/v2/things/${thing.id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.json()).toEqual({ ...publicThing(), flattred: true, subscribed: false });

    app.clock.set('2026-04-01T00:00:00Z');
    const nextMonth = await request(app.baseUrl, `/rest/v2/things/${thing.id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(nextMonth.json().flattred).toBe(false);
    app.clock.set('2026-03-05T10:00:00Z');
  });

  it('adds the owner-only fields for the owner', async () => {
    const token = await fx.token(owner);
    const res = await request(app.baseUrl, `/rest/v2/things/${thing.id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.json()).toEqual({
      ...publicThing(),
      flattred: false,
      subscribed: false,
      last_flattr_at: Date.parse('2026-03-04T09:00:00Z') / 1000,
      updated_at: 0,
    });
  });

  it('nests the full owner with `full`', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/${thing.id}?full`);
    expect(res.json().owner).toEqual(publicUser());
    const off = await request(app.baseUrl, `/rest/v2/things/${thing.id}?full=False`);
    expect(off.json().owner).toEqual(publicThing().owner);
  });

  it('returns hidden things by id (D47)', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/${hiddenThing.id}`);
    expect(res.status).toBe(200);
    expect(res.json().hidden).toBe(true);
  });

  it('answers 404 for an unknown id and for a malformed id segment', async () => {
    const unknown = await request(app.baseUrl, '/rest/v2/things/999999');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({
      error: 'not_found',
      error_description: 'The requested thing(s) could not be found',
      error_uri: 'http://developers.flattr.net/api/resources/things/',
    });
    for (const path of ['/rest/v2/things/nothing_here', '/rest/v2/things/0']) {
      const res = await request(app.baseUrl, path);
      expect([path, res.status, res.json().error_description]).toEqual([path, 404, 'The resource was not found']);
    }
    // Well-formed, past the database's integer: a missing thing like any other (§9.0), not an unknown route.
    const huge = await request(app.baseUrl, '/rest/v2/things/99999999999');
    expect([huge.status, huge.json()]).toEqual([404, unknown.json()]);
  });

  it('renders YAML exactly as spec §5.8', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/${thing.id}.yaml`);
    expect(res.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(res.text).toContain(`---\ntype: "thing"\nresource: "${api}/things/${thing.id}"\n`);
    expect(res.text).toContain('tags:\n  - "api"\n  - "flattr"\n');
    expect(res.text).toContain('owner:\n  type: "user"\n');
    expect(parseYaml(res.text)).toEqual(publicThing());
  });

  it('renders XML with typed elements', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/${thing.id}`, { headers: { Accept: 'text/xml' } });
    expect(res.text).toContain(`  <id type="integer">${thing.id}</id>\n`);
    expect(res.text).toContain('  <tags type="array">\n    <tag>api</tag>\n    <tag>flattr</tag>\n  </tags>\n');
    expect(res.text).toContain('  <hidden type="boolean">false</hidden>\n');
    expect(res.text).toContain('  <description>line\ntwo</description>\n');
  });
});

describe('GET /things/:id,:id,... (E6)', () => {
  it('returns the things found in the order first requested, skipping duplicates and unknown ids', async () => {
    const res = await request(app.baseUrl, `/rest/v2/things/${hiddenThing.id},999999,${thing.id},${hiddenThing.id},abc`);
    expect(res.status).toBe(200);
    expect(res.json().map((t: { id: number }) => t.id)).toEqual([hiddenThing.id, thing.id]);
  });

  it('accepts %2C as a separator and the query form', async () => {
    const encoded = await request(app.baseUrl, `/rest/v2/things/${thing.id}%2C${hiddenThing.id}`);
    expect(encoded.json().map((t: { id: number }) => t.id)).toEqual([thing.id, hiddenThing.id]);
    const query = await request(app.baseUrl, `/rest/v2/things?id=${thing.id},${hiddenThing.id}`);
    expect(query.json().map((t: { id: number }) => t.id)).toEqual([thing.id, hiddenThing.id]);
    const xml = await request(app.baseUrl, `/rest/v2/things/${thing.id},${hiddenThing.id}.xml`);
    expect(xml.text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<things type="array">\n  <thing>\n/);
  });

  it('answers 404 when none exists, 400 for a missing id list or more than 100 ids', async () => {
    const none = await request(app.baseUrl, '/rest/v2/things/999998,999999');
    expect(none.status).toBe(404);
    expect(none.json().error_description).toBe('The requested thing(s) could not be found');

    const missing = await request(app.baseUrl, '/rest/v2/things');
    expect(missing.status).toBe(400);
    expect(missing.json()).toEqual({
      error: 'invalid_parameters',
      error_description: 'One or many parameters are missing or invalid',
      error_uri: 'http://developers.flattr.net/api/resources/things/',
    });

    const tooMany = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
    const big = await request(app.baseUrl, `/rest/v2/things/${tooMany}`);
    expect(big.status).toBe(400);
    expect(big.json().error).toBe('invalid_parameters');
  });
});

describe('GET /user (E2)', () => {
  it('needs a token: 401 unauthorized with a bare Bearer challenge', async () => {
    const res = await request(app.baseUrl, '/rest/v2/user');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="flattr"');
    expect(res.json()).toEqual({
      error: 'unauthorized',
      error_description: 'You are unauthorized to access the resource',
      error_uri: 'http://developers.flattr.net/api/',
    });
  });

  it("returns the token's user with the fields its scopes allow", async () => {
    const plain = await fx.token(owner);
    const res = await request(app.baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${plain}` } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(publicUser());

    const extended = await fx.token(owner, ['extendedread']);
    const full = await request(app.baseUrl, '/rest/v2/user.xml', { headers: { Authorization: `Bearer ${extended}` } });
    expect(full.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(full.text).toContain('<user>\n  <type>user</type>\n');
    expect(full.text).toContain('  <email>mel@example.org</email>\n');
    expect(full.text).toContain(`  <registered_at type="integer">${Date.parse('2026-03-01T10:00:00Z') / 1000}</registered_at>\n`);

    const viaQuery = await request(app.baseUrl, `/rest/v2/user/?access_token=${extended}`);
    expect(viaQuery.json().username).toBe('Melpomene');
  });
});
