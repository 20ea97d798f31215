import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import type { IncomingMessage } from 'node:http';
import { JsonpCallbackError, RestError } from '../rest-facade/errors.js';
import { CORS_HEADERS } from '../rest-facade/cors.js';
import { routes } from '../rest-facade/routes/index.js';
import { rateLimitRoute } from '../rest-facade/routes/rate-limit.js';
import { routeKind, type OperationData, type OperationRoute, type RestRoute } from '../rest-facade/route.js';
import type { RestRequest } from '../rest-facade/request.js';
import { errorPresentation, negotiate, pickFormat, requireFormat, routePath } from '../rest-facade/steps/negotiate.js';
import { createRouteTable, effectiveMethod } from '../rest-facade/steps/match.js';
import { authorize, checkCredentials, presentedTokenOf, singleToken } from '../rest-facade/steps/authenticate.js';
import { admit } from '../rest-facade/steps/admit.js';
import { operationCall, restRequest } from '../rest-facade/steps/parse.js';
import { execute, restErrorOf } from '../rest-facade/steps/execute.js';
import { shapeRateLimit, shapeResult } from '../rest-facade/steps/shape.js';
import { renderAnswer, renderError } from '../rest-facade/steps/render.js';
import { answerHeaders, noContentHeaders, rateLimitHeadersOf, tokenCacheHeaders } from '../rest-facade/steps/headers.js';
import { tlsMissing } from '../src/http/tls.js';
import { admitRequest, admittedHeaders } from '../src/http/admission.js';
import { observeClient, observeRest, observeRoute } from '../src/http/observation.js';
import type { Authenticate, Viewer } from '../src/http/viewer.js';
import { RateLimitGate } from '../src/rate-limit/admission.js';
import { createMemoryRateLimiter } from '../src/rate-limit/limiter.js';
import type { GraphQLContext } from '../schema/context.js';

// Each step of the REST pipeline (rest-facade/steps/) and each step REST shares with /graphql (src/http/),
// called directly: no app, no database, no HTTP.

const em = {} as GraphQLContext['em'];
const reqFrom = (address: string) => ({ headers: {}, socket: { remoteAddress: address } }) as unknown as IncomingMessage;
const viewer = (scopes: string[], clientId = 'client-1') => ({ user: { id: 7 }, scopes: new Set(scopes), tokenId: 1, clientId }) as unknown as Viewer;
const gate = (limit = 2) => new RateLimitGate(createMemoryRateLimiter({ rateLimitPerHour: limit, rateLimitWindowSeconds: 3600 }, pino({ level: 'silent' })));
const settings = { now: new Date('2024-01-02T03:04:05Z'), siteUrl: 'https://site.test' };

function request(overrides: Partial<RestRequest> = {}): RestRequest {
  return restRequest({
    method: 'GET',
    params: {},
    query: new Map(),
    rawQuery: '',
    body: { params: new Map(), kind: 'none', rawForm: null },
    format: 'json',
    viewer: null,
    settings: { maxPageSize: 30, apiUrl: 'https://api.test', siteUrl: 'https://site.test', tagAuthority: 'site.test' },
    ...overrides,
  } as Parameters<typeof restRequest>[0]);
}

const operationRoute = (overrides: Partial<OperationRoute<'ThingById'>> = {}): OperationRoute<'ThingById'> => ({
  name: 'T1 test',
  method: 'GET',
  path: '/test/:id',
  auth: 'optional',
  family: 'things',
  formats: ['json', 'xml', 'yaml'],
  root: 'thing',
  operation: 'ThingById',
  parameters: [{ name: 'id', in: 'path', type: 'integer' }],
  openapi: { operationId: 'test', tag: 'Things', summary: 'Test' },
  variables: (req) => ({ id: Number(req.params.id) }),
  shape: (data) => data.thing,
  ...overrides,
});

