/** Spec §5.11 (D30): the exact CORS header set on every REST response and the preflight answer. */
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers':
    'X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Current, X-RateLimit-Reset, RateLimit-Policy, RateLimit, Location, WWW-Authenticate, Retry-After, ETag, X-Request-Id',
};

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const DEFAULT_ALLOWED_HEADERS = 'Authorization, Content-Type, Accept, If-None-Match, X-HTTP-Method-Override, X-Requested-With';

export function preflightHeaders(requestedHeaders: string | undefined): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': ALLOWED_METHODS,
    'Access-Control-Allow-Headers': requestedHeaders?.trim() ? requestedHeaders.replace(/[\r\n]/g, ' ') : DEFAULT_ALLOWED_HEADERS,
    'Access-Control-Max-Age': '86400',
    Allow: ALLOWED_METHODS,
  };
}
