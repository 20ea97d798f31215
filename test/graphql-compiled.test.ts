import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';

/**
 * Issue 18 item 2: /graphql runs a query it has seen before through a compiled function
 * (src/server/graphql-compiled.ts). The answers must not change: each document below is sent three times; the first
 * runs through Yoga's executor, the next two through the compiled function (or, when it reports errors, through
 * Yoga's executor again). Status, content type and body (without the rate-limit counts) must be the same every time.
 * Since the /graphql fast path (test/graphql-fast-path.test.ts), the repeats of these POSTs run compiled there.
 */

let app: TestApp;
let token: string;
let thingId: number;
let hiddenId: number;
let thingGlobalId: string;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '100000' }, { countQueries: false });
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice', firstname: 'Alice', city: 'Malmö', balanceCents: 500 });
  const bob = await fx.user({ username: 'bob', hideFlattrs: true, balanceCents: 500 });
  const thing = await fx.thing(bob, { url: 'https://example.org/a', title: 'A thing', tags: ['music', 'ünïcode'] });
  const hidden = await fx.thing(bob, { url: 'https://example.org/hidden', title: 'Hidden', hidden: true });
  await fx.thing(alice, { url: 'https://example.org/b', title: 'B thing' });
  await fx.flattr(alice, thing);
  thingId = thing.id;
  hiddenId = hidden.id;
  token = await fx.token(alice, ['flattr', 'email', 'extendedread']);
  thingGlobalId = Buffer.from(`Thing:${thingId}`).toString('base64');
});
afterAll(() => app?.close());