describe('negotiate', () => {
  it('strips one trailing slash and a format suffix (§1.4)', () => {
    expect(routePath('/things/1.xml')).toEqual({ path: '/things/1', suffix: 'xml' });
    expect(routePath('/things/')).toEqual({ path: '/things', suffix: null });
    expect(routePath('/users/waha.06x36')).toEqual({ path: '/users/waha.06x36', suffix: null });
    expect(routePath('/')).toEqual({ path: '/', suffix: null });
  });

  it('keeps a rest-of-path as sent (D98)', () => {
    const n = negotiate({ method: 'GET', rawPath: '/things/lookup/q/a.xml/', query: new Map(), accept: undefined, restOfPath: true });
    expect([n.path, n.suffix]).toEqual(['/things/lookup/q/a.xml/', null]);
  });

  it('applies jsonp to GET/HEAD without a non-JSON suffix only (§5.10)', () => {
    const query = new Map([['jsonp', 'cb']]);
    expect(negotiate({ method: 'GET', rawPath: '/x', query, accept: undefined, restOfPath: false })).toMatchObject({ jsonp: 'cb', callback: 'cb' });
    expect(negotiate({ method: 'POST', rawPath: '/x', query, accept: undefined, restOfPath: false })).toMatchObject({ jsonp: null, callback: null });
    expect(negotiate({ method: 'GET', rawPath: '/x.xml', query, accept: undefined, restOfPath: false })).toMatchObject({ jsonp: null, callback: null });
    const bad = negotiate({ method: 'HEAD', rawPath: '/x', query: new Map([['jsonp', 'a b']]), accept: undefined, restOfPath: false });
    expect(bad).toMatchObject({ jsonp: 'a b', callback: null });
  });

  it('picks the format: jsonp means JSON (or the Activity Streams default), else §5.3', () => {
    const withJsonp = negotiate({ method: 'GET', rawPath: '/x', query: new Map([['jsonp', 'cb']]), accept: 'text/xml', restOfPath: false });
    expect(pickFormat(withJsonp, ['json', 'xml'])).toBe('json');
    expect(pickFormat(withJsonp, ['as', 'atom', 'json'])).toBe('as');
    const xml = negotiate({ method: 'GET', rawPath: '/x', query: new Map(), accept: 'text/xml', restOfPath: false });
    expect(pickFormat(xml, ['json', 'xml'])).toBe('xml');
    expect(pickFormat(xml, ['json'])).toBeNull();
  });

  it('refuses no format with 406, then an invalid callback with its own error type (step 7)', () => {
    const plain = negotiate({ method: 'GET', rawPath: '/x', query: new Map(), accept: undefined, restOfPath: false });
    expect(() => requireFormat(plain, null)).toThrow(expect.objectContaining({ code: 'not_acceptable' }));
    expect(requireFormat(plain, 'json')).toBe('json');
    const bad = negotiate({ method: 'GET', rawPath: '/x', query: new Map([['jsonp', '1x']]), accept: undefined, restOfPath: false });
    let thrown: unknown;
    try {
      requireFormat(bad, 'json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(JsonpCallbackError);
    expect(thrown).toMatchObject({ code: 'invalid_parameters', message: 'Invalid jsonp callback', status: 400, crossCutting: true });
  });

  it('never wraps a 406 or an invalid-callback error; wraps others once a format is picked', () => {
    const n = negotiate({ method: 'GET', rawPath: '/x', query: new Map([['jsonp', 'cb']]), accept: undefined, restOfPath: false });
    expect(errorPresentation(n, null, new RestError('not_acceptable'))).toEqual({ format: null, callback: null });
    expect(errorPresentation(n, 'json', new JsonpCallbackError())).toEqual({ format: 'json', callback: null });
    expect(errorPresentation(n, 'json', new RestError('not_found'))).toEqual({ format: 'json', callback: 'cb' });
    expect(errorPresentation(n, null, new RestError('invalid_request'))).toEqual({ format: null, callback: null });
  });
});

describe('match', () => {
  const table = createRouteTable(routes);

  it('matches routes in precedence order, HEAD as GET', () => {
    expect(table.match('/things/search', 'GET', false)?.route.name).toBe('E11 things.search');
    expect(table.match('/things/12', 'HEAD', false)).toMatchObject({ params: { id: '12' } });
    expect(table.match('/rate_limit', 'GET', false)?.route).toBe(rateLimitRoute);
    expect(table.match('/nothing', 'GET', false)).toBeNull();
  });

  it('gives a rest-of-path prefix to its route alone (D98)', () => {
    expect(table.isRestOfPath('/things/lookup/q/http://a/b')).toBe(true);
    expect(table.match('/things/lookup/q/http://a/b', 'GET', true)).toMatchObject({ params: { url: 'http://a/b' } });
    expect(table.match('/things/lookup/q/x', 'POST', true)).toBeNull();
  });

  it('overrides POST only, body first, and drops the used _method (D4)', () => {
    const body = new Map<string, unknown>([['_method', 'patch']]);
    const query = new Map([['_method', 'DELETE']]);
    expect(effectiveMethod('POST', body, query, 'PUT')).toBe('PATCH');
    expect([body.has('_method'), query.has('_method')]).toEqual([false, false]);
    expect(effectiveMethod('POST', new Map(), new Map(), 'GET')).toBe('POST');
    expect(effectiveMethod('GET', new Map([['_method', 'DELETE']]), new Map(), undefined)).toBe('GET');
  });

  it('refuses a rest-of-path route whose path does not end in one parameter', () => {
    expect(() => createRouteTable([operationRoute({ path: '/a/b', restOfPath: true })])).toThrow(/restOfPath/);
  });
});

describe('authenticate', () => {
  it('finds the token in the header, the query or the body; several are "multiple" (§3.1)', () => {
    const none = new Map<string, string>();
    expect(presentedTokenOf({ authorization: 'Bearer abc', query: none, body: new Map() })).toEqual({ token: 'abc' });
    expect(presentedTokenOf({ authorization: undefined, query: new Map([['access_token', 'q']]), body: new Map() })).toEqual({ token: 'q' });
    const several = presentedTokenOf({ authorization: 'OAuth h', query: none, body: new Map([['access_token', 'b']]) });
    expect(several).toEqual({ multiple: true });
    expect(singleToken(several)).toBeNull();
    expect(singleToken({ token: 't' })).toBe('t');
    expect(singleToken(null)).toBeNull();
  });

  it('answers several tokens 400, then an invalid one 401 (step 6)', () => {
    expect(() => checkCredentials({ multiple: true }, false)).toThrow(expect.objectContaining({ code: 'invalid_request', status: 400 }));
    expect(() => checkCredentials({ token: 't' }, true)).toThrow(expect.objectContaining({ code: 'unauthorized', status: 401 }));
    expect(() => checkCredentials({ token: 't' }, false)).not.toThrow();
  });

  it('checks the authentication level, then the scope (step 10)', () => {
    expect(() => authorize(operationRoute({ auth: 'required' }), null)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    expect(() => authorize(operationRoute({ auth: 'optional', scope: 'thing' }), viewer(['flattr']))).toThrow(
      expect.objectContaining({ code: 'insufficient_scope', headers: { 'WWW-Authenticate': 'Bearer realm="flattr", error="insufficient_scope", scope="thing"' } }),
    );
    expect(() => authorize(operationRoute({ auth: 'required', scope: 'thing' }), viewer(['thing']))).not.toThrow();
  });
});

describe('admit', () => {
  const deps = (authenticate: Authenticate, limit = 2) => ({ rateLimits: gate(limit), trustProxy: false, authenticate });

  it('counts, authenticates through the injected function on the request entity manager, and picks the token bucket', async () => {
    const seen: unknown[] = [];
    const d = deps(async (token, manager) => {
      seen.push([token, manager]);
      return token === 'good' ? viewer(['flattr']) : null;
    });
    const admitted = await admit(d, { req: reqFrom('10.0.0.1') }, { token: 'good', route: operationRoute(), em });
    expect(admitted).toMatchObject({ allowed: true, tokenInvalid: false, state: { current: 1 } });
    expect(admitted.bucket).toMatch(/^token:[0-9a-f]{64}$/);
    expect(admitted.viewer?.clientId).toBe('client-1');
    expect(seen).toEqual([['good', em]]);
    const invalid = await admit(d, { req: reqFrom('10.0.0.1') }, { token: 'bad', route: operationRoute(), em });
    expect(invalid).toMatchObject({ allowed: true, tokenInvalid: true, viewer: null, bucket: 'ip:10.0.0.1' });
  });

  it('refuses a full bucket with 403 rate_limit_exceeded and Retry-After', async () => {
    const d = deps(async () => null, 1);
    await admit(d, { req: reqFrom('10.0.0.2') }, { token: null, route: null, em });
    const refusal = admit(d, { req: reqFrom('10.0.0.2') }, { token: null, route: null, em });
    await expect(refusal).rejects.toMatchObject({ code: 'rate_limit_exceeded', status: 403, headers: expect.objectContaining({ 'Retry-After': expect.any(String) }) });
  });

  it('reads without counting for a rate_limit route', async () => {
    const d = deps(async () => null, 1);
    for (let i = 0; i < 3; i++) {
      const admitted = await admit(d, { req: reqFrom('10.0.0.3') }, { token: null, route: rateLimitRoute, em });
      expect([admitted.allowed, admitted.counted, admitted.state.current]).toEqual([true, null, 0]);
      expect(rateLimitHeadersOf(admitted)).toEqual({});
    }
  });
});

describe('route kinds', () => {
  it('serves E25 by its kind, without an operation; every other route runs an operation', () => {
    expect(routes.filter((route) => routeKind(route) === 'rate_limit')).toEqual([rateLimitRoute]);
    expect('operation' in rateLimitRoute).toBe(false);
    for (const route of routes.filter((r): r is OperationRoute => routeKind(r) === 'operation')) {
      expect(['string', 'function']).toContain(typeof route.operation);
    }
  });
});

describe('parse', () => {
  it('builds the request routes read', () => {
    const req = request({ method: 'PATCH' } as Partial<RestRequest>);
    expect(req).toMatchObject({ method: 'PATCH', bodyKind: 'none', maxPageSize: 30, links: { apiUrl: 'https://api.test', siteUrl: 'https://site.test', tagAuthority: 'site.test' } });
  });

  it('computes the variables first, then the operation name', () => {
    const order: string[] = [];
    const route = operationRoute({
      variables: () => (order.push('variables'), { a: 1 }),
      operation: () => (order.push('operation'), 'ThingById'),
    });
    expect(operationCall(route, request())).toEqual({ name: 'ThingById', variables: { a: 1 } });
    expect(order).toEqual(['variables', 'operation']);
    expect(() => operationCall(operationRoute({ variables: () => { throw new RestError('invalid_parameters'); } }), request())).toThrow(RestError);
  });
});

describe('execute', () => {
  const gqlError = (message: string, extensions: Record<string, unknown>) => new GraphQLError(message, { extensions });

  it('maps GraphQL error codes to the v2 catalogue', () => {
    expect(restErrorOf(gqlError('x', { code: 'UNAUTHENTICATED' }))).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(restErrorOf(gqlError('x', { code: 'FORBIDDEN', requiredScope: 'flattr' }))).toMatchObject({ code: 'insufficient_scope' });
    expect(restErrorOf(gqlError('Validation failed: title', { code: 'BAD_USER_INPUT', reason: 'VALIDATION' }))).toMatchObject({ code: 'validation', message: 'Validation failed: title' });
    expect(restErrorOf(gqlError('bad', { code: 'BAD_USER_INPUT' }))).toMatchObject({ code: 'invalid_parameters', message: 'bad' });
    expect(restErrorOf(gqlError('no', { code: 'FORBIDDEN' }))).toMatchObject({ code: 'forbidden', message: 'no' });
    expect(restErrorOf(gqlError('gone', { code: 'NOT_FOUND' }))).toMatchObject({ code: 'not_found', message: 'gone' });
    const original = new Error('boom');
    expect(restErrorOf(new GraphQLError('boom', { originalError: original }))).toBe(original);
  });

  it("words a BAD_USER_INPUT on an argument as the route says (§10.3), keeping the code", () => {
    const tags = gqlError('Invalid tags expression at position 3: detail', { code: 'BAD_USER_INPUT', reason: 'INVALID_PARAMETERS', argument: 'tags' });
    const route = { argumentErrors: { tags: 'Invalid tags expression' } };
    expect(restErrorOf(tags, route)).toMatchObject({ code: 'invalid_parameters', message: 'Invalid tags expression', crossCutting: false });
    expect(restErrorOf(tags)).toMatchObject({ message: 'Invalid tags expression at position 3: detail' });
    const other = gqlError('other', { code: 'BAD_USER_INPUT', argument: 'query' });
    expect(restErrorOf(other, route)).toMatchObject({ message: 'other' });
  });

  it('runs the operation with the context, reports it, and throws its first error', async () => {
    const context = { em, viewer: null } as unknown as GraphQLContext;
    const calls: unknown[] = [];
    const operations = {
      execute: async (name: string, variables: Record<string, unknown>, ctx: unknown) => {
        calls.push([name, variables, ctx]);
        return name === 'Fails' ? { errors: [gqlError('nope', { code: 'NOT_FOUND' })] } : { data: { ok: true } };
      },
    };
    const observation = { operation: null as null | { name: string; ms: number; ok: boolean } };
    expect(await execute(operations, {}, { name: 'Works', variables: { a: 1 } }, context, observation)).toEqual({ ok: true });
    expect(calls).toEqual([['Works', { a: 1 }, context]]);
    expect(observation.operation).toMatchObject({ name: 'Works', ok: true });
    await expect(execute(operations, {}, { name: 'Fails', variables: {} }, context, observation)).rejects.toMatchObject({ code: 'not_found' });
    expect(observation.operation).toMatchObject({ name: 'Fails', ok: false });
  });
});

describe('shape', () => {
  it('shapes eagerly, with status, headers and a lazy feed', () => {
    let feeds = 0;
    const route = operationRoute({
      status: 201,
      headers: () => ({ Location: 'https://api.test/things/1' }),
      feed: () => (feeds++, { id: 'f', title: 't', username: 'u', items: [] }),
    });
    // Not a whole ThingById result: the shape returns it as it is.
    const shaped = shapeResult(route, { thing: { id: 1 } } as unknown as OperationData<'ThingById'>, request());
    expect(shaped).toMatchObject({ status: 201, headers: { Location: 'https://api.test/things/1' }, output: { root: 'thing', value: { id: 1 } } });
    expect(feeds).toBe(0);
    shaped.output.feed!();
    expect(feeds).toBe(1);
    expect(() => shapeResult(operationRoute({ shape: () => { throw new RestError('not_found'); } }), { thing: null }, request())).toThrow(RestError);
  });

  it('shapes the bucket for E25: always 200, no headers', () => {
    const state = { limit: 100, windowSeconds: 3600, current: 3, reset: 1_700_000_000, at: 1_699_999_000_000 };
    const shaped = shapeRateLimit(rateLimitRoute, state, request());
    expect(shaped.status).toBe(200);
    expect(shaped.headers).toEqual({});
    expect(shaped.output.root).toBe('rate_limit');
    expect(shaped.output.value).toMatchObject({ hourly_limit: 100, current_hits: 3 });
  });
});

describe('render', () => {
  const shaped = { status: 200, output: { root: 'thing', value: { id: 1 } }, headers: { 'X-Extra': '1' } };
  const options = { format: 'json' as const, callback: null, etag: false, ifNoneMatch: undefined };

  it('renders in the negotiated format with CORS, Vary and the route headers, Content-Type last', () => {
    const answer = renderAnswer(shaped, options, settings);
    expect(answer).toEqual({ status: 200, headers: { ...CORS_HEADERS, Vary: 'Accept', 'X-Extra': '1', 'Content-Type': 'application/json; charset=utf-8' }, body: '{"id":1}' });
    expect(Object.keys(answer.headers).at(-1)).toBe('Content-Type');
    expect(renderAnswer(shaped, { ...options, format: 'xml' }, settings).body).toContain('<thing>');
  });

  it('wraps JSONP with nosniff (§5.10)', () => {
    const answer = renderAnswer(shaped, { ...options, callback: 'cb' }, settings);
    expect(answer.body).toBe('/**/cb({"id":1});');
    expect(answer.headers).toMatchObject({ 'X-Content-Type-Options': 'nosniff', 'Content-Type': 'application/javascript; charset=utf-8' });
  });

  it('gives a strong ETag and 304 on a matching If-None-Match (D95)', () => {
    const first = renderAnswer(shaped, { ...options, etag: true }, settings);
    expect(first.headers.ETag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    const again = renderAnswer(shaped, { ...options, etag: true, ifNoneMatch: first.headers.ETag }, settings);
    expect([again.status, again.body, again.headers['Content-Type']]).toEqual([304, null, undefined]);
    expect(again.headers.ETag).toBe(first.headers.ETag);
  });

  it('answers 204 with CORS and the route headers only (§5.5)', () => {
    expect(renderAnswer({ ...shaped, status: 204 }, options, settings)).toEqual({ status: 204, headers: { ...CORS_HEADERS, 'X-Extra': '1' }, body: null });
  });

  it('renders errors in json, xml or yaml, as JSON otherwise, JSON when wrapped (§6.1)', () => {
    const error = new RestError('not_found');
    const json = renderError(error, { format: 'atom', callback: null, family: 'things', docsUrl: 'https://docs.test' }, settings);
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body!)).toEqual({ error: 'not_found', error_description: 'The resource was not found', error_uri: 'https://docs.test/api/resources/things/' });
    expect(renderError(error, { format: 'yaml', callback: null, family: null, docsUrl: 'https://docs.test' }, settings).headers['Content-Type']).toBe('application/yaml; charset=utf-8');
    const wrapped = renderError(error, { format: 'xml', callback: 'cb', family: null, docsUrl: 'https://docs.test' }, settings);
    expect(wrapped.body).toMatch(/^\/\*\*\/cb\(\{"error":"not_found"/);
    expect(wrapped.headers.ETag).toBeUndefined();
  });
});

describe('headers', () => {
  it('puts CORS and Vary first, the extra headers after, nosniff on JSONP', () => {
    expect(Object.keys(answerHeaders({ A: '1' }, true))).toEqual([...Object.keys(CORS_HEADERS), 'Vary', 'A', 'X-Content-Type-Options']);
    expect(noContentHeaders({ A: '1' })).toEqual({ ...CORS_HEADERS, A: '1' });
  });

  it('makes an answer private when the token came in the query string', () => {
    expect(tokenCacheHeaders({ token: 't' }, new Map([['access_token', 't']]))).toEqual({ 'Cache-Control': 'private' });
    expect(tokenCacheHeaders({ token: 't' }, new Map())).toEqual({});
    expect(tokenCacheHeaders({ multiple: true }, new Map([['access_token', 't']]))).toEqual({});
  });
});

describe('steps shared with /graphql (src/http)', () => {
  it('tls: refuses only when REQUIRE_TLS is on and the request is not secure', () => {
    expect(tlsMissing({ secure: false }, { requireTls: true })).toBe(true);
    expect(tlsMissing({ secure: true }, { requireTls: true })).toBe(false);
    expect(tlsMissing({ secure: false }, { requireTls: false })).toBe(false);
  });

  it('admission: one gate, the injected authentication, headers only when counted', async () => {
    const d = { rateLimits: gate(5), trustProxy: false, authenticate: async (token: string) => (token === 'ok' ? viewer(['stats'], 'dash') : null) };
    const counted = await admitRequest(d, { req: reqFrom('10.0.0.9') }, { token: 'ok', count: true, em });
    expect(counted.viewer?.clientId).toBe('dash');
    expect(admittedHeaders(counted)).toMatchObject({ 'X-RateLimit-Limit': '5', 'X-RateLimit-Current': '1' });
    const peeked = await admitRequest(d, { req: reqFrom('10.0.0.9') }, { token: 'ok', count: false, em });
    expect([peeked.state.current, admittedHeaders(peeked)]).toEqual([1, {}]);
  });

  it('observation: REST keeps its record on state.rest, other paths name their route', () => {
    const rest = { state: {} as Record<string, unknown> };
    const observation = observeRest(rest);
    observeClient(rest, 'c1');
    expect(rest.state).toEqual({ rest: { route: null, operation: null, clientId: 'c1' } });
    expect(observation.clientId).toBe('c1');
    const graphql = { state: {} as Record<string, unknown> };
    observeRoute(graphql, '/graphql');
    observeClient(graphql, null);
    expect(graphql.state).toEqual({ route: '/graphql', clientId: null });
  });
});

// Keep the union exhaustive: a new kind must be handled by the pipeline.
const _kinds: Record<ReturnType<typeof routeKind>, true> = { operation: true, rate_limit: true };
void _kinds;
void (null as unknown as RestRoute);
