import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { sha256Hex, type Viewer } from '../services/tokens.js';
import type { Counted, RateLimiter } from './limiter.js';
import type { BucketState } from './state.js';

/**
 * The client address of the IP buckets (D36): the socket peer, or with TRUST_PROXY the first `X-Forwarded-For`
 * entry (the client as the first proxy saw it) when it is an IP address. IPv4-mapped IPv6 peers are shown as IPv4.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = req.headers['x-forwarded-for'];
    const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
    if (first && isIP(first)) return normalise(first);
  }
  return normalise(req.socket.remoteAddress ?? 'unknown');
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Which token hashes were valid at their last lookup: used to PICK A BUCKET ONLY, never to authenticate.
 *
 * §6.5 picks the bucket after validating the token, but validating takes a database query, and a refused request
 * must not reach the database (issue 7). This cache breaks the tie: a token seen recently (in this process, within
 * the TTL) picks its bucket without a query, so a caller over its limit is refused with no query at all. Every
 * request that passes the limiter still authenticates against the database (resolveAccessToken, no cache), so a
 * revoked token is refused on its very next request; the cache can only make that one request count against the
 * stale bucket, which admit() corrects right away. A token not in the cache is looked up before counting: that
 * lookup is the request's authentication (not a second query), and it is the only case in which a refused request
 * costs a query (a token this process has not seen within the TTL, from a caller over its limit).
 * Keys are SHA-256 digests; clear tokens are never kept, nor written to Redis (`token:<sha256>`).
 */
export class TokenValidityCache {
  private readonly entries = new Map<string, { valid: boolean; until: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  get(hash: string): boolean | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.valid;
  }

  set(hash: string, valid: boolean): void {
    this.entries.delete(hash); // re-inserted last: Map order is the eviction order
    this.entries.set(hash, { valid, until: Date.now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

export interface AdmissionInput {
  /** The one token presented (null: none, or several — they are not looked up, spec §6.5 step 4). */
  token: string | null;
  /** clientAddress() of the request. */
  address: string;
  /** false for `/rate_limit`: read the bucket, count nothing (§7.3). */
  count: boolean;
  /** Points this request counts for (GraphQL may charge more later, see charge()). */
  points?: number;
  /** The authentication query (resolveAccessToken on the request's entity manager). */
  authenticate: (token: string) => Promise<Viewer | null>;
}

export interface Admission {
  /** `token:<sha256 of the token>` for a valid token, `ip:<address>` otherwise (D36). */
  bucket: string;
  /** Step 5: false means answer "rate limit exceeded"; nothing was counted, and no authentication was done. */
  allowed: boolean;
  /** The viewer, from this request's own database lookup; null without a valid token (or when refused). */
  viewer: Viewer | null;
  /** A token was presented and is not valid (step 6 answers 401). */
  tokenInvalid: boolean;
  /** The bucket after this request (as it was, when refused or not counted). */
  state: BucketState;
  /** Set when this request was counted: what a 304 gives back. */
  counted: Counted | null;
}

/** Steps 4 and 5 of §6.5 for REST, and the same for /graphql. */
export class RateLimitGate {
  /** Told about every refusal (for the rejection counter of /metrics): `admit` for a full bucket, `cost` for a GraphQL weight that did not fit. */
  onRefused: ((stage: 'admit' | 'cost') => void) | null = null;

  constructor(
    readonly limiter: RateLimiter,
    private readonly tokens = new TokenValidityCache(),
  ) {}

  async admit(input: AdmissionInput): Promise<Admission> {
    const points = input.points ?? 1;
    const token = input.token;
    const hash = token === null ? null : sha256Hex(token);
    let viewer: Viewer | null | undefined; // undefined: not looked up yet
    let valid = hash === null ? false : this.tokens.get(hash);
    if (token !== null && valid === undefined) {
      viewer = await input.authenticate(token);
      valid = viewer !== null;
      this.tokens.set(hash!, valid);
    }
    const bucketFor = (isValid: boolean) => (isValid ? `token:${hash}` : `ip:${input.address}`);
    let bucket = bucketFor(valid!);
    const refused = (state: BucketState): Admission => {
      this.onRefused?.('admit');
      return { bucket, allowed: false, viewer: null, tokenInvalid: false, state, counted: null };
    };

    let counted: Counted | null = null;
    let state: BucketState;
    if (input.count) {
      const result = await this.limiter.consume(bucket, points);
      if (!result.allowed) return refused(result.state);
      counted = result.counted;
      state = result.state;
    } else {
      state = await this.limiter.peek(bucket);
    }

    if (token !== null && viewer === undefined) {
      // Authentication: always a fresh query, whatever the cache said.
      viewer = await input.authenticate(token);
      this.tokens.set(hash!, viewer !== null);
      if ((viewer !== null) !== valid) {
        // The cache was stale (revoked, or its application disabled or re-enabled): count in the right bucket.
        bucket = bucketFor(viewer !== null);
        if (counted) {
          await this.limiter.refund(counted);
          const result = await this.limiter.consume(bucket, points);
          if (!result.allowed) return refused(result.state);
          counted = result.counted;
          state = result.state;
        } else {
          state = await this.limiter.peek(bucket);
        }
      }
    }
    return { bucket, allowed: true, viewer: viewer ?? null, tokenInvalid: token !== null && !viewer, state, counted };
  }

  /** D95: a 304 does not use up the limit. Returns the bucket as it was before the request, for the 304's headers. */
  async giveBack(admission: Admission): Promise<BucketState> {
    if (!admission.counted) return admission.state;
    const state = await this.limiter.refund(admission.counted);
    admission.counted = null;
    admission.state = state;
    return state;
  }

  /**
   * Adds `points` to an admitted request (a costly GraphQL query). When the bucket cannot take them, the whole
   * request is given back (a refused request is not counted) and false is returned.
   */
  async charge(admission: Admission, points: number): Promise<boolean> {
    if (points <= 0 || !admission.counted) return true;
    const result = await this.limiter.consume(admission.bucket, points);
    if (result.allowed) {
      admission.counted = { ...result.counted, points: admission.counted.points + points };
      admission.state = result.state;
      return true;
    }
    admission.state = await this.limiter.refund(admission.counted);
    admission.counted = null;
    this.onRefused?.('cost');
    return false;
  }
}
