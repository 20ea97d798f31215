import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { Fixtures } from './support/fixtures.js';
import { schema } from '../schema/index.js';
import { measureOperation } from '../schema/limits.js';
import { documentCost, graphqlWeight } from '../src/rate-limit/document-cost.js';

/**
 * Issue 15 (3): the cost of a document comes from the request's values. A page size given as a variable costs what
 * the variable says (its default when absent, the cap of 100 when absent without default or null), for `first` and
 * `last` alike; the rate-limit weight uses the same figure.
 */

const BY_VARIABLE = 'query Q($n: Int) { searchThings(first: $n) { edges { node { title flattrs(first: $n) { edges { node { createdAt } } } } } } }';
const BY_LITERAL = (n: number) => `query Q { searchThings(first: ${n}) { edges { node { title flattrs(first: ${n}) { edges { node { createdAt } } } } } } }`;
const WITH_DEFAULT = 'query Q($n: Int = 5) { searchThings(first: $n) { edges { node { title flattrs(first: $n) { edges { node { createdAt } } } } } } }';
const BY_LAST = 'query Q($n: Int) { searchThings(last: $n) { edges { node { title flattrs(last: $n) { edges { node { createdAt } } } } } } }';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '100000' });
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice' });
  await fx.thing(alice, { title: 'one', tags: ['x'] });
});

afterAll(async () => {
  await app?.close();
});

async function post(query: string, variables?: Record<string, unknown>) {
  return request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
}

const codes = (res: { json: () => any }) => ((res.json().errors ?? []) as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code);
const current = (res: { headers: Record<string, string> }) => Number(res.headers['x-ratelimit-current']);

describe('cost from the values of the variables', () => {
  it('measures a variable page size at its value, like the literal', () => {
    const cost = (query: string, variables: Record<string, unknown>) => measureOperation(schema, parse(query), 'Q', variables)!.cost;
    for (const n of [0, 1, 5, 20, 100]) expect(cost(BY_VARIABLE, { n })).toBe(cost(BY_LITERAL(n), {}));
    expect(cost(BY_VARIABLE, { n: 5 })).toBe(96);
    // Absent without a default, or null: the cap (100).
    expect(cost(BY_VARIABLE, {})).toBe(cost(BY_LITERAL(100), {}));
    expect(cost(BY_VARIABLE, { n: null })).toBe(cost(BY_LITERAL(100), {}));
    expect(cost(BY_LITERAL(100), {})).toBe(30401);
    // Absent with a default: the default.
    expect(cost(WITH_DEFAULT, {})).toBe(96);
    expect(cost(WITH_DEFAULT, { n: 100 })).toBe(30401);
    // `last` is priced as `first`.
    expect(cost(BY_LAST, { n: 5 })).toBe(96);
    expect(cost(BY_LAST, { n: 100 })).toBe(30401);
    // A value that does not coerce is left to execution (BAD_USER_INPUT), not priced.
    expect(measureOperation(schema, parse(BY_VARIABLE), 'Q', { n: 'five' })).toBeNull();
  });

  it('runs searchThings(first: $n) … flattrs(first: $n) with n = 5 and refuses n = 100, over HTTP', async () => {
    const small = await post(BY_VARIABLE, { n: 5 });
    expect(small.json().errors).toBeUndefined();
    expect(small.json().data.searchThings.edges).toHaveLength(1);
    expect((await post(BY_LITERAL(5))).json().errors).toBeUndefined();
    const big = await post(BY_VARIABLE, { n: 100 });
    expect(big.status).toBe(200);
    expect(big.json().errors).toEqual([{ message: 'Query is too expensive: estimated cost 30401 exceeds the limit of 20000', extensions: { code: 'QUERY_TOO_COSTLY' } }]);
    expect(big.json().data).toBeUndefined();
    // application/graphql-response+json: 400, as for the validation-time refusal.
    const strict = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: BY_VARIABLE, variables: { n: 100 } }),
    });
    expect(strict.status).toBe(400);
    expect(codes(strict)).toEqual(['QUERY_TOO_COSTLY']);
    // Missing variable: its default, or the cap.
    expect((await post(WITH_DEFAULT)).json().errors).toBeUndefined();
    expect(codes(await post(BY_VARIABLE))).toEqual(['QUERY_TOO_COSTLY']);
    // `last` too.
    expect(codes(await post(BY_LAST, { n: 100 }))).toEqual(['QUERY_TOO_COSTLY']);
    expect(codes(await post(BY_LAST, { n: 5 }))).not.toContain('QUERY_TOO_COSTLY');
    // A bad value is the coercion error, not a cost.
    expect(codes(await post(BY_VARIABLE, { n: 'five' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('a document over the limit whatever its variables is refused at validation', async () => {
    const res = await post('query Q($n: Int) { a: searchThings(first: 100) { edges { node { flattrs(first: 100) { edges { node { createdAt } } } } } } b: searchThings(first: $n) { edges { node { title } } } }', { n: 1 });
    expect(codes(res)).toEqual(['QUERY_TOO_COSTLY']);
  });
});

describe('the rate-limit weight uses the same value-based cost', () => {
  it('weighs 1 + floor(cost / 1000) at the values sent', async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ n: 5 }, 96],
      [{ n: 20 }, 1281],
      [{ n: 60 }, 11041],
    ];
    for (const [variables, expected] of cases) {
      expect(documentCost(schema, parse(BY_VARIABLE), 'Q', variables)).toBe(expected);
      const before = current(await post('{ __typename }'));
      const res = await post(BY_VARIABLE, variables);
      expect(res.json().errors).toBeUndefined();
      expect(current(res) - before, JSON.stringify(variables)).toBe(graphqlWeight(expected));
    }
    expect([graphqlWeight(96), graphqlWeight(1281), graphqlWeight(11041)]).toEqual([1, 2, 12]);
    // Refused for its cost: not executed, weighs 1.
    const before = current(await post('{ __typename }'));
    expect(current(await post(BY_VARIABLE, { n: 100 })) - before).toBe(1);
  });
});
