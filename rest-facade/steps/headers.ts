import type { Admission } from '../../src/rate-limit/admission.js';
import { admittedHeaders } from '../../src/http/admission.js';
import type { PresentedToken } from '../access-token.js';
import { CORS_HEADERS } from '../cors.js';

/**
 * Step "headers": the headers of every answer that are not about its body (spec §5.5, §5.10, §7.4, D95).
 * Rate-limit headers go on the response as soon as the request is counted, so errors carry them too.
 */

/** CORS and `Vary: Accept` on every answer with a body, then the route's or error's own; `nosniff` on JSONP. */
export function answerHeaders(extra: Record<string, string>, jsonp: boolean): Record<string, string> {
  return { ...CORS_HEADERS, Vary: 'Accept', ...extra, ...(jsonp ? { 'X-Content-Type-Options': 'nosniff' } : {}) };
}

/** Spec §5.5: a 204 has CORS headers and the route's own, no Vary. */
export function noContentHeaders(extra: Record<string, string>): Record<string, string> {
  return { ...CORS_HEADERS, ...extra };
}

/** §7.4: the counted request's bucket; nothing for a request not counted (`/rate_limit`, §7.6). */
export function rateLimitHeadersOf(admission: Admission): Record<string, string> {
  return admittedHeaders(admission);
}

/** A token sent in the query string makes the answer private to caches. */
export function tokenCacheHeaders(presented: PresentedToken, query: ReadonlyMap<string, string>): Record<string, string> {
  return presented && 'token' in presented && query.has('access_token') ? { 'Cache-Control': 'private' } : {};
}
