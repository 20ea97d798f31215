import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientSchema, getIntrospectionQuery, parse, printSchema, type IntrospectionQuery } from 'graphql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { schema } from '../schema/index.js';
import { INTROSPECTION_LIMITS, measureOperation } from '../schema/limits.js';
import { operationWeight } from '../src/rate-limit/document-cost.js';

/**
 * Issue 15 (1): introspection for tools. The standard introspection query, with every option graphql-js 16.15 has,
 * runs anonymously over HTTP and is counted by the rate limit; abusive introspection is still refused with a code;
 * data queries keep their own depth and cost limits.
 */

const FULL = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '100000' });
});

afterAll(async () => {
  await app?.close();
});

async function post(query: string, headers: Record<string, string> = {}) {
  return request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

const codes = (res: { json: () => any }) => ((res.json().errors ?? []) as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code);

describe('the standard introspection query', () => {
  it('measures depth 15 and cost 1,095,763 against the introspection bounds (depth 20, cost 2,000,000)', () => {
    const measured = measureOperation(schema, parse(FULL), 'IntrospectionQuery', {})!;
    console.log(
      `standard introspection query (all options): depth ${measured.introspectionDepth} / ${INTROSPECTION_LIMITS.maxDepth}, ` +
        `cost ${measured.introspectionCost} / ${INTROSPECTION_LIMITS.maxCost}, data depth ${measured.depth}, data cost ${measured.cost}, ` +
        `rate-limit weight ${operationWeight(measured)}`,
    );
    // The measure depends on graphql-js's introspection types only, not on this schema's size.
    expect(measured).toEqual({ depth: 0, cost: 0, introspectionDepth: 15, introspectionCost: 1_095_763 });
    expect(measured.introspectionDepth + 5).toBeLessThanOrEqual(INTROSPECTION_LIMITS.maxDepth);
    expect(measured.introspectionCost * 1.8).toBeLessThan(INTROSPECTION_LIMITS.maxCost);
    expect(operationWeight(measured)).toBe(6);
  });

  it('runs anonymously over HTTP, is counted, and buildClientSchema accepts the answer', async () => {
    const before = await post('{ __typename }');
    const res = await post(FULL);
    expect(res.status).toBe(200);
    const body = res.json() as { data: IntrospectionQuery; errors?: unknown };
    expect(body.errors).toBeUndefined();
    const client = buildClientSchema(body.data);
    expect(client.getQueryType()?.name).toBe('Query');
    expect(printSchema(client)).toContain('type Query');
    // Counted: weight 6 (1 + floor(1,095,763 / 200,000)).
    expect(Number(res.headers['x-ratelimit-current']) - Number(before.headers['x-ratelimit-current'])).toBe(6);
    expect(body.data.__schema.types.length).toBeGreaterThan(10);
  });

  it('also over GET, as tools send it', async () => {
    const res = await request(app.baseUrl, `/graphql?query=${encodeURIComponent(FULL)}`, { headers: { Accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(() => buildClientSchema(res.json().data)).not.toThrow();
  });
});

describe('abusive introspection is still refused', () => {
  it('nested 100 deep: QUERY_TOO_DEEP (and too costly)', async () => {
    let inner = 'name';
    for (let i = 0; i < 50; i++) inner = `fields { type { ${inner} } }`;
    const res = await post(`{ __schema { types { ${inner} } } }`);
    expect(res.json().data).toBeUndefined();
    expect(codes(res)).toContain('QUERY_TOO_DEEP');
    expect(res.json().errors[0].message).toMatch(/^Introspection is too deep: depth 103 exceeds the limit of 20/);
  });

  it('nested within the depth bound but exponential: QUERY_TOO_COSTLY', async () => {
    const res = await post('{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }');
    // graphql-js 16.15's own MaxIntrospectionDepthRule refuses it too (GRAPHQL_VALIDATION_FAILED).
    expect(codes(res)).toContain('QUERY_TOO_COSTLY');
    expect(res.json().errors.map((e: { message: string }) => e.message)).toContain('Introspection is too expensive: estimated cost 25975832 exceeds the limit of 2000000');
    // Without `fields` three deep (so graphql-js's rule lets it through), the cost bound alone refuses it.
    const wide = await post('{ __schema { types { fields { args { type { enumValues { name description isDeprecated deprecationReason } } } } } } }');
    expect(codes(wide)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('aliased full introspections: two are too many', async () => {
    const selection = FULL.slice(FULL.indexOf('__schema'), FULL.indexOf('fragment FullType')).trim().replace(/\}\s*$/, '');
    const fragments = FULL.slice(FULL.indexOf('fragment FullType'));
    const one = await post(`query { a: ${selection} } ${fragments}`);
    expect(one.json().errors).toBeUndefined();
    const two = await post(`query { a: ${selection} b: ${selection} } ${fragments}`);
    expect(codes(two)).toEqual(['QUERY_TOO_COSTLY']);
    const many = await post(`query { ${Array.from({ length: 50 }, (_, i) => `a${i}: __type(name: "Query") { name }`).join(' ')} ${Array.from({ length: 100 }, (_, i) => `s${i}: __schema { types { fields { args { name } } } }`).join(' ')} }`);
    expect(codes(many)).toContain('QUERY_TOO_COSTLY');
  });

  it('__typename stays an ordinary field, not introspection: free of the introspection bounds', async () => {
    const measured = measureOperation(schema, parse('{ __typename }'), null, {})!;
    expect(measured).toEqual({ depth: 1, cost: 1, introspectionDepth: 0, introspectionCost: 0 });
    expect((await post('{ __typename }')).json().data).toEqual({ __typename: 'Query' });
  });
});

describe('data queries keep their limits', () => {
  it('a data selection 13 deep is QUERY_TOO_DEEP even next to introspection', async () => {
    let inner = 'username';
    for (let i = 0; i < 4; i++) inner = `owner { things(first: 1) { edges { node { ${inner} } } } }`;
    // thing(1) + 4 × (owner, things, edges, node) = 17 levels... trimmed to 13 below.
    const deep = `{ __schema { queryType { name } } thing(id: 1) { owner { things(first: 1) { edges { node { owner { things(first: 1) { edges { node { owner { things(first: 1) { edges { node { title } } } } } } } } } } } } } }`;
    const res = await post(deep);
    expect(codes(res)).toEqual(['QUERY_TOO_DEEP']);
    expect(res.json().errors[0].message).toBe('Query is too deep: depth 14 exceeds the limit of 12');
  });

  it('data cost is counted apart from introspection cost', () => {
    const measured = measureOperation(schema, parse('{ __type(name: "Thing") { name fields { name } } categories { id } }'), null, {})!;
    expect(measured).toEqual({ depth: 2, cost: 31, introspectionDepth: 3, introspectionCost: 33 });
  });
});
