/**
 * A rate-limit bucket as clients see it (spec §7), and its three renderings: the REST headers (§7.4, D96),
 * the `/rate_limit` body (§7.6) and the GraphQL `extensions.rateLimit` object.
 *
 * Windows run on real time (Date.now() and Redis key expiry), not on the app's injectable Clock: the stores
 * (rate-limiter-flexible's memory store, Redis TTLs) cannot follow a fake clock.
 */
export interface BucketState {
  limit: number;
  windowSeconds: number;
  /** Requests counted in the active window; 0 when no window is active. */
  current: number;
  /** Unix time (seconds) at which the active window ends; with no active window, now + window (D39). */
  reset: number;
  /** When this state was read (ms since the epoch), for the relative fields (`t=`, `Retry-After`). */
  at: number;
}

/** The state of a bucket with no active window (D39). */
export function idleState(limit: number, windowSeconds: number, at: number): BucketState {
  return { limit, windowSeconds, current: 0, reset: Math.floor(at / 1000) + windowSeconds, at };
}

/** The count shown to clients: never above the limit (§7.5: `Current: <limit>` when exhausted). */
export function shownCurrent(state: BucketState): number {
  return Math.min(state.limit, Math.max(0, state.current));
}

export function remaining(state: BucketState): number {
  return Math.max(0, state.limit - shownCurrent(state));
}

/** Whole seconds until the window ends, at least 0 (D96 `t=`). */
export function secondsToReset(state: BucketState): number {
  return Math.max(0, Math.floor(state.reset - state.at / 1000));
}

/** D38: `Retry-After` is the time until reset, at least 1. */
export function retryAfter(state: BucketState): number {
  return Math.max(1, secondsToReset(state));
}

/** §7.4 and D96: the four `X-RateLimit-*` headers and the two IETF draft fields, all describing the same bucket. */
export function rateLimitHeaders(state: BucketState): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(remaining(state)),
    'X-RateLimit-Current': String(shownCurrent(state)),
    'X-RateLimit-Reset': String(state.reset),
    'RateLimit-Policy': `"hourly";q=${state.limit};w=${state.windowSeconds}`,
    RateLimit: `"hourly";r=${remaining(state)};t=${secondsToReset(state)}`,
  };
}

/** The headers of a refused request: the bucket as it is (nothing was counted) plus `Retry-After` (§7.5, D38). */
export function refusalHeaders(state: BucketState): Record<string, string> {
  return { ...rateLimitHeaders(state), 'Retry-After': String(retryAfter(state)) };
}

/** §7.6: `Tue, 17 Jul 2012 10:45:39 +0000 GMT` (English names, two-digit day, the redundant ` GMT` included). */
export function resetTimeString(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toUTCString().replace(/ GMT$/, ' +0000 GMT');
}

/** §7.6: the rate-limit object of `GET /rate_limit`, fields in the documented order. */
export function rateLimitBody(state: BucketState) {
  return {
    hourly_limit: state.limit,
    remaining_hits: remaining(state),
    current_hits: shownCurrent(state),
    reset_time_in_seconds: state.reset,
    reset_time: resetTimeString(state.reset),
  };
}

/** GraphQL `extensions.rateLimit`: the same numbers as the headers. */
export function rateLimitExtension(state: BucketState) {
  return { limit: state.limit, remaining: remaining(state), current: shownCurrent(state), reset: state.reset };
}
