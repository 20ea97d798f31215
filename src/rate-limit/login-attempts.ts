import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { createMemoryRateLimiter, type RateLimiter } from './limiter.js';
import { retryAfter } from './state.js';
import { clientAddress } from './admission.js';

/**
 * Brute-force protection for the places that check a secret a person (or a seeded client) chose: the website login
 * (`POST /login`), the login-and-consent form (`POST /oauth/authorize` with `username`/`password`, D85) and client
 * authentication at `/oauth/token` and `/oauth/revoke` (seeded clients may have weak secrets, spec §14.7).
 *
 * Only failures are counted, in the rate-limit stores of this folder (rate-limiter-flexible), in windows of
 * `windowSeconds` opened by the first failure:
 *   - per account and client address (`<name>|<address>`): `perAccount` failures, then that pair is refused until the
 *     window ends, even with the right password, so guessing one account from one address stops after a few tries;
 *   - per client address alone: `perAddress` failures over all accounts, against spraying many usernames.
 * A refused attempt is answered before any password is verified and is not counted itself. A success clears the
 * account's count (not the address's). The buckets live where the API rate limiter keeps its own (`bucketsFor`): with
 * REDIS_URL in Redis, so every replica of a deployment counts the same failures (and, while Redis is down, each
 * replica counts in its own memory, like the API limit).
 */

export interface LoginThrottleLimits {
  perAccount: number;
  perAddress: number;
  windowSeconds: number;
}

export const LOGIN_THROTTLE: LoginThrottleLimits = { perAccount: 10, perAddress: 100, windowSeconds: 15 * 60 };

/** What an attempt may do: go ahead, or wait this many seconds (the `Retry-After`). */
export type AttemptVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class LoginAttemptLimiter {
  private readonly accounts: RateLimiter;
  private readonly addresses: RateLimiter;

  constructor(
    buckets: Pick<RateLimiter, 'bucketsFor'> | null,
    readonly limits: LoginThrottleLimits = LOGIN_THROTTLE,
  ) {
    const store = buckets ?? createMemoryRateLimiter({ rateLimitPerHour: 1, rateLimitWindowSeconds: limits.windowSeconds }, pino({ level: 'silent' }));
    this.accounts = store.bucketsFor(limits.perAccount, limits.windowSeconds, 'login-account');
    this.addresses = store.bucketsFor(limits.perAddress, limits.windowSeconds, 'login-address');
  }

  private static accountKey(kind: string, name: string, address: string): string {
    // Usernames match case-insensitively (spec §2.4); long junk is cut so keys stay small.
    return `${kind}:${name.trim().toLowerCase().slice(0, 128)}|${address}`;
  }

  /** Before the secret is checked. */
  async check(kind: string, name: string, address: string): Promise<AttemptVerdict> {
    const [account, byAddress] = await Promise.all([this.accounts.peek(LoginAttemptLimiter.accountKey(kind, name, address)), this.addresses.peek(`${kind}:${address}`)]);
    const full = [account, byAddress].filter((state) => state.current >= state.limit);
    if (full.length === 0) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(...full.map(retryAfter)) };
  }

  async failed(kind: string, name: string, address: string): Promise<void> {
    await Promise.all([this.accounts.consume(LoginAttemptLimiter.accountKey(kind, name, address), 1), this.addresses.consume(`${kind}:${address}`, 1)]);
  }

  async succeeded(kind: string, name: string, address: string): Promise<void> {
    await this.accounts.clear(LoginAttemptLimiter.accountKey(kind, name, address));
  }
}

const limiters = new WeakMap<object, LoginAttemptLimiter>();

/**
 * The limiter of one app instance: `deps` is the object the app's routers share (their AppDeps), so the website and
 * the OAuth endpoints count together, every test app starts afresh, and the failures are kept where the app's rate
 * limiter keeps its buckets: in Redis, shared by every replica, when REDIS_URL is set.
 */
export function loginLimiterFor(deps: { rateLimiter?: RateLimiter }): LoginAttemptLimiter {
  let limiter = limiters.get(deps);
  if (!limiter) {
    limiter = new LoginAttemptLimiter(deps.rateLimiter ?? null);
    limiters.set(deps, limiter);
  }
  return limiter;
}

/** The address attempts are counted against: the rate limiter's (socket peer, or X-Forwarded-For with TRUST_PROXY). */
export function attemptAddress(req: IncomingMessage, trustProxy: boolean): string {
  return clientAddress(req, trustProxy);
}

/** The message shown (or sent) when attempts are refused. */
export function tooManyAttemptsMessage(retryAfterSeconds: number): string {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}

/** Whose attempts are counted: `kind` (`login`, `client`) and the presented name, from one client address. */
export interface AttemptKey {
  kind: 'login' | 'client';
  name: string;
  address: string;
}

/** How an attempt ended: `failed` is counted, `succeeded` clears the account's count, `uncounted` does neither. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'uncounted';

/** The attempt's own result, or its refusal (over the limit; it did not run) with the `Retry-After` seconds. */
export type Throttled<T> = { refused: false; result: T } | { refused: true; retryAfterSeconds: number };

/**
 * The one throttle sequence of the website login, the consent form and client authentication: check (a refused
 * attempt does not run, so no secret is verified), run the attempt, then count a failure or clear the account's
 * count after a success. `outcome` says which the result is; by default a result is a success and null a failure.
 */
export async function withLoginThrottle<T>(
  limiter: LoginAttemptLimiter,
  key: AttemptKey,
  attempt: () => Promise<T>,
  outcome: (result: T) => AttemptOutcome = (result) => (result === null || result === undefined ? 'failed' : 'succeeded'),
): Promise<Throttled<T>> {
  const verdict = await limiter.check(key.kind, key.name, key.address);
  if (!verdict.allowed) return { refused: true, retryAfterSeconds: verdict.retryAfterSeconds };
  const result = await attempt();
  const ended = outcome(result);
  if (ended === 'failed') await limiter.failed(key.kind, key.name, key.address);
  else if (ended === 'succeeded') await limiter.succeeded(key.kind, key.name, key.address);
  return { refused: false, result };
}
