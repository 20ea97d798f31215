import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, validate } from 'graphql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { Fixtures } from './support/fixtures.js';
import { schema } from '../schema/index.js';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { BoundedDocumentStore, sha256Hex } from '../src/server/persisted-operations.js';
import { DASHBOARD_DOCUMENTS, DASHBOARD_QUERY, dashboardQueryFrom } from '../src/ops/dashboard-documents.js';

/**
 * Issue 15 (5): automatic persisted queries (Apollo's protocol) and the trusted-documents allow-list.
 */

const QUERY = 'query Categories { categories { id } }';
const HASH = sha256Hex(QUERY);
const pq = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });

let dir: string;
let app: TestApp;
let trusted: TestApp;
let manifestPath: string;
let statsToken: string;
const LISTED = 'query Listed { categories { id text } }';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flattr-trusted-'));
  manifestPath = path.join(dir, 'persisted-documents.json');
  fs.writeFileSync(manifestPath, JSON.stringify({ [sha256Hex(LISTED)]: LISTED, 'relay-id-1': '{ __typename }' }));
  [app, trusted] = await Promise.all([startTestApp({ RATE_LIMIT_PER_HOUR: '100000' }), startTestApp({ RATE_LIMIT_PER_HOUR: '100000', GRAPHQL_TRUSTED_DOCUMENTS: manifestPath })]);
  const fx = new Fixtures(trusted.orm, trusted.clock);
  statsToken = await fx.token(await fx.user({ username: 'staff' }), ['stats']);
});

