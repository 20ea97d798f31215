import fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { GraphQLError, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { GRAPHQL_ERROR_CODES } from '../schema/error-codes.js';
import { createGraphQLServer } from '../src/server/graphql-server.js';
import { withErrorCode } from '../src/server/graphql-errors.js';

/**
 * Issue 15 (4): every entry of `errors[]` on /graphql carries an `extensions.code` of schema/error-codes.ts, from
 * the HTTP request to execution; unexpected errors are INTERNAL_SERVER_ERROR with a generic message, and logged.
 */

let app: TestApp;
let limited: TestApp;
let tls: TestApp;

beforeAll(async () => {
  [app, limited, tls] = await Promise.all([
    startTestApp({ RATE_LIMIT_PER_HOUR: '100000' }),
    startTestApp({ RATE_LIMIT_PER_HOUR: '1' }),
    startTestApp({ REQUIRE_TLS: 'true' }),
  ]);
});

afterAll(async () => {
  await Promise.all([app?.close(), limited?.close(), tls?.close()]);
});

const CODES = Object.keys(GRAPHQL_ERROR_CODES);

async function send(target: TestApp, init: { method?: string; body?: string; headers?: Record<string, string>; query?: string }) {
  return request(target.baseUrl, `/graphql${init.query ?? ''}`, {
    method: init.method ?? 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...init.headers },
    body: init.body,
  });
}

const json = (value: unknown) => JSON.stringify(value);

