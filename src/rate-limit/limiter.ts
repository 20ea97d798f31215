import type { Redis } from 'ioredis';
import { createSharedStateRedis } from '../config/redis-client.js';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config.js';
import type { ComponentReadiness } from '../server/readiness.js';
import { MemoryBucketStore, RedisBucketStore, type BucketStore, type StoreKind } from './stores.js';
import type { BucketState } from './state.js';

/** A counted request: what to give back on a 304 (D95) and where it was counted. */
export interface Counted {
  key: string;
  points: number;
  store: StoreKind;
  state: BucketState;
}

export type ConsumeResult = { allowed: true; counted: Counted; state: BucketState } | { allowed: false; state: BucketState };

export interface RateLimiter {
  readonly limit: number;
  readonly windowSeconds: number;
  /** Counts `points` against the bucket `key`, or refuses without counting (§7.5). */
  consume(key: string, points?: number): Promise<ConsumeResult>;
  /** Gives back points of an earlier consume, in the store that counted them; the bucket afterwards. */
  refund(counted: Counted, points?: number): Promise<BucketState>;
  /** The bucket, without counting. */
  peek(key: string): Promise<BucketState>;
  /** Empties the bucket (a login that succeeded clears its failures). */
  clear(key: string): Promise<void>;
  /**
   * Other buckets with their own limit and window, kept where this limiter keeps its own (in Redis, shared by every
   * process, when REDIS_URL is set; with the same fallback), under keys of their own (`name`).
   */
  bucketsFor(limit: number, windowSeconds: number, name: string): RateLimiter;
  /** For readiness: `degraded` while Redis is configured but not used. */
  health(): ComponentReadiness;
  /** Resolves once Redis is usable, or after `timeoutMs` (then the limiter starts degraded). */
  whenReady(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** While Redis is failing but its connection claims to be ready (e.g. timeouts), one request per interval tries it. */
const PROBE_INTERVAL_MS = 1_000;

/**
 * The limiter of the service. Without REDIS_URL: one process, one MemoryBucketStore. With REDIS_URL: buckets live in
 * Redis (shared by every process), and when Redis fails (refused connection, disconnect, a reply slower than
 * RATE_LIMIT_REDIS_TIMEOUT_MS) requests are counted in a per-process memory store instead, like
 * rate-limiter-flexible's `insuranceLimiter`, but with the outage visible: one warning per outage, `degraded` in
 * readiness, and an info line when Redis is used again. Recovery is automatic: ioredis reconnects (at most a second
 * apart) and the first request after that counts in Redis again. No request waits for Redis longer than the command
 * timeout, and none at all while the connection is down (no offline queue).
 */
export class BucketLimiter implements RateLimiter {
  private outage: { since: Date; reason: string; warned: boolean } | null;
  private lastProbe = 0;
  private closing = false;
  private readonly fallback: BucketStore;

  constructor(
    readonly limit: number,
    readonly windowSeconds: number,
    private readonly logger: Logger,
    private readonly redis: { client: Redis; store: BucketStore; keyPrefix: string } | null = null,
    /** Buckets made by bucketsFor share their parent's Redis connection and leave closing it to the parent. */
    private readonly ownsClient = true,
  ) {
    this.fallback = new MemoryBucketStore(limit, windowSeconds);
    this.outage = redis && redis.client.status !== 'ready' ? { since: new Date(), reason: 'connecting to Redis', warned: false } : null;
    if (redis) {
      redis.client.on('ready', () => this.recovered());
      redis.client.on('error', (error: Error) => {
        if (!this.closing) this.failed(error);
      });
      redis.client.on('close', () => {
        if (!this.closing) this.failed(new Error('connection to Redis closed'));
      });
    }
  }

  private failed(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.lastProbe = Date.now(); // the next probe waits PROBE_INTERVAL_MS: no request queues behind a stuck Redis
    if (!this.outage) this.outage = { since: new Date(), reason, warned: false };
    if (!this.outage.warned) {
      this.outage.warned = true;
      this.logger.warn({ reason }, 'rate limiter: Redis unavailable, counting in process memory until it returns (readiness: degraded)');
    } else {
      this.logger.debug({ reason }, 'rate limiter: Redis still unavailable');
    }
  }

  private recovered(): void {
    if (!this.outage) return;
    const { since, warned } = this.outage;
    this.outage = null;
    if (warned) this.logger.info({ outageMs: Date.now() - since.getTime() }, 'rate limiter: Redis is back, counting in Redis again');
  }

  /** Redis unless it is known to be failing; then memory, except for an occasional probe of a connection that looks ready. */
  private async run<T>(operation: (store: BucketStore) => Promise<T>): Promise<{ value: T; store: StoreKind }> {
    const redis = this.redis;
    if (!redis) return { value: await operation(this.fallback), store: 'memory' };
    if (this.outage) {
      const now = Date.now();
      if (redis.client.status !== 'ready' || now - this.lastProbe < PROBE_INTERVAL_MS) return { value: await operation(this.fallback), store: 'memory' };
      this.lastProbe = now;
    }
    try {
      const value = await operation(redis.store);
      this.recovered();
      return { value, store: 'redis' };
    } catch (error) {
      this.failed(error);
      return { value: await operation(this.fallback), store: 'memory' };
    }
  }

  async consume(key: string, points = 1): Promise<ConsumeResult> {
    const { value, store } = await this.run((s) => s.consume(key, points));
    return value.allowed ? { allowed: true, state: value.state, counted: { key, points, store, state: value.state } } : { allowed: false, state: value.state };
  }

  async refund(counted: Counted, points = counted.points): Promise<BucketState> {
    const estimate = { ...counted.state, current: Math.max(0, counted.state.current - points), at: Date.now() };
    if (counted.store === 'memory') return this.fallback.refund(counted.key, points);
    try {
      return await this.redis!.store.refund(counted.key, points);
    } catch (error) {
      // The point stays counted in Redis; the answer shows the count it would have had.
      this.failed(error);
      return estimate;
    }
  }

  async peek(key: string): Promise<BucketState> {
    return (await this.run((s) => s.peek(key))).value;
  }

  async clear(key: string): Promise<void> {
    await this.run(async (store) => {
      const state = await store.peek(key);
      if (state.current > 0) await store.refund(key, state.current);
    });
  }

  bucketsFor(limit: number, windowSeconds: number, name: string): RateLimiter {
    const redis = this.redis;
    const shared = redis && { ...redis, store: new RedisBucketStore(redis.client, limit, windowSeconds, `${redis.keyPrefix}:${name}`) };
    return new BucketLimiter(limit, windowSeconds, this.logger.child({ buckets: name }), shared, false);
  }

  health(): ComponentReadiness {
    if (!this.redis) return { status: 'ok', store: 'memory' };
    if (!this.outage) return { status: 'ok', store: 'redis' };
    return {
      status: 'degraded',
      store: 'memory',
      detail: `Redis unavailable (${this.outage.reason}): rate limits are counted per process`,
      since: this.outage.since.toISOString(),
    };
  }

  async whenReady(timeoutMs: number): Promise<void> {
    const client = this.redis?.client;
    if (!client || client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      client.on('ready', done);
    });
    // (status changes while waiting: read it afresh)
    if ((client.status as string) !== 'ready') this.failed(new Error(`no connection to Redis after ${timeoutMs} ms`));
  }

  async close(): Promise<void> {
    const client = this.redis?.client;
    if (!client || this.closing) return;
    this.closing = true;
    if (!this.ownsClient) return;
    try {
      if (client.status === 'ready') await client.quit();
    } catch {
      // Already gone: nothing to flush.
    } finally {
      client.disconnect();
    }
  }
}

/** The per-process limiter: the default of createApp and the tests, and what runs without REDIS_URL. */
export function createMemoryRateLimiter(config: Pick<AppConfig, 'rateLimitPerHour' | 'rateLimitWindowSeconds'>, logger: Logger): RateLimiter {
  return new BucketLimiter(config.rateLimitPerHour, config.rateLimitWindowSeconds, logger);
}

/** The limiter for `config`: Redis-backed (with the memory fallback) when REDIS_URL is set, per process otherwise. */
export function createRateLimiter(
  config: Pick<AppConfig, 'rateLimitPerHour' | 'rateLimitWindowSeconds' | 'redisUrl' | 'rateLimitRedisTimeoutMs' | 'rateLimitKeyPrefix'>,
  logger: Logger,
): RateLimiter {
  if (!config.redisUrl) return createMemoryRateLimiter(config, logger);
  const client = createSharedStateRedis({ ...config, redisUrl: config.redisUrl }, 'flattr-rate-limit');
  const store = new RedisBucketStore(client, config.rateLimitPerHour, config.rateLimitWindowSeconds, config.rateLimitKeyPrefix);
  return new BucketLimiter(config.rateLimitPerHour, config.rateLimitWindowSeconds, logger, { client, store, keyPrefix: config.rateLimitKeyPrefix });
}
