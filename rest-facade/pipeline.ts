import { Router } from '@koa/router';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import type { Context } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AppConfig } from '../src/config/config.js';
import type { Clock } from '../src/config/clock.js';
import { resolveAccessToken, type Viewer } from '../src/services/tokens.js';
import type { GraphQLContext } from '../schema/context.js';
import { compileOperations } from './operations.js';
import { routes } from './routes/index.js';
import type { RestRoute } from './route.js';
import type { RestRequest } from './request.js';
import { RestError, errorBody, isErrorCode, routeNotFound, type ErrorFamily } from './errors.js';
import { invalidToken, insufficientScope, missingToken, multipleTokens, presentedToken } from './access-token.js';
import { CORS_HEADERS, preflightHeaders } from './cors.js';
import { negotiateFormat, splitFormatSuffix } from './negotiate.js';
import type { FormatKey } from './formats/media-types.js';
import { errorFormat, ifNoneMatchHits, renderOutput, strongEtag, wrapJsonp, type RenderedBody, type RouteOutput } from './render.js';
import { isValidJsonpCallback } from './formats/json.js';
import { parseQueryString } from './params.js';
import { readBody } from './body.js';
import { rateLimitRoute } from './routes/rate-limit.js';
import { clientAddress, type RateLimitGate } from '../src/rate-limit/admission.js';
import { rateLimitHeaders, refusalHeaders } from '../src/rate-limit/state.js';

export const REST_PREFIX = '/rest/v2';

/**
 * A GraphQL error of an operation as the REST answer (schema/error-codes.ts → the v2 catalogue). The schema enforces
 * scopes too (scope-auth): UNAUTHENTICATED is 401 unauthorized, FORBIDDEN with `requiredScope` 403 insufficient_scope
 * (spec §3). `reason` carries the domain code where GraphQL folds several into one (BAD_USER_INPUT is `validation`
 * or `invalid_parameters`); without one, BAD_USER_INPUT is invalid_parameters, FORBIDDEN forbidden and NOT_FOUND
 * not_found, each with the error's message. Anything else is a fault of the server.
 */
function restErrorOf(error: GraphQLError): unknown {
  const extensions = error.extensions ?? {};
  const code = extensions.code;
  if (code === 'UNAUTHENTICATED') return missingToken();
  if (code === 'FORBIDDEN' && extensions.requiredScope !== undefined) return insufficientScope(String(extensions.requiredScope));
  const reason = typeof extensions.reason === 'string' ? extensions.reason.toLowerCase() : null;
  if (reason !== null && isErrorCode(reason)) return new RestError(reason, error.message);
  if (code === 'BAD_USER_INPUT') return new RestError('invalid_parameters', error.message);
  if (code === 'FORBIDDEN') return new RestError('forbidden', error.message);
  if (code === 'NOT_FOUND') return new RestError('not_found', error.message);
  return error.originalError ?? error;
}

export interface RestFacadeDeps {
  schema: GraphQLSchema;
  orm: MikroORM;
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  /** Spec §7: buckets, counting and the token-hash cache that picks a bucket without a query. */
  rateLimits: RateLimitGate;
}

/**
 * What the pipeline reports about a request for the access log and /metrics (src/ops), on `ctx.state.rest`:
 * the matched route's template, the GraphQL operation it ran and the OAuth client of its token. Nothing else.
 */
export interface RestObservation {
  /** The matched route's `path` (e.g. `/things/:id`); null when no route matched. */
  route: string | null;
  /** The operation executed: name, execution time and whether the result carried errors. */
  operation: { name: string; ms: number; ok: boolean } | null;
  /** `client_id` of the application behind the request's valid token. */
  clientId: string | null;
}

interface MatchedRoute {
  route: RestRoute;
  params: Record<string, string>;
}

const OVERRIDABLE = new Set(['PATCH', 'PUT', 'DELETE']);

/**
 * Spec D4: only POST is overridden; body `_method`, then query `_method`, then the header. A `_method` that has
 * been used is removed from the parameters (both places), so no route reads it as a parameter.
 */
