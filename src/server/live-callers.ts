import type { Redis } from 'ioredis';
import { createSharedStateRedis } from '../config/redis-client.js';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config.js';
import type { LiveCallerCount } from '../services/live/hub.js';

/** A stream not refreshed for this long is counted no more (its process died without releasing it). */
export const STALE_MS = 30_000;
/** How often a process refreshes its open streams in Redis. */
export const REFRESH_MS = 10_000;

/**
 * KEYS[1]: the caller's sorted set (member: stream id, score: last refresh, ms). ARGV: now, stale bound, cap, stream
 * id. Forgets stale members, then adds the stream unless the caller already has `cap`. 1: added, 0: refused.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`;

/**
 * LIVE_MAX_PER_CALLER across every process sharing Redis (REDIS_URL): each open stream is a member of its caller's
 * sorted set, refreshed every REFRESH_MS and forgotten STALE_MS after its process stopped refreshing it (a crash).
 * When Redis does not answer, the cap is counted per process only (the hub's own count), never refused for it.
 */
export function createRedisCallerCount(config: Pick<AppConfig, 'redisUrl' | 'rateLimitRedisTimeoutMs' | 'rateLimitKeyPrefix'>, logger: Logger): LiveCallerCount | null {
  if (!config.redisUrl) return null;
  const client = createSharedStateRedis({ ...config, redisUrl: config.redisUrl }, 'flattr-live', { lazyConnect: true });
  client.on('error', () => undefined); // reported by the calls that fail
  let connecting: Promise<void> | null = null;
  const ready = () => (connecting ??= client.connect().catch(() => undefined));
  const key = (caller: string) => `${config.rateLimitKeyPrefix}:live:${caller}`;
  const warn = (error: unknown) => logger.warn({ err: error }, 'live: Redis did not answer; subscriptions are capped per process only');
  return {
    async acquire(caller, streamId, max) {
      await ready();
      try {
        return (await client.eval(ACQUIRE, 1, key(caller), Date.now(), STALE_MS, max, streamId)) === 1;
      } catch (error) {
        warn(error);
        return true;
      }
    },
    release(caller, streamId) {
      client.zrem(key(caller), streamId).catch(() => undefined);
    },
    async refresh(streams) {
      if (streams.length === 0) return;
      const pipeline = client.pipeline();
      const now = Date.now();
      for (const { caller, streamId } of streams) {
        pipeline.zadd(key(caller), 'XX', now, streamId);
        pipeline.pexpire(key(caller), STALE_MS * 2);
      }
      await pipeline.exec().catch(() => undefined);
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