afterAll(async () => {
  await Promise.all([app?.close(), trusted?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function post(target: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return request(target.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function get(target: TestApp, params: Record<string, unknown>) {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return request(target.baseUrl, `/graphql?${query}`, { headers: { Accept: 'application/json' } });
}

const code = (res: { json: () => any }) => res.json().errors?.[0]?.extensions?.code;

describe('automatic persisted queries', () => {
  it('miss, register, then hit by POST and by GET with the hash alone', async () => {
    const miss = await post(app, { extensions: pq(HASH) });
    expect(miss.status).toBe(404);
    expect(miss.json().errors).toEqual([{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }]);
    expect((await get(app, { extensions: pq(HASH) })).json().errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    const register = await post(app, { query: QUERY, extensions: pq(HASH) });
    expect(register.status).toBe(200);
    expect(register.json().data.categories.length).toBeGreaterThan(0);

    const hit = await post(app, { extensions: pq(HASH) });
    expect(hit.status).toBe(200);
    expect(hit.json().data).toEqual(register.json().data);
    const byGet = await get(app, { extensions: pq(HASH) });
    expect(byGet.status).toBe(200);
    expect(byGet.json().data).toEqual(register.json().data);
    // Counted like any request.
    expect(Number(byGet.headers['x-ratelimit-current'])).toBeGreaterThan(Number(hit.headers['x-ratelimit-current']));
  });

  it('a hash that is not the query text\'s: BAD_REQUEST, nothing registered', async () => {
    const wrong = 'b'.repeat(64);
    const res = await post(app, { query: '{ categories { text } }', extensions: pq(wrong) });
    expect(res.status).toBe(400);
    expect(code(res)).toBe('BAD_REQUEST');
    expect(res.json().errors[0].message).toMatch(/does not match the query/);
    expect(code(await post(app, { extensions: pq(wrong) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('a persisted query still has the limits of its text', async () => {
    const heavy = `{ ${Array.from({ length: 400 }, (_, i) => `c${i}: categories { id text }`).join(' ')} }`;
    expect(code(await post(app, { query: heavy, extensions: pq(sha256Hex(heavy)) }))).toBe('QUERY_TOO_COSTLY');
    expect(code(await post(app, { extensions: pq(sha256Hex(heavy)) }))).toBe('QUERY_TOO_COSTLY');
  });

  it('the store is bounded by entries and by characters, least recently used out first', () => {
    const store = new BoundedDocumentStore(3, 100);
    store.set('a', 'x'.repeat(10));
    store.set('b', 'x'.repeat(10));
    store.set('c', 'x'.repeat(10));
    store.get('a');
    store.set('d', 'x'.repeat(10));
    expect([store.get('a'), store.get('b')]).toEqual(['x'.repeat(10), undefined]);
    store.set('e', 'x'.repeat(90));
    expect([store.size, store.get('a'), store.get('c')]).toEqual([2, 'x'.repeat(10), undefined]);
    store.set('f', 'x'.repeat(101));
    expect(store.get('f')).toBeUndefined();
  });
});

describe('trusted documents (GRAPHQL_TRUSTED_DOCUMENTS)', () => {
  it('runs the manifest\'s documents by hash (POST, GET), by documentId, and by their exact text', async () => {
    const hash = sha256Hex(LISTED);
    for (const res of [
      await post(trusted, { extensions: pq(hash) }),
      await get(trusted, { extensions: pq(hash) }),
      await post(trusted, { documentId: hash }),
      await post(trusted, { query: LISTED }),
      await post(trusted, { query: LISTED, extensions: pq(hash) }),
    ]) {
      expect(res.status, res.text.slice(0, 200)).toBe(200);
      expect(res.json().data.categories.length).toBeGreaterThan(0);
    }
    // Ids need not be SHA-256 (Relay's are not).
    expect((await post(trusted, { documentId: 'relay-id-1' })).json().data).toEqual({ __typename: 'Query' });
  });

  it('refuses anything else with PERSISTED_QUERY_NOT_ALLOWED, before parsing, and registers nothing', async () => {
    for (const res of [
      await post(trusted, { query: '{ categories { id } }' }),
      await post(trusted, { query: QUERY, extensions: pq(HASH) }),
      await post(trusted, { extensions: pq(HASH) }),
      await post(trusted, { documentId: 'unknown' }),
      await post(trusted, { query: '{ nope' }),
      await get(trusted, { query: '{ categories { text } }' }),
      await post(trusted, { query: '{ categories { id } }', extensions: pq(sha256Hex(LISTED)) }),
    ]) {
      expect(res.status).toBe(400);
      expect(res.json().errors).toEqual([{ message: 'Only allow-listed operations may run on this server (trusted documents mode).', extensions: { code: 'PERSISTED_QUERY_NOT_ALLOWED' } }]);
    }
  });

  it('always allows the built-in dashboard\'s documents', async () => {
    const res = await post(trusted, { query: DASHBOARD_QUERY, variables: { from: '2026-03-01', to: '2026-03-10' }, operationName: 'Dashboard' }, { Authorization: `Bearer ${statsToken}` });
    expect(res.json().errors).toBeUndefined();
    expect(res.json().data.stats.totals).toBeDefined();
  });

  it('the dashboard documents are read from src/ops/dashboard-client.js and validate', () => {
    const script = fs.readFileSync(new URL('../src/ops/dashboard-client.js', import.meta.url), 'utf8');
    expect(dashboardQueryFrom(script)).toBe(DASHBOARD_QUERY);
    expect(DASHBOARD_QUERY).toMatch(/^query Dashboard\(/);
    expect(validate(schema, parse(DASHBOARD_QUERY))).toEqual([]);
    expect(Object.keys(DASHBOARD_DOCUMENTS)).toEqual([sha256Hex(DASHBOARD_QUERY)]);
    expect(dashboardQueryFrom("var QUERY =\n  'query A { a ' +\n  '\\'b\\' }';")).toBe("query A { a 'b' }");
  });

  it('the manifest is checked at start-up', () => {
    const write = (name: string, content: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      return file;
    };
    const load = (file: string) => () => loadConfig({ GRAPHQL_TRUSTED_DOCUMENTS: file });
    expect(loadConfig({ GRAPHQL_TRUSTED_DOCUMENTS: manifestPath }).graphqlTrustedDocuments?.documents[sha256Hex(LISTED)]).toBe(LISTED);
    expect(loadConfig({ GRAPHQL_TRUSTED_DOCUMENTS: 'persisted-documents.json' }, dir).graphqlTrustedDocuments?.path).toBe(manifestPath);
    expect(load(path.join(dir, 'missing.json'))).toThrow(ConfigError);
    expect(load(path.join(dir, 'missing.json'))).toThrow(/GRAPHQL_TRUSTED_DOCUMENTS: cannot read .*ENOENT/);
    expect(load(write('bad.json', '{'))).toThrow('is not JSON');
    expect(load(write('array.json', '[]'))).toThrow('must be a JSON object of document id → document');
    expect(load(write('empty.json', '{}'))).toThrow('lists no document');
    expect(load(write('number.json', '{"a": 1}'))).toThrow('document "a" must be a non-empty string');
    expect(load(write('syntax.json', '{"a": "{ x"}'))).toThrow('document "a" is not valid GraphQL');
    expect(load(write('id.json', '{"a b": "{ x }"}'))).toThrow('invalid document id "a b"');
    expect(load(dir)).toThrow('is not a file');
  });
});
