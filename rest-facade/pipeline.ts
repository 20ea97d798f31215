import type { GraphQLSchema } from 'graphql';
import type { Context } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AppConfig } from '../src/config/config.js';
import type { Clock } from '../src/config/clock.js';
import type { GraphQLContext } from '../schema/context.js';
import type { Authenticate } from '../src/http/viewer.js';
import type { RateLimitGate } from '../src/rate-limit/admission.js';
import { TLS_REQUIRED_CHALLENGE, TLS_REQUIRED_MESSAGE, tlsMissing } from '../src/http/tls.js';
import { observeClient, observeRest } from '../src/http/observation.js';
import { compileOperations } from './operations.js';
import { routes } from './routes/index.js';
import type { RestRoute } from './route.js';
import { RestError, routeNotFound, type ErrorFamily } from './errors.js';
import { preflightHeaders } from './cors.js';
import type { FormatKey } from './formats/media-types.js';
import { parseQueryString } from './params.js';
import { readBody } from './body.js';
import { errorPresentation, negotiate, pickFormat, requireFormat } from './steps/negotiate.js';
import { createRouteTable, effectiveMethod } from './steps/match.js';
import { authorize, checkCredentials, presentedTokenOf, singleToken } from './steps/authenticate.js';
import { admit } from './steps/admit.js';
import { operationCall, restRequest } from './steps/parse.js';
import { execute } from './steps/execute.js';
import { shapeRateLimit, shapeResult } from './steps/shape.js';
import { renderAnswer, renderError, send } from './steps/render.js';
import { rateLimitHeadersOf, tokenCacheHeaders } from './steps/headers.js';
import { rateLimitHeaders } from '../src/rate-limit/state.js';

export type { RestObservation } from '../src/http/observation.js';

export const REST_PREFIX = '/rest/v2';

export interface RestFacadeDeps {
  schema: GraphQLSchema;
  orm: MikroORM;
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  /** Spec §7: buckets, counting and the token-hash cache that picks a bucket without a query. */
  rateLimits: RateLimitGate;
  /** A presented token → its viewer (src/http/authenticate.ts), injected like the rate limiter. */
  authenticate: Authenticate;
  /** The routes served, in precedence order; every v2 route by default. */
  routes?: readonly RestRoute[];
}

/**
 * The REST v2 facade: one request pipeline of named steps (rest-facade/steps/), in the order of spec §6.5 (D35);
 * the first failing step answers. negotiate → TLS → read body and match → authenticate (token) → admit (rate
 * limit) → credentials → format → route → body failure → authorize → parse → execute → shape → render → headers.
 */
export function createRestFacade(deps: RestFacadeDeps) {
  const { schema, orm, config, clock, logger } = deps;
  const served = deps.routes ?? routes;
  const operations = compileOperations(schema, { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost });
  // A route naming an unknown operation stops the start-up, like an invalid operation.
  for (const route of served) if (route.kind !== 'rate_limit' && typeof route.operation === 'string') operations.get(route.operation);
  const table = createRouteTable(served);
  const admission = { rateLimits: deps.rateLimits, trustProxy: config.trustProxy, authenticate: deps.authenticate };
  const settings = { maxPageSize: config.maxPageSize, apiUrl: config.apiUrl, siteUrl: config.siteUrl, tagAuthority: config.tagAuthority };
  const renderSettings = () => ({ now: clock.now(), siteUrl: config.siteUrl });

  return async function restFacade(ctx: Context): Promise<void> {
    const observation = observeRest(ctx);
    // Step 1: the CORS preflight, for any path; not counted.
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      ctx.set(preflightHeaders(ctx.get('Access-Control-Request-Headers') || undefined));
      return;
    }
    const query = parseQueryString(ctx.querystring, ctx.method);
    const rawPath = ctx.path.slice(REST_PREFIX.length) || '/';
    const restOfPath = table.isRestOfPath(rawPath);
    const negotiation = negotiate({ method: ctx.method, rawPath, query, accept: ctx.get('Accept') || undefined, restOfPath });
    let format: FormatKey | null = pickFormat(negotiation, ['json', 'xml', 'yaml']);
    let family: ErrorFamily = null;
    try {
      // Step 2.
      if (tlsMissing(ctx, config)) throw new RestError('invalid_request', TLS_REQUIRED_MESSAGE, { status: 401, headers: { 'WWW-Authenticate': TLS_REQUIRED_CHALLENGE } });
      // Step 3: the body (its failure answered at step 9), the method override, the route.
      const body = await readBody(ctx);
      const method = effectiveMethod(ctx.method, body.params, query, ctx.get('X-HTTP-Method-Override') || undefined);
      const matched = table.match(negotiation.path, method, restOfPath);
      if (matched) {
        observation.route = matched.route.path;
        format = pickFormat(negotiation, matched.route.formats, matched.route.acceptFormats);
      }
      // Step 4: the token. Step 5: admission, which authenticates it (and picks its bucket).
      const presented = presentedTokenOf({ authorization: ctx.get('Authorization') || undefined, query, body: body.params });
      const em = orm.em.fork();
      const admitted = await admit(admission, ctx, { token: singleToken(presented), route: matched?.route ?? null, em });
      // Every counted response carries the headers, errors included: they stay on ctx whatever is written later.
      ctx.set(rateLimitHeadersOf(admitted));
      const viewer = admitted.viewer;
      observeClient(ctx, viewer?.clientId ?? null);
      // Step 6.
      checkCredentials(presented, admitted.tokenInvalid);
      // Step 7.
      const accepted = requireFormat(negotiation, format);
      // Step 8.
      if (!matched) throw routeNotFound();
      const { route } = matched;
      family = route.family;
      // Step 9.
      if (body.failure) throw body.failure;
      // Step 10.
      authorize(route, viewer);
      const request = restRequest({ method, params: matched.params, query, rawQuery: ctx.querystring, body, format: accepted, viewer, settings });
      ctx.set(tokenCacheHeaders(presented, query));
      if (route.kind === 'rate_limit') {
        // E25: the caller's bucket (picked as in §7.1, nothing counted), no ETag (D95), no rate-limit headers.
        send(ctx, renderAnswer(shapeRateLimit(route, admitted.state, request), { format: accepted, callback: negotiation.callback, etag: false, ifNoneMatch: undefined }, renderSettings()));
        return;
      }
      // Steps 11–14.
      const call = operationCall(route, request);
      const context: GraphQLContext = { em, clock, config, viewer };
      const data = await execute(operations, route, call, context, observation);
      const shaped = shapeResult(route, data, request);
      const isRead = ctx.method === 'GET' || ctx.method === 'HEAD';
      const options = { format: accepted, callback: negotiation.callback, etag: isRead && shaped.status === 200, ifNoneMatch: ctx.get('If-None-Match') || undefined };
      const answer = renderAnswer(shaped, options, renderSettings());
      send(ctx, answer);
      // D95: a 304 gives its point back; its headers show the count as it was before the request.
      if (answer.status === 304) ctx.set(rateLimitHeaders(await deps.rateLimits.giveBack(admitted)));
    } catch (error) {
      if (!(error instanceof RestError)) logger.error({ err: error, path: ctx.path }, 'REST request failed');
      const restError = error instanceof RestError ? error : new RestError('server_error');
      const presentation = errorPresentation(negotiation, format, restError);
      send(ctx, renderError(restError, { ...presentation, family, docsUrl: config.docsUrl }, renderSettings()));
    }
  };
}
