import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * Thing ids past the database's integer range (spec §9.0): a well-formed id (digits, value ≥ 1) with no thing behind
 * it is a missing thing, whatever its size, on every route that takes one; and the error texts of the id lists.
 */

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let bob: UserEntity;
let thing: ThingEntity;
let token: string;

/** Past PostgreSQL's integer (2147483647), past bigint, past a double's exact integers. */
const HUGE_IDS = ['2147483648', '9223372036854775808', '99999999999999999999', `1${'0'.repeat(400)}`];
/** An id in range that no thing has: the answer every huge id must give. */
const UNKNOWN = '999999';

const THINGS_404 = {
  error: 'not_found',
  error_description: 'The requested thing(s) could not be found',
  error_uri: 'http://developers.flattr.net/api/resources/things/',
};
const INVALID_PARAMETERS = {
  error: 'invalid_parameters',
  error_description: 'One or many parameters are missing or invalid',
  error_uri: 'http://developers.flattr.net/api/resources/things/',
};

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  alice = await fx.user({ username: 'alice', balanceCents: 1000 });
  bob = await fx.user({ username: 'bob' });
  thing = await fx.thing(bob, { url: 'https://bob.example/one', title: 'One' });
  token = await fx.token(alice, ['flattr', 'thing']);
});
afterAll(() => app?.close());

const auth = () => ({ Authorization: `Bearer ${token}` });
const json = () => ({ 'Content-Type': 'application/json', ...auth() });

interface Call {
  label: string;
  method: string;
  /** `{id}` stands for the id. */
  path: string;
  headers?: () => Record<string, string>;
  body?: string;
}

/** Every route with a `:id` (spec §9.0 summary), authorised so that the existence check is what answers. */
const CALLS: Call[] = [
  { label: 'E5 show', method: 'GET', path: '/rest/v2/things/{id}' },
  { label: 'E5 show, suffix', method: 'GET', path: '/rest/v2/things/{id}.xml' },
  { label: 'E5 show, trailing slash, full', method: 'GET', path: '/rest/v2/things/{id}/?full' },
  { label: 'E5 show, authenticated', method: 'HEAD', path: '/rest/v2/things/{id}', headers: auth },
  { label: 'E14 flattrs', method: 'GET', path: '/rest/v2/things/{id}/flattrs?count=5&page=2' },
  { label: 'E14 flattrs, atom', method: 'GET', path: '/rest/v2/things/{id}/flattrs.atom' },
  { label: 'E9 update', method: 'PATCH', path: '/rest/v2/things/{id}', headers: json, body: JSON.stringify({ title: 'x' }) },
  { label: 'E9 update, invalid hidden', method: 'PATCH', path: '/rest/v2/things/{id}', headers: json, body: JSON.stringify({ hidden: 'maybe' }) },
  {
    label: 'E9 update as POST with _method in the body',
    method: 'POST',
    path: '/rest/v2/things/{id}',
    headers: () => ({ 'Content-Type': 'application/x-www-form-urlencoded', ...auth() }),
    body: '_method=patch&title=x',
  },
  { label: 'E10 delete', method: 'DELETE', path: '/rest/v2/things/{id}', headers: auth },
  { label: 'E10 delete as POST', method: 'POST', path: '/rest/v2/things/{id}?_method=delete', headers: auth },
  { label: 'E15 flattr', method: 'POST', path: '/rest/v2/things/{id}/flattr', headers: auth },
  { label: 'E18 subscribe', method: 'POST', path: '/rest/v2/things/{id}/subscriptions', headers: auth },
  { label: 'E19 toggle', method: 'PUT', path: '/rest/v2/things/{id}/subscriptions', headers: auth },
  { label: 'E19 toggle as POST', method: 'POST', path: '/rest/v2/things/{id}/subscriptions', headers: () => ({ 'X-HTTP-Method-Override': 'PUT', ...auth() }) },
  { label: 'E20 unsubscribe', method: 'DELETE', path: '/rest/v2/things/{id}/subscriptions', headers: auth },
  // The checks before the existence check keep their order: no token, or a wrong parameter, still answer first.
  { label: 'E9 without a token', method: 'PATCH', path: '/rest/v2/things/{id}' },
  { label: 'E15 without a token', method: 'POST', path: '/rest/v2/things/{id}/flattr' },
  { label: 'E14 with a bad count', method: 'GET', path: '/rest/v2/things/{id}/flattrs?count=0' },
];

async function call(c: Call, id: string): Promise<HttpResult> {
  return request(app.baseUrl, c.path.replace('{id}', id), { method: c.method, headers: c.headers?.() ?? {}, body: c.body });
}

