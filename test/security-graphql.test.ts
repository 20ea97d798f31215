import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createYoga } from 'graphql-yoga';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { assertNoLeak } from './support/fuzz/oracles.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { reportFigures } from './support/fuzz/settings.js';
import { schema } from '../schema/index.js';
import { documentLimitsRule, documentSourceGuardPlugin, MAX_FRAGMENT_NESTING, SOURCE_LIMITS, sourceNesting } from '../schema/limits.js';

/**
 * Issue 10 (4): GraphQL abuse. Depth and cost have their own tests (test/graphql.test.ts); here:
 *   - breadth and alias amplification stay within the cost limit;
 *   - a "fragment bomb" (each fragment spreading the next twice) is refused at once (it used to cost 2^n);
 *   - long fragment chains, very deep nesting and huge documents are 4xx, never a 500 or a stall;
 *   - batching (a JSON array body) is refused;
 *   - introspection is allowed (policy: the schema is public, like the REST spec), within the same limits;
 *   - mutations need POST with a JSON body: GET, text/plain and form posts (what a cross-site page can send) are not executed;
 *   - errors never leak stack traces, SQL or internals, even when the database throws.
 */

let app: TestApp;
let db: DbWatcher;
let token: string;
let attacks = 0;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '1000000000' });
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice', balanceCents: 500 } as never);
  const bob = await fx.user({ username: 'bob' });
  await fx.thing(bob, { title: 'Bob thing', tags: ['x'] });
  token = await fx.token(alice, ['flattr', 'thing']);
  db = await DbWatcher.connect(app.databaseUrl);
});

afterAll(async () => {
  reportFigures({ suite: 'security-graphql', attacks });
  await db?.close();
  await app?.close();
});

