import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { idleState, type BucketState } from './state.js';

/**
 * Where buckets are counted. Both stores implement the window of D37 (opened by the first counted request,
 * `RATE_LIMIT_WINDOW_SECONDS` long, a fresh count of 0 after it) on rate-limiter-flexible, and both follow
 * §7.5: a refused request leaves the count as it was.
 */
export interface BucketStore {
  /** Adds `points` unless the bucket cannot take them; `state` is the bucket afterwards (unchanged when refused). */
  consume(key: string, points: number): Promise<{ allowed: boolean; state: BucketState }>;
  /** Takes back `points` counted earlier (a 304, D95). Never opens a window nor goes below 0. */
  refund(key: string, points: number): Promise<BucketState>;
  /** The bucket without counting (`/rate_limit`). */
  peek(key: string): Promise<BucketState>;
}

export type StoreKind = 'redis' | 'memory';

function stateOf(limit: number, windowSeconds: number, current: number, msBeforeNext: number, before: number): BucketState {
  if (current <= 0 && msBeforeNext <= 0) return idleState(limit, windowSeconds, before);
  // `before` is read before the store is asked, so before + msBeforeNext is never later than the real expiry: the
  // rounded-up second is the same for every request of a window (Redis windows end on a whole second, see below).
  const reset = msBeforeNext > 0 ? Math.ceil((before + msBeforeNext) / 1000) : Math.floor(before / 1000) + windowSeconds;
  return { limit, windowSeconds, current: Math.max(0, current), reset, at: Date.now() };
}

/**
 * One process's buckets (rate-limiter-flexible's RateLimiterMemory): the store when REDIS_URL is unset, and the
 * fallback while Redis is unreachable. RateLimiterMemory adds the points before comparing, so a refusal gives them
 * straight back; its operations are synchronous underneath, so only a request interleaved in that instant could
 * see the extra points (and only near the limit).
 */
export class MemoryBucketStore implements BucketStore {
  private readonly limiter: RateLimiterMemory;

  constructor(
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {
    this.limiter = new RateLimiterMemory({ points: limit, duration: windowSeconds, keyPrefix: '' });
  }

  async consume(key: string, points: number) {
    const before = Date.now();
    try {
      const res = await this.limiter.consume(key, points);
      return { allowed: true, state: stateOf(this.limit, this.windowSeconds, res.consumedPoints, res.msBeforeNext, before) };
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      return { allowed: false, state: await this.giveBack(key, points, before) };
    }
  }

  refund(key: string, points: number) {
    return this.giveBack(key, points, Date.now());
  }

  private async giveBack(key: string, points: number, before: number): Promise<BucketState> {
    const existing = await this.limiter.get(key);
    if (!existing) return idleState(this.limit, this.windowSeconds, before); // the window ended meanwhile
    const res = await this.limiter.reward(key, Math.min(points, existing.consumedPoints));
    return stateOf(this.limit, this.windowSeconds, res.consumedPoints, res.msBeforeNext, before);
  }

  async peek(key: string) {
    const before = Date.now();
    const res = await this.limiter.get(key);
    return res ? stateOf(this.limit, this.windowSeconds, res.consumedPoints, res.msBeforeNext, before) : idleState(this.limit, this.windowSeconds, before);
  }
}

/**
 * The Lua script behind RateLimiterRedis (its `customIncrTtlLuaScript` option; ARGV = points, window seconds,
 * limit, window seconds). Differences from the library's default script:
 * - a consume that would pass the limit changes nothing (§7.5: refused requests are not counted) and reports
 *   count + points, which the library turns into a rejection;
 * - a new window ends on a whole second (`TIME` floored, plus the window): its reset is the same integer for every
 *   request and every process, and equals window start (in whole seconds) + window (D37);
 * - negative points (a refund) never create a key and never go below 0.
 * The whole check-and-add is one atomic script, so any number of processes share a bucket exactly.
 */
export const RATE_LIMIT_LUA = `
local key = KEYS[1]
local points = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local stored = redis.call('get', key)
local current = tonumber(stored or '0')
if points < 0 then
  if not stored then return {0, -2} end
  local back = -points
  if back > current then back = current end
  local left = redis.call('decrby', key, back)
  return {left, redis.call('pttl', key)}
end
if current + points > limit then
  if not stored then return {current + points, -2} end
  return {current + points, redis.call('pttl', key)}
end
if not stored then
  local now = redis.call('time')
  local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local endMs = (tonumber(now[1]) + window) * 1000
  redis.call('set', key, points)
  redis.call('pexpireat', key, endMs)
  return {points, endMs - nowMs}
end
local consumed = redis.call('incrby', key, points)
local ttl = redis.call('pttl', key)
if ttl < 0 then
  redis.call('expire', key, window)
  ttl = window * 1000
end
return {consumed, ttl}
`;

/** Buckets in Redis, shared by every process using the same Redis and key prefix. Errors propagate (see limiter.ts). */
export class RedisBucketStore implements BucketStore {
  private readonly limiter: RateLimiterRedis;

  constructor(
    client: Redis,
    private readonly limit: number,
    private readonly windowSeconds: number,
    keyPrefix: string,
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: client,
      points: limit,
      duration: windowSeconds,
      keyPrefix,
      // Fail at once while disconnected (the caller falls back to memory) instead of queueing.
      rejectIfRedisNotReady: true,
      customIncrTtlLuaScript: RATE_LIMIT_LUA,
    });
  }

  async consume(key: string, points: number) {
    const before = Date.now();
    try {
      const res = await this.limiter.consume(key, points);
      return { allowed: true, state: stateOf(this.limit, this.windowSeconds, res.consumedPoints, res.msBeforeNext, before) };
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      // The script reported count + points without storing them.
      return { allowed: false, state: stateOf(this.limit, this.windowSeconds, error.consumedPoints - points, error.msBeforeNext, before) };
    }
  }

  async refund(key: string, points: number) {
    const before = Date.now();
    const res = await this.limiter.reward(key, points);
    return stateOf(this.limit, this.windowSeconds, res.consumedPoints, res.msBeforeNext, before);
  }

  async peek(key: string) {
    const before = Date.now();
    const res = await this.limiter.get(key);
    return res ? stateOf(this.limit, this.windowSeconds, res.consumedPoints, res.msBeforeNext, before) : idleState(this.limit, this.windowSeconds, before);
  }
}
