import type { Context } from 'koa';
import type { GraphQLContext } from '../../schema/context.js';
import { clientAddress, type Admission, type RateLimitGate } from '../rate-limit/admission.js';
import { rateLimitHeaders } from '../rate-limit/state.js';
import type { Authenticate } from './viewer.js';

/** What rate-limit admission needs, shared by the REST facade and /graphql: one gate, so one bucket per caller. */
export interface AdmissionDeps {
  /** Spec §7: buckets, counting and the token-hash cache that picks a bucket without a query. */
  rateLimits: RateLimitGate;
  /** TRUST_PROXY: the client address of IP buckets comes from `X-Forwarded-For`. */
  trustProxy: boolean;
  authenticate: Authenticate;
}

/**
 * Spec §6.5 steps 4–5 (§7): the bucket of the presented token (valid) or of the client address, counted (or only
 * read, `count: false`), and the token authenticated on the request's entity manager once admitted. A refusal
 * costs no database query for a token this process saw within the last minute (src/rate-limit/admission.ts).
 * The caller answers a refusal in its own protocol (REST 403, GraphQL 429).
 */
export function admitRequest(
  deps: AdmissionDeps,
  ctx: Pick<Context, 'req'>,
  input: { token: string | null; count: boolean; em: GraphQLContext['em'] },
): Promise<Admission> {
  return deps.rateLimits.admit({
    token: input.token,
    address: clientAddress(ctx.req, deps.trustProxy),
    count: input.count,
    authenticate: (presented) => deps.authenticate(presented, input.em),
  });
}

/** The rate-limit headers of an admitted request that was counted (§7.4); none when nothing was counted (§7.6). */
export function admittedHeaders(admission: Admission): Record<string, string> {
  return admission.counted ? rateLimitHeaders(admission.state) : {};
}
