import { Redis } from 'ioredis';
import type { AppConfig } from './config.js';

/**
 * A Redis client for shared state that must never hold a request up: rate-limit buckets, the live-subscription caps,
 * read-your-writes marks. A command fails after RATE_LIMIT_REDIS_TIMEOUT_MS instead of waiting, nothing is queued
 * while Redis is down (each caller has its per-process fallback), and the client reconnects quickly and forever, so
 * recovery does not wait for the next deploy. `connectionName` tells the clients apart in `CLIENT LIST`.
 */
export function createSharedStateRedis(
  config: Pick<AppConfig, 'redisUrl' | 'rateLimitRedisTimeoutMs'> & { redisUrl: string },
  connectionName: string,
  options: { lazyConnect?: boolean } = {},
): Redis {
  return new Redis(config.redisUrl, {
    commandTimeout: config.rateLimitRedisTimeoutMs,
    connectTimeout: Math.max(1_000, config.rateLimitRedisTimeoutMs * 5),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1_000),
    connectionName,
    ...options,
  });
}