async function graphql(body: unknown, headers: Record<string, string> = {}, method = 'POST') {
  attacks += 1;
  const started = performance.now();
  const res = await request(app.baseUrl, '/graphql', {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { ...res, ms: performance.now() - started };
}

const codes = (res: { json: () => any }) => ((res.json().errors ?? []) as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code);

function fragmentBomb(levels: number): string {
  let document = 'query { ...F0 }\n';
  for (let i = 0; i < levels; i++) document += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return `${document}fragment F${levels} on Query { __typename }\n`;
}

function fragmentChain(length: number): string {
  let document = 'query { ...F0 }\n';
  for (let i = 0; i < length; i++) document += `fragment F${i} on Query { ...F${i + 1} }\n`;
  return `${document}fragment F${length} on Query { __typename }\n`;
}

const deepNesting = (levels: number) => `{ ${'viewer { things { edges { node { owner { '.repeat(levels)}id${' } } } } }'.repeat(levels)} }`;

describe('breadth, aliases and fragments', () => {
  it('aliases: the cost counts every alias, so breadth is bounded by GRAPHQL_MAX_COST', async () => {
    const fields = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect((await graphql({ query: fields(20_000) })).json().data.a19999).toBe('Query');
    const over = await graphql({ query: fields(20_001) });
    expect(codes(over)).toEqual(['QUERY_TOO_COSTLY']);
    // Alias amplification of an expensive field: 10 × searchThings(first: 100) with 20 fields each.
    const amplified = `{ ${Array.from({ length: 10 }, (_, i) => `s${i}: searchThings(first: 100) { edges { node { id title tags url owner { username } flattrs(first: 100) { edges { node { createdAt } } } } } }`).join(' ')} }`;
    expect(codes(await graphql({ query: amplified }))).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('a fragment bomb is refused at once (the cost rule measures each fragment once)', async () => {
    for (const levels of [16, 30, 60, 200]) {
      const res = await graphql({ query: fragmentBomb(levels) });
      expect(res.status).toBeLessThan(500);
      // Past MAX_FRAGMENT_NESTING levels the nesting itself is refused first.
      expect(codes(res)).toContain(levels < MAX_FRAGMENT_NESTING ? 'QUERY_TOO_COSTLY' : 'QUERY_TOO_DEEP');
      // Before the fix: 16 levels ≈ 0.3 s, 22 ≈ 8 s, 30 would run for hours.
      expect(res.ms, `${levels} levels`).toBeLessThan(2_000);
    }
  });

  it(`a chain of more than ${MAX_FRAGMENT_NESTING} nested fragments is QUERY_TOO_DEEP, not a stack overflow`, async () => {
    const ok = await graphql({ query: fragmentChain(MAX_FRAGMENT_NESTING - 1) });
    expect(ok.json().data).toEqual({ __typename: 'Query' });
    for (const length of [MAX_FRAGMENT_NESTING + 1, 3_000]) {
      const res = await graphql({ query: fragmentChain(length) });
      expect(res.status, `${length}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
      expect(codes(res)).toContain('QUERY_TOO_DEEP');
    }
  });

  it('directive and variable floods are refused quickly', async () => {
    const directives = await graphql({ query: `{ __typename ${'@include(if: true) '.repeat(5_000)}}` });
    expect(directives.status).toBeLessThan(500);
    expect(directives.json().errors.length).toBeGreaterThan(0);
    const variables = await graphql({ query: `query(${Array.from({ length: 5_000 }, (_, i) => `$v${i}: Int`).join(' ')}) { __typename }` });
    expect(variables.status).toBeLessThan(500);
    expect(variables.json().errors.length).toBeGreaterThan(0);
    for (const res of [directives, variables]) expect(res.ms).toBeLessThan(3_000);
  });
});

describe('the source itself: nesting, fragment chains and size', () => {
  it('documentSourceGuardPlugin turns deep nesting, long chains and token floods into 4xx (checked on its own Yoga)', async () => {
    const yoga = createYoga({
      schema,
      plugins: [
        documentSourceGuardPlugin(),
        {
          onValidate({ addValidationRule }: { addValidationRule: (rule: ReturnType<typeof documentLimitsRule>) => void }) {
            addValidationRule(documentLimitsRule({ maxDepth: 12, maxCost: 20_000 }));
          },
        },
      ],
      maskedErrors: true,
      logging: false,
    });
    const send = async (query: string) => {
      const res = await yoga.fetch('http://yoga/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query }) });
      return { status: res.status, body: (await res.json()) as { errors?: { extensions?: { code?: string } }[] } };
    };
    for (const query of [deepNesting(500), deepNesting(3_000), `{ things(ids: ${'['.repeat(5_000)}1${']'.repeat(5_000)}) { id } }`, fragmentChain(10_000)]) {
      attacks += 1;
      const res = await send(query);
      expect(res.status, query.slice(0, 60)).toBeLessThan(500);
      // Yoga files errors of the parse step under GRAPHQL_PARSE_FAILED; the message says what was refused.
      expect(['QUERY_TOO_DEEP', 'GRAPHQL_PARSE_FAILED']).toContain(res.body.errors?.[0]?.extensions?.code);
      expect(JSON.stringify(res.body)).toMatch(/too deep|more that \d+ tokens/);
    }
    const flood = await send(`{ ${'__typename '.repeat(SOURCE_LIMITS.maxTokens + 10)}}`);
    expect(flood.status).toBeLessThan(500);
    expect(JSON.stringify(flood.body)).toMatch(/tokens/i);
    expect(sourceNesting('{ a(b: "{{{{") # {{{{\n { c } }')).toBe(2);
  });

  it('deep nesting, long fragment chains and huge documents are 4xx, not 500 or a stall (src/server/graphql-server.ts documentSourceGuardPlugin)', async () => {
    for (const query of [deepNesting(600), fragmentChain(12_000)]) {
      const res = await graphql({ query });
      expect(res.status, `${query.slice(0, 40)}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
      expect(res.text).toMatch(/too deep|more that \d+ tokens/);
    }
    // 4 MB of fields: refused by size (or tokens) before any real work.
    const huge = await graphql({ query: `{ ${'__typename '.repeat(400_000)}}` });
    expect(huge.status).toBeLessThan(500);
    expect(huge.ms).toBeLessThan(1_500);
    expect([413, 400]).toContain(huge.status);
  });
});

describe('batching, methods and cross-site requests', () => {
  it('refuses a batch (a JSON array body) without executing any of it', async () => {
    const before = await db.state();
    const res = await graphql(
      [
        { query: 'mutation { createThing(input: { url: "https://example.org/batch1" }) { __typename } }' },
        { query: 'mutation { createThing(input: { url: "https://example.org/batch2" }) { __typename } }' },
      ],
      { Authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/Batching is not supported/);
    expect(DbWatcher.changed(before, await db.state())).toEqual([]);
  });

  it('mutations are never executed from GET, nor with anyone\'s authority from what another site can send', async () => {
    const before = await db.state();
    const mutation = 'mutation { createThing(input: { url: "https://example.org/csrf" }) { __typename } }';
    const get = await request(app.baseUrl, `/graphql?query=${encodeURIComponent(mutation)}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    expect(get.status).toBe(405);
    // A cross-site page can send text/plain, multipart and form posts, with cookies but never an Authorization
    // header. Multipart is refused; forms are executed by Yoga, but anonymously (no token, and the session viewer of
    // /dashboard needs an X-CSRF-Token header): the mutation is refused as unauthorized.
    const multipart = await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=x' }, body: JSON.stringify({ query: mutation }) });
    expect(multipart.status).toBe(400);
    const formPost = await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: 'flattr_session=anything' }, body: `query=${encodeURIComponent(mutation)}` });
    expect(formPost.status).toBeLessThan(500);
    expect(codes(formPost)).toEqual(['UNAUTHENTICATED']);
    attacks += 3;
    expect(DbWatcher.changed(before, await db.state())).toEqual([]);
  });

  it('an unsupported Content-Type is a 415, not a 204 (src/server/graphql-server.ts serveGraphQL)', async () => {
    attacks += 1;
    const res = await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
    expect(res.status).toBe(415);
  });
});

describe('introspection (policy: allowed) and error masking', () => {
  it('introspection is allowed, within its own depth and cost bounds (schema/limits.ts INTROSPECTION_LIMITS)', async () => {
    const res = await graphql({ query: '{ __schema { queryType { name } types { name kind fields { name args { name } } } } }' });
    expect(res.status).toBe(200);
    expect(res.json().data.__schema.queryType.name).toBe('Query');
    const nested = `{ __schema { types { fields { type { ${'ofType { '.repeat(18)}name${' }'.repeat(18)} } } } } }`;
    expect(codes(await graphql({ query: nested }))).toContain('QUERY_TOO_DEEP');
  });

  it('database failures and internal errors are masked: no stack, no SQL, no driver message', async () => {
    const outOfRange = Buffer.from('Thing:99999999999').toString('base64');
    const cases = [
      { query: `{ node(id: "${outOfRange}") { id } }` },
      { query: '{ node(id: "%%%") { id } }' },
      { query: `{ nodes(ids: ["${Buffer.from('User:1e400').toString('base64')}"]) { id } }` },
      { query: '{ user(username: "alice") { things(after: "%%%") { edges { node { id } } } } }' },
      { query: '{ user(username: "\\u0000") { id } }' },
      { query: 'query($u: String!) { user(username: $u) { id } }', variables: { u: 'x'.repeat(1_000_000) } },
      { query: 'query($ids: [Int!]!) { things(ids: $ids) { id } }', variables: { ids: [2_147_483_648] } },
      { query: '{ searchThings(textSearch: "a & | ! :* ( \'", first: 5) { totalCount } }' },
      { query: '{ thing(id: 1) { id ...on Nope { x } } }' },
      { query: '{ __typename', operationName: 'nope' },
    ];
    for (const body of cases) {
      const res = await graphql(body, { Authorization: `Bearer ${token}` });
      expect(res.status, res.text.slice(0, 200)).toBeLessThan(500);
      assertNoLeak(res.text);
      expect(res.text).not.toMatch(/originalError|stack/);
    }
  });
});