describe('a well-formed id past the database integer answers like any unknown id', () => {
  it.each(CALLS.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    const expected = await call(c, UNKNOWN);
    expect(expected.status, 'the in-range unknown id is not found').not.toBe(200);
    for (const id of HUGE_IDS) {
      const res = await call(c, id);
      expect([id.slice(0, 24), res.status, res.headers['content-type'], res.text]).toEqual([id.slice(0, 24), expected.status, expected.headers['content-type'], expected.text]);
    }
  });

  it('is 404 not_found with the things description and error_uri on E5', async () => {
    for (const id of HUGE_IDS) {
      const res = await request(app.baseUrl, `/rest/v2/things/${id}`);
      expect([id.slice(0, 24), res.status, res.json()]).toEqual([id.slice(0, 24), 404, THINGS_404]);
    }
  });

  it('is 404 with the thing description on every authorised write and on E14', async () => {
    const id = HUGE_IDS[2]!;
    for (const c of CALLS.filter((c) => c.headers && c.method !== 'HEAD')) {
      const res = await call(c, id);
      expect([c.label, res.status, res.json().error, res.json().error_description]).toEqual([c.label, 404, 'not_found', 'The requested thing(s) could not be found']);
    }
    const flattrs = await request(app.baseUrl, `/rest/v2/things/${id}/flattrs`);
    expect(flattrs.status).toBe(404);
    expect(flattrs.json()).toEqual({ ...THINGS_404, error_uri: 'http://developers.flattr.net/api/resources/flattrs/' });
  });

  it('leaves malformed ids to "no route" (§9.0)', async () => {
    for (const id of ['0', '000', 'nothing_here', '-1', '1e3', '12abc']) {
      const res = await request(app.baseUrl, `/rest/v2/things/${id}`);
      expect([id, res.status, res.json().error_description, res.json().error_uri]).toEqual([id, 404, 'The resource was not found', 'http://developers.flattr.net/api/']);
    }
  });

  it('does not change the in-range ids', async () => {
    expect((await request(app.baseUrl, `/rest/v2/things/${thing.id}`)).json().id).toBe(thing.id);
    expect((await request(app.baseUrl, `/rest/v2/things/0${thing.id}`)).json().id).toBe(thing.id);
    expect((await request(app.baseUrl, '/rest/v2/things/2147483647')).json()).toEqual(THINGS_404);
  });
});

describe('id lists (E6)', () => {
  it('skips huge ids like unknown ones, in the path and in the query form', async () => {
    for (const path of [`/rest/v2/things/${HUGE_IDS[2]},${thing.id}`, `/rest/v2/things?id=${HUGE_IDS[2]},${thing.id},${HUGE_IDS[3]}`, `/rest/v2/things/${thing.id}%2C${HUGE_IDS[0]}`]) {
      const res = await request(app.baseUrl, path);
      expect([path.slice(0, 60), res.status, res.json().map((t: { id: number }) => t.id)]).toEqual([path.slice(0, 60), 200, [thing.id]]);
    }
  });

  it('answers 404 things when every id is huge, like when every id is unknown', async () => {
    for (const path of [`/rest/v2/things/${HUGE_IDS[0]},${HUGE_IDS[2]}`, `/rest/v2/things?id=${HUGE_IDS[2]}`, `/rest/v2/things?id=${HUGE_IDS[1]},${HUGE_IDS[3]}`]) {
      const res = await request(app.baseUrl, path);
      expect([path.slice(0, 60), res.status, res.json()]).toEqual([path.slice(0, 60), 404, THINGS_404]);
    }
  });

  it('more than 100 ids: 400 invalid_parameters with the catalogue text', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(',');
    for (const path of [`/rest/v2/things/${ids(101)}`, `/rest/v2/things?id=${ids(101)}`, `/rest/v2/things/${ids(100)},${HUGE_IDS[2]}`]) {
      const res = await request(app.baseUrl, path);
      expect([path.length, res.status, res.json()]).toEqual([path.length, 400, INVALID_PARAMETERS]);
    }
    expect((await request(app.baseUrl, `/rest/v2/things/${ids(99)},${thing.id}`)).status).toBe(200);
  });

  it('a missing id in the query form: the catalogue text', async () => {
    for (const path of ['/rest/v2/things', '/rest/v2/things?id=', '/rest/v2/things?id=,,']) {
      const res = await request(app.baseUrl, path);
      expect([path, res.status, res.json()]).toEqual([path, 400, INVALID_PARAMETERS]);
    }
  });
});

describe('search limits', () => {
  it('more than 256 distinct query terms: 400 invalid_parameters with the catalogue text', async () => {
    const query = Array.from({ length: 257 }, (_, i) => `t${i}`).join(' ');
    const res = await request(app.baseUrl, `/rest/v2/things/search?query=${encodeURIComponent(query)}`);
    expect([res.status, res.json()]).toEqual([400, INVALID_PARAMETERS]);
  });

  it('a malformed tags expression is reported first, even with too many query terms', async () => {
    const query = Array.from({ length: 257 }, (_, i) => `t${i}`).join(' ');
    const res = await request(app.baseUrl, `/rest/v2/things/search?query=${encodeURIComponent(query)}&tags=${encodeURIComponent('a & (')}`);
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_parameters', error_description: 'Invalid tags expression' });
  });
});
