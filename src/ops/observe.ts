import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { REST_PREFIX } from '../../rest-facade/pipeline.js';
import type { RestObservation } from '../http/observation.js';
import type { AppMetrics } from './metrics.js';

/**
 * The outermost middleware: request id, one access-log line and the HTTP metrics for every request.
 *
 * - `X-Request-Id` on every response: the request's own when it matches REQUEST_ID, otherwise a new UUID.
 * - One pino line per request, message `request`: reqId, method, route (template), path (no query string),
 *   status, durationMs, clientId (the OAuth client_id of a valid token, else null). Never headers, query strings,
 *   bodies or cookies, so no token, secret, password or session can get in.
 * - Metrics by route template (REST: `/rest/v2` + the route's `path`; website and OAuth: the router's template;
 *   `/graphql`, `/healthz`, ...; anything else `unmatched`), never by raw path.
 * - Exceptions no handler caught become a 500 here (Koa's own handler would drop every header, X-Request-Id too).
 */

export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What handlers may tell this middleware through `ctx.state` (besides the REST pipeline's `rest`). */
export interface ObservedState {
  requestId?: string;
  /** The route template, for handlers outside the routers (ops endpoints, /graphql). */
  route?: string;
  /** The OAuth client_id behind the request's valid token (/graphql). */
  clientId?: string | null;
}

export function requestRoute(ctx: Context): string {
  const state = ctx.state as ObservedState & { rest?: RestObservation };
  if (typeof state.route === 'string') return state.route;
  if (state.rest) return state.rest.route === null ? 'unmatched' : `${REST_PREFIX}${state.rest.route}`;
  // Set by @koa/router only when one of its routes matched the path and method.
  const matched = (ctx as unknown as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  return 'unmatched';
}

function clientId(ctx: Context): string | null {
  const state = ctx.state as ObservedState & { rest?: RestObservation };
  return state.rest?.clientId ?? state.clientId ?? null;
}

function respondToUncaught(ctx: Context, error: unknown): void {
  const err = error as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown };
  let status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
  if (status < 400 || status > 599) status = 500;
  const requestId = ctx.response.get('X-Request-Id');
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
  ctx.set('X-Request-Id', requestId);
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = err?.expose === true && typeof err.message === 'string' ? err.message : (STATUS_CODES[status] ?? 'Error');
}

export function observeRequests(deps: { logger: Logger; metrics: AppMetrics }): Middleware {
  const { logger, metrics } = deps;
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    (ctx.state as ObservedState).requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) {
        logger.error({ err: error, reqId: requestId }, 'request failed after its response started');
      } else {
        respondToUncaught(ctx, error);
        if (ctx.status >= 500) ctx.app.emit('error', error, ctx);
      }
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = requestRoute(ctx);
      const status = ctx.status;
      metrics.observeRequest({ method: ctx.method, route, status }, seconds);
      const operation = (ctx.state as { rest?: RestObservation }).rest?.operation;
      if (operation) metrics.observeOperation(operation.name, 'rest', operation.ok, operation.ms / 1000);
      const line = {
        reqId: requestId,
        method: ctx.method,
        route,
        path: ctx.path.length > 512 ? `${ctx.path.slice(0, 512)}…` : ctx.path,
        status,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        clientId: clientId(ctx),
      };
      if (status >= 500) logger.warn(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
