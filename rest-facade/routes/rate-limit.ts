import type { RestRoute } from '../route.js';
import { rateLimitBody, type BucketState } from '../../src/rate-limit/state.js';

/**
 * E25 `GET /rate_limit` (spec §7.6, §9.6): the caller's bucket, chosen as in §7.1, counting nothing.
 *
 * Served by the pipeline from the rate limiter rather than through a GraphQL operation: the numbers are not domain
 * data (they live in Redis or process memory, not in the database the schema reads), the pipeline already holds
 * them after step 5 (it peeks instead of counting for this route), and a GraphQL field would need the limiter and the
 * request's bucket in every GraphQL context. GraphQL clients get the same numbers in `extensions.rateLimit`.
 * The pipeline recognises this entry by identity, gives `shape` the bucket state instead of operation data, and
 * never calls `operation`.
 */
export const rateLimitRoute: RestRoute<BucketState> = {
  name: 'E25 rate_limit.show',
  method: 'GET',
  path: '/rate_limit',
  auth: 'none',
  family: null,
  formats: ['json', 'xml', 'yaml'],
  root: 'rate_limit',
  operation: () => {
    throw new Error('E25 is answered by the pipeline from the rate limiter, not by a GraphQL operation');
  },
  variables: () => ({}),
  shape: (state) => rateLimitBody(state),
};

export const rateLimitRoutes: RestRoute[] = [rateLimitRoute];
