import type { Context } from 'koa';

/**
 * What a request path tells the access log and /metrics (src/ops/observe.ts) through `ctx.state`: the route
 * template, the OAuth client behind the request and, for REST, the operation it ran. The same for REST and
 * /graphql; nothing else is logged (no headers, tokens or query strings).
 */
export interface RestObservation {
  /** The matched route's `path` (e.g. `/things/:id`); null when no route matched. */
  route: string | null;
  /** The operation executed: name, execution time and whether the result carried errors. */
  operation: { name: string; ms: number; ok: boolean } | null;
  /** `client_id` of the application behind the request's valid token. */
  clientId: string | null;
}

interface ObservationState {
  route?: string;
  clientId?: string | null;
  rest?: RestObservation;
}

/** A non-REST path's route template (e.g. `/graphql`). */
export function observeRoute(ctx: Pick<Context, 'state'>, route: string): void {
  (ctx.state as ObservationState).route = route;
}

/** The OAuth client behind the request (null: anonymous or an invalid token). */
export function observeClient(ctx: Pick<Context, 'state'>, clientId: string | null): void {
  const state = ctx.state as ObservationState;
  if (state.rest) state.rest.clientId = clientId;
  else state.clientId = clientId;
}

/** Starts the REST observation of a request (the pipeline fills in the route and the operation). */
export function observeRest(ctx: Pick<Context, 'state'>): RestObservation {
  const observation: RestObservation = { route: null, operation: null, clientId: null };
  (ctx.state as ObservationState).rest = observation;
  return observation;
}