describe('request-level errors get a code of the set', () => {
  const cases: { name: string; status: number; code: string; message?: RegExp; target?: () => TestApp; init: Parameters<typeof send>[1] }[] = [
    { name: 'syntax error', status: 200, code: 'GRAPHQL_PARSE_FAILED', message: /^Syntax Error/, init: { body: json({ query: '{ a' }) } },
    { name: 'validation error', status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "nope"/, init: { body: json({ query: '{ nope }' }) } },
    { name: 'variable of the wrong type', status: 400, code: 'BAD_USER_INPUT', message: /^Variable "\$n" got invalid value "x"/, init: { body: json({ query: 'query($n: Int!) { things(ids: [$n]) { title } }', variables: { n: 'x' } }) } },
    { name: 'required variable missing', status: 400, code: 'BAD_USER_INPUT', message: /^Variable "\$n" of required type "Int!" was not provided/, init: { body: json({ query: 'query($n: Int!) { things(ids: [$n]) { title } }' }) } },
    { name: 'negative page size (Pothos)', status: 200, code: 'BAD_USER_INPUT', message: /"first"/, init: { body: json({ query: '{ searchThings(first: -1) { edges { node { title } } } }' }) } },
    { name: 'bad cursor (Pothos)', status: 200, code: 'BAD_USER_INPUT', init: { body: json({ query: '{ searchThings(first: 1, after: "%%%") { edges { node { title } } } }' }) } },
    { name: 'unknown operation name', status: 400, code: 'BAD_REQUEST', init: { body: json({ query: '{ __typename }', operationName: 'Nope' }) } },
    { name: 'malformed JSON', status: 400, code: 'BAD_REQUEST', message: /invalid JSON/, init: { body: '{nope' } },
    { name: 'no query', status: 200, code: 'BAD_REQUEST', init: { body: json({}) } },
    { name: 'mutation over GET', status: 405, code: 'BAD_REQUEST', init: { method: 'GET', query: `?query=${encodeURIComponent('mutation { __typename }')}` } },
    { name: 'unsupported method', status: 405, code: 'BAD_REQUEST', init: { method: 'PUT', body: json({ query: '{ __typename }' }) } },
    { name: 'unsupported content type', status: 415, code: 'BAD_REQUEST', init: { body: '<a/>', headers: { 'Content-Type': 'text/xml' } } },
    { name: 'body too large', status: 413, code: 'BAD_REQUEST', init: { body: json({ query: '{ __typename }', padding: 'x'.repeat(1_100_000) }) } },
    { name: 'too deep', status: 200, code: 'QUERY_TOO_DEEP', init: { body: json({ query: `{ thing(id: 1) { ${'owner { things(first: 1) { edges { node { '.repeat(3)}title${' } } } }'.repeat(3)} } }` }) } },
    { name: 'too costly', status: 200, code: 'QUERY_TOO_COSTLY', init: { body: json({ query: `{ ${Array.from({ length: 400 }, (_, i) => `c${i}: categories { id text }`).join(' ')} }` }) } },
    { name: 'invalid token', status: 401, code: 'UNAUTHENTICATED', init: { body: json({ query: '{ __typename }' }), headers: { Authorization: 'Bearer nope' } } },
    { name: 'plain HTTP with REQUIRE_TLS', status: 401, code: 'TLS_REQUIRED', message: /^Requires ssl$/, target: () => tls, init: { body: json({ query: '{ __typename }' }) } },
    { name: 'persisted query unknown', status: 404, code: 'PERSISTED_QUERY_NOT_FOUND', init: { body: json({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }) } },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}`, async () => {
      const res = await send(c.target?.() ?? app, c.init);
      expect(res.status, res.text.slice(0, 300)).toBe(c.status);
      expect(res.headers['content-type']).toMatch(/json/);
      const errors = res.json().errors as { message: string; extensions?: { code?: string } }[];
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(CODES, error.message).toContain(error.extensions?.code);
      expect(errors[0]!.extensions!.code).toBe(c.code);
      if (c.message) expect(errors[0]!.message).toMatch(c.message);
    });
  }

  it('rate limited: 429 RATE_LIMITED', async () => {
    await send(limited, { body: json({ query: '{ __typename }' }) });
    const res = await send(limited, { body: json({ query: '{ __typename }' }) });
    expect(res.status).toBe(429);
    expect(res.json().errors).toEqual([{ message: 'Rate limit exceeded', extensions: { code: 'RATE_LIMITED' } }]);
  });
});

describe('unexpected errors', () => {
  function failingServer() {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          boom: { type: GraphQLString, resolve: () => { throw new TypeError("Cannot read properties of undefined (reading 'secret_column')"); } },
          uncoded: { type: GraphQLString, resolve: () => { throw new GraphQLError('deliberate, but without a code'); } },
          coded: { type: GraphQLString, resolve: () => { throw new GraphQLError('not here', { extensions: { code: 'NOT_FOUND' } }); } },
          fine: { type: GraphQLString, resolve: () => 'ok' },
        },
      }),
    });
    const yoga = createGraphQLServer(schema, { maxDepth: 12, maxCost: 20000 }, [], { logger });
    const run = async (query: string) => {
      const res = await yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query }) });
      return { status: res.status, body: (await res.json()) as { data?: unknown; errors: { message: string; path?: string[]; extensions: Record<string, unknown> }[] } };
    };
    return { run, lines };
  }

  it('a thrown non-GraphQL error: INTERNAL_SERVER_ERROR "Unexpected error.", the original only in the log', async () => {
    const { run, lines } = failingServer();
    const { body } = await run('{ boom fine }');
    expect(body.data).toEqual({ boom: null, fine: 'ok' });
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatchObject({ message: 'Unexpected error.', path: ['boom'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(body)).not.toContain('secret_column');
    expect(lines.join('')).toContain('secret_column');
  });

  it('a GraphQLError without a code: INTERNAL_SERVER_ERROR, generic, logged; a coded one is kept', async () => {
    const { run, lines } = failingServer();
    const { body } = await run('{ uncoded coded }');
    const byPath = Object.fromEntries(body.errors.map((e) => [e.path![0], e]));
    expect(byPath.uncoded).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(byPath.coded).toMatchObject({ message: 'not here', extensions: { code: 'NOT_FOUND' } });
    expect(lines.join('')).toContain('deliberate, but without a code');
  });

  it('withErrorCode keeps codes of the set and renames Yoga codes outside it', () => {
    const kept = new GraphQLError('x', { extensions: { code: 'FORBIDDEN' } });
    expect(withErrorCode(kept)).toBe(kept);
    expect((withErrorCode(new GraphQLError('Request body too large', { extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } } })) as GraphQLError).extensions).toEqual({ code: 'BAD_REQUEST', http: { status: 413 } });
    expect((withErrorCode(new GraphQLError('Variable "$x" got invalid value 1; boom')) as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('README "GraphQL errors"', () => {
  it('lists exactly the codes of schema/error-codes.ts', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### GraphQL errors'), readme.indexOf('## Rate limiting'));
    const listed = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(CODES);
  });
});
