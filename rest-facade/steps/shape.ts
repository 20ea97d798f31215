import type { BucketState } from '../../src/rate-limit/state.js';
import type { RouteOutput } from '../render.js';
import type { RestRequest } from '../request.js';
import type { OperationData, OperationName, OperationRoute, RateLimitRoute } from '../route.js';

/** What a route answers on success, before rendering: status, v2 body (and feed), extra headers. */
export interface Shaped {
  status: number;
  output: RouteOutput;
  headers: Record<string, string>;
}

/**
 * Step "shape" (spec §6.5 steps 12–14): operation data → the v2 body. Shaped eagerly, so that a missing resource
 * (`404 not_found`) or a `MutationError` is reported whatever the format; the feed only when a feed format asks.
 */
export function shapeResult<Op extends OperationName>(route: OperationRoute<Op>, data: OperationData<Op>, request: RestRequest): Shaped {
  const value = route.shape(data, request);
  const feed = route.feed ? () => route.feed!(data, request) : undefined;
  const headers = route.headers ? route.headers(data, request) : {};
  return { status: route.status ?? 200, output: { root: route.root, value, feed }, headers };
}

/** E25: the caller's bucket as the v2 body; always 200 and no extra headers. */
export function shapeRateLimit(route: RateLimitRoute, state: BucketState, request: RestRequest): Shaped {
  return { status: 200, output: { root: route.root, value: route.shape(state, request) }, headers: {} };
}