async function post(query: string, variables: Record<string, unknown> = {}, withToken = true): Promise<HttpResult> {
  return request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(withToken ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
}

/** The answer a client compares: status, content type and body, the rate-limit counts taken out. */
function comparable(result: HttpResult) {
  const body = JSON.parse(result.text) as { extensions?: { rateLimit?: unknown } };
  expect(body.extensions?.rateLimit).toBeDefined();
  delete body.extensions!.rateLimit;
  if (body.extensions && Object.keys(body.extensions).length === 0) delete body.extensions;
  return { status: result.status, contentType: result.headers['content-type'], body };
}

const THING_FIELDS = `id databaseId url title description tags hidden image createdAt flattrCount flattrUserCount resourceUrl webUrl
  category { id text } language { id text } owner { id username firstname email registeredAt }
  viewerState { flattred subscribed } ownerView { lastFlattrAt updatedAt } __typename`;

const DOCUMENTS: { name: string; query: string; variables?: () => Record<string, unknown>; anonymous?: boolean }[] = [
  { name: 'thing by id, with fragments and aliases', query: `query T($id: Int!) { a: thing(id: $id) { ...F } b: thing(id: $id) { title } } fragment F on Thing { ${THING_FIELDS} }`, variables: () => ({ id: thingId }) },
  { name: 'a hidden thing, anonymous', query: `query H($id: Int!) { thing(id: $id) { ${THING_FIELDS} } }`, variables: () => ({ id: hiddenId }), anonymous: true },
  { name: 'a missing thing (null)', query: 'query M { thing(id: 999999) { id title } }' },
  { name: 'things by ids, unknown skipped', query: 'query S($ids: [Int!]!) { things(ids: $ids) { databaseId title owner { username } } }', variables: () => ({ ids: [thingId, 999999, hiddenId] }) },
  { name: 'node and nodes (interface, inline fragments)', query: `query N($id: ID!) { node(id: $id) { __typename id ... on Thing { title owner { username } } } nodes(ids: [$id]) { id } }`, variables: () => ({ id: thingGlobalId }) },
  { name: 'viewer with email and connections', query: 'query V { viewer { username email registeredAt things(first: 2) { totalCount nodes { title } pageInfo { hasNextPage endCursor } edges { cursor node { databaseId } } } flattrs(first: 5) { totalCount nodes { thing { title } period source createdAt } } } }' },
  { name: 'a user hiding their flattrs', query: 'query U { user(username: "BOB") { username flattrs(first: 5) { totalCount nodes { id } } things(first: 10) { totalCount nodes { title hidden } } } }', anonymous: true },
  { name: 'reference data', query: '{ categories { id text } languages { id text } }', anonymous: true },
  { name: 'search', query: 'query Q($q: String) { searchThings(query: $q, first: 5) { totalCount nodes { title tags } } }', variables: () => ({ q: 'thing' }), anonymous: true },
  { name: 'a variable of the wrong type (400)', query: 'query W($id: Int!) { thing(id: $id) { title } }', variables: () => ({ id: 'nope' }) },
  { name: 'a required variable missing (400)', query: 'query R($id: Int!) { thing(id: $id) { title } }', variables: () => ({}) },
  { name: 'a malformed global id (field error, partial data)', query: '{ node(id: "%%%") { id } categories { id } }' },
  { name: 'too many ids (field error)', query: 'query X($ids: [Int!]!) { things(ids: $ids) { id } }', variables: () => ({ ids: Array.from({ length: 101 }, (_, i) => i + 1) }) },
  { name: 'a page too large (field error)', query: '{ viewer { things(first: 1000) { totalCount } } }' },
  { name: 'stats without the scope (FORBIDDEN)', query: '{ stats { totals { users things flattrs } } }' },
];

describe('compiled execution answers as the standard executor does', () => {
  for (const document of DOCUMENTS) {
    it(document.name, async () => {
      const variables = document.variables?.() ?? {};
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(comparable(await post(document.query, variables, !document.anonymous)));
      // Every document is valid: the executors, not validation, answer it.
      expect(JSON.stringify(answers[0]!.body)).not.toMatch(/GRAPHQL_VALIDATION_FAILED|GRAPHQL_PARSE_FAILED/);
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
    });
  }

  it('repeated queries do run compiled, and errors are answered by the standard executor', async () => {
    const scrape = async () => (await request(app.baseUrl, '/metrics')).text;
    const count = (text: string, outcome: string) =>
      Number(new RegExp(`^flattr_graphql_compiled_executions_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    const delta = (before: string, after: string, outcome: string) => count(after, outcome) - count(before, outcome);
    const before = await scrape();
    // POSTed: the first run by Yoga, the next ones by the fast path (src/server/graphql-fast-path.ts).
    const good = 'query Again($id: Int!) { thing(id: $id) { title owner { username } } }';
    for (let i = 0; i < 4; i++) expect((await post(good, { id: thingId })).status).toBe(200);
    const failing = '{ node(id: "%%%") { id } }';
    for (let i = 0; i < 3; i++) expect((await post(failing)).status).toBe(200);
    const afterPosts = await scrape();
    expect(delta(before, afterPosts, 'fast_path')).toBe(3); // the first request of each document is Yoga's
    expect(delta(before, afterPosts, 'compiled')).toBe(0);
    // The fast path's compiled run reported errors: Yoga's standard executor answered, with no second compiled run.
    expect(delta(before, afterPosts, 'fast_path_to_yoga')).toBe(2);
    expect(delta(before, afterPosts, 'rerun_after_errors')).toBe(0);
    // GET requests are Yoga's: its plugin runs them compiled from the second one on.
    const get = async (query: string) =>
      request(app.baseUrl, `/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    const byGet = '{ categories { id text } viewer { username } }';
    for (let i = 0; i < 4; i++) expect((await get(byGet)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get('{ node(id: "%%%%") { id } }')).status).toBe(200);
    const afterGets = await scrape();
    expect(delta(afterPosts, afterGets, 'compiled')).toBe(3);
    expect(delta(afterPosts, afterGets, 'rerun_after_errors')).toBe(2);
    expect(delta(afterPosts, afterGets, 'fast_path')).toBe(0);
  });
});