function effectiveMethod(ctx: Context, body: Map<string, unknown>, query: Map<string, string>): string {
  if (ctx.method !== 'POST') return ctx.method;
  for (const candidate of [body.get('_method'), query.get('_method'), ctx.get('X-HTTP-Method-Override')]) {
    if (typeof candidate === 'string' && OVERRIDABLE.has(candidate.toUpperCase())) {
      body.delete('_method');
      query.delete('_method');
      return candidate.toUpperCase();
    }
  }
  return 'POST';
}

/** Spec §1.4: strip one trailing slash and a recognised suffix from the last segment. */
function routePath(rawPath: string): { path: string; suffix: FormatKey | null } {
  let path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const slash = path.lastIndexOf('/');
  const { segment, suffix } = splitFormatSuffix(path.slice(slash + 1));
  path = path.slice(0, slash + 1) + segment;
  return { path: path || '/', suffix };
}

export function createRestFacade(deps: RestFacadeDeps) {
  const { schema, orm, config, clock, logger, rateLimits } = deps;
  const operations = compileOperations(schema, { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost });
  // @koa/router matches paths; the route entries (not router middleware) say what each match does.
  const router = new Router({ sensitive: true });
  const routesByName = new Map<string, RestRoute>();
  /** Routes whose last parameter is the rest of the path (D98), by the literal prefix before it. */
  const restOfPathRoutes: { prefix: string; name: string; route: RestRoute }[] = [];
  for (const route of routes) {
    // A route naming an unknown operation stops the start-up, like an invalid operation.
    if (typeof route.operation === 'string') operations.get(route.operation);
    if (route.restOfPath) {
      const found = /^(.*\/):([A-Za-z_]+)$/.exec(route.path);
      if (!found) throw new Error(`REST route ${route.name}: restOfPath needs a path ending in one parameter`);
      restOfPathRoutes.push({ prefix: found[1]!, name: found[2]!, route });
      continue;
    }
    router.register(route.path, [route.method], () => undefined, { name: route.name });
    routesByName.set(route.name, route);
  }

  /**
   * A path under the prefix of a rest-of-path route (D98) belongs to that route alone: with the method it serves
   * it matches, its parameter being everything after the prefix as sent; with any other method no route does.
   */
  function matchRestOfPath(rawPath: string, method: string): MatchedRoute | null {
    const lookupMethod = method === 'HEAD' ? 'GET' : method;
    for (const { prefix, name, route } of restOfPathRoutes) {
      if (rawPath.startsWith(prefix) && route.method === lookupMethod) return { route, params: { [name]: rawPath.slice(prefix.length) } };
    }
    return null;
  }

  function match(path: string, method: string): MatchedRoute | null {
    const lookupMethod = method === 'HEAD' ? 'GET' : method;
    for (const layer of router.match(path, lookupMethod).pathAndMethod) {
      const route = layer.name ? routesByName.get(layer.name) : undefined;
      if (!route) continue;
      let params: Record<string, string>;
      try {
        params = layer.params(path, layer.captures(path));
      } catch {
        return null; // malformed percent-encoding: no route can match it
      }
      if (!route.matches || route.matches(params)) return { route, params };
    }
    return null;
  }

  /** Spec §5.5: a 204 has CORS headers and nothing else, no body. */
  function writeNoContent(ctx: Context, headers: Record<string, string>) {
    ctx.set({ ...CORS_HEADERS, ...headers });
    ctx.status = 204;
    ctx.body = null;
  }

  /** Writes a response: CORS and Vary always; JSONP wrapping when asked for; ETag/304 on successful reads. */
  function write(ctx: Context, status: number, rendered: RenderedBody, options: { headers?: Record<string, string>; jsonp?: string | null; etag?: boolean } = {}) {
    const out = options.jsonp ? wrapJsonp(options.jsonp, rendered) : rendered;
    ctx.set({ ...CORS_HEADERS, Vary: 'Accept', ...(options.headers ?? {}) });
    if (options.jsonp) ctx.set('X-Content-Type-Options', 'nosniff');
    if (options.etag) {
      const etag = strongEtag(out.body);
      ctx.set('ETag', etag);
      if (ifNoneMatchHits(ctx.get('If-None-Match') || undefined, etag)) {
        ctx.status = 304;
        ctx.body = null;
        return;
      }
    }
    ctx.status = status;
    ctx.set('Content-Type', out.contentType);
    ctx.body = out.body;
  }

  function sendError(ctx: Context, error: RestError, format: FormatKey | null, family: ErrorFamily, jsonp: string | null) {
    const body = errorBody(config.docsUrl, error, family);
    const rendered = renderOutput(jsonp ? 'json' : errorFormat(format), { root: 'response', value: body }, clock.now(), config.siteUrl);
    write(ctx, error.status, rendered, { headers: error.headers, jsonp });
  }

  async function run(
    matched: MatchedRoute,
    request: RestRequest,
    em: GraphQLContext['em'],
    observation: RestObservation,
  ): Promise<{ status: number; output: RouteOutput; headers: Record<string, string> }> {
    const { route } = matched;
    const variables = route.variables(request);
    const operation = typeof route.operation === 'string' ? route.operation : route.operation(request);
    const contextValue: GraphQLContext = { em, clock, config, viewer: request.viewer };
    const started = performance.now();
    const result = await operations.execute(operation, variables, contextValue);
    observation.operation = { name: operation, ms: performance.now() - started, ok: !result.errors?.length };
    if (result.errors?.length) {
      const first = result.errors[0]!;
      throw restErrorOf(first);
    }
    const data = result.data;
    // Shape eagerly so that a missing resource is reported whatever the format.
    const value = route.shape(data, request);
    const feed = route.feed ? () => route.feed!(data, request) : undefined;
    const headers = route.headers ? route.headers(data, request) : {};
    return { status: route.status ?? 200, output: { root: route.root, value, feed }, headers };
  }

  return async function restFacade(ctx: Context): Promise<void> {
    const observation: RestObservation = { route: null, operation: null, clientId: null };
    ctx.state.rest = observation;
    // Step 1: preflight, for any path.
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      ctx.set(preflightHeaders(ctx.get('Access-Control-Request-Headers') || undefined));
      return;
    }
    const query = parseQueryString(ctx.querystring, ctx.method);
    const rawPath = ctx.path.slice(REST_PREFIX.length) || '/';
    // D98: a rest-of-path route keeps its last segment as sent, so no suffix is taken from it.
    const restOfPathPrefix = restOfPathRoutes.some(({ prefix }) => rawPath.startsWith(prefix));
    const { path, suffix } = restOfPathPrefix ? { path: rawPath, suffix: null } : routePath(rawPath);
    const accept = ctx.get('Accept') || undefined;
    const isRead = ctx.method === 'GET' || ctx.method === 'HEAD';
    // Spec §5.10: JSONP applies to GET/HEAD unless a non-JSON suffix was asked for.
    const jsonpParam = isRead && !['xml', 'yaml', 'atom', 'txt'].includes(suffix ?? '') ? (query.get('jsonp') ?? null) : null;
    const validJsonp = jsonpParam !== null && isValidJsonpCallback(jsonpParam) ? jsonpParam : null;
    const pickFormat = (supported: FormatKey[], acceptNegotiable?: FormatKey[]): FormatKey | null => {
      if (jsonpParam !== null && suffix === null) return supported.includes('as') && supported[0] === 'as' ? 'as' : 'json';
      return negotiateFormat({ suffix, accept, supported, acceptNegotiable });
    };
    let format: FormatKey | null = pickFormat(['json', 'xml', 'yaml']);
    let family: ErrorFamily = null;
    try {
      // Step 2.
      if (config.requireTls && !ctx.secure) {
        throw new RestError('invalid_request', 'Requires ssl', { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="flattr", error="invalid_request"' } });
      }
      // Step 3.
      const body = await readBody(ctx);
      const method = effectiveMethod(ctx, body.params, query);
      const matched = restOfPathPrefix ? matchRestOfPath(path, method) : match(path, method);
      if (matched) {
        observation.route = matched.route.path;
        format = pickFormat(matched.route.formats, matched.route.acceptFormats);
      }
      // Step 4: the token, and the bucket it picks (several tokens: the client address's bucket).
      const token = presentedToken({
        header: ctx.get('Authorization') || undefined,
        query: query.get('access_token'),
        body: body.params.get('access_token'),
      });
      const em = orm.em.fork();
      // Step 5 (§7): count, or refuse without counting and without reaching the database (the bucket of a token
      // seen recently comes from a cache of token hashes, src/rate-limit/admission.ts; authentication itself always
      // queries). GET /rate_limit reads its bucket without counting and carries no rate-limit headers (§7.6).
      const isRateLimitRoute = matched?.route === rateLimitRoute;
      const admission = await rateLimits.admit({
        token: token && 'token' in token ? token.token : null,
        address: clientAddress(ctx.req, config.trustProxy),
        count: !isRateLimitRoute,
        authenticate: (presented) => resolveAccessToken(em, presented),
      });
      if (!admission.allowed) throw new RestError('rate_limit_exceeded', undefined, { headers: refusalHeaders(admission.state) });
      // Every counted response carries the headers, errors included: they stay on ctx whatever is written later.
      if (admission.counted) ctx.set(rateLimitHeaders(admission.state));
      const viewer: Viewer | null = admission.viewer;
      observation.clientId = viewer?.clientId ?? null;
      const tokenInvalid = admission.tokenInvalid;
      // Step 6.
      if (token && 'multiple' in token) throw multipleTokens();
      if (tokenInvalid) throw invalidToken();
      // Step 7, then the JSONP callback check that follows it (§5.10).
      if (format === null) throw new RestError('not_acceptable');
      if (jsonpParam !== null && validJsonp === null) throw new RestError('invalid_parameters', 'Invalid jsonp callback', { crossCutting: true });
      // Step 8.
      if (!matched) throw routeNotFound();
      family = matched.route.family;
      // Step 9.
      if (body.failure) throw body.failure;
      // Step 10.
      if (matched.route.auth === 'required' && !viewer) throw missingToken();
      if (matched.route.scope && !viewer?.scopes.has(matched.route.scope)) throw insufficientScope(matched.route.scope);
      // Steps 11-14.
      const request: RestRequest = {
        method,
        params: matched.params,
        query,
        rawQuery: ctx.querystring,
        body: body.params,
        bodyKind: body.kind,
        rawForm: body.rawForm,
        format,
        viewer,
        maxPageSize: config.maxPageSize,
        links: { apiUrl: config.apiUrl, siteUrl: config.siteUrl, tagAuthority: config.tagAuthority },
      };
      if (token && 'token' in token && query.has('access_token')) ctx.set('Cache-Control', 'private');
      if (isRateLimitRoute) {
        // E25: the caller's bucket (picked as in §7.1, nothing counted), no ETag (D95), no rate-limit headers.
        const rendered = renderOutput(format, { root: matched.route.root, value: matched.route.shape(admission.state, request) }, clock.now(), config.siteUrl);
        write(ctx, 200, rendered, { jsonp: validJsonp });
        return;
      }
      const { status, output, headers } = await run(matched, request, em, observation);
      if (status === 204) {
        writeNoContent(ctx, headers);
        return;
      }
      const rendered = renderOutput(format, output, clock.now(), config.siteUrl);
      write(ctx, status, rendered, { headers, jsonp: validJsonp, etag: isRead && status === 200 });
      // D95: a 304 gives its point back; its headers show the count as it was before the request.
      if (ctx.status === 304) ctx.set(rateLimitHeaders(await rateLimits.giveBack(admission)));
    } catch (error) {
      // An invalid callback is never reflected: that answer, and any before it, goes out unwrapped.
      const wrapWith = format !== null && !(error instanceof RestError && error.message === 'Invalid jsonp callback') ? validJsonp : null;
      if (error instanceof RestError) {
        sendError(ctx, error, error.code === 'not_acceptable' ? null : format, family, error.code === 'not_acceptable' ? null : wrapWith);
        return;
      }
      logger.error({ err: error, path: ctx.path }, 'REST request failed');
      sendError(ctx, new RestError('server_error'), format, family, wrapWith);
    }
  };
}
