import { schemaRef, type RateLimitRoute, type RestRoute } from '../route.js';
import { rateLimitBody } from '../../src/rate-limit/state.js';

/**
 * E25 `GET /rate_limit` (spec §7.6, §9.6): the caller's bucket, chosen as in §7.1, counting nothing.
 *
 * A `rate_limit` route, served from the rate limiter rather than through a GraphQL operation: the numbers are not
 * domain data (they live in Redis or process memory, not in the database the schema reads), the pipeline already
 * holds them after admission (which peeks instead of counting for this kind), and a GraphQL field would need the
 * limiter and the request's bucket in every GraphQL context. GraphQL clients get the same numbers in
 * `extensions.rateLimit`.
 */
export const rateLimitRoute: RateLimitRoute = {
  kind: 'rate_limit',
  name: 'E25 rate_limit.show',
  method: 'GET',
  path: '/rate_limit',
  auth: 'none',
  family: null,
  formats: ['json', 'xml', 'yaml'],
  root: 'rate_limit',
  parameters: [],
  openapi: {
    operationId: 'showRateLimit',
    tag: 'Rate limit',
    summary: "The caller's rate-limit bucket (E25)",
    description: 'Not counted or limited, and carries no rate-limit headers (spec §7.6).',
    returns: schemaRef('RateLimit'),
  },
  variables: () => ({}),
  shape: (state) => rateLimitBody(state),
};

export const rateLimitRoutes: RestRoute[] = [rateLimitRoute];
