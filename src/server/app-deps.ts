import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config.js';
import type { Clock } from '../config/clock.js';
import { createMemoryRateLimiter, type RateLimiter } from '../rate-limit/limiter.js';
import type { Readiness } from './readiness.js';
import type { JobScheduler } from '../jobs/scheduler.js';
import type { ReplicaMonitor } from '../db/replicas.js';
import type { StickyStore } from './read-routing.js';

/**
 * What the app is built from (main.ts and the tests make one; createApp in app.ts assembles the app from it).
 * Its own module so that the layers the app assembles (src/web, src/oauth) depend on it, never on app.ts.
 */
export interface AppDeps {
  orm: MikroORM;
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  /** The shared limiter (main.ts: Redis-backed when REDIS_URL is set). Default: a per-process memory limiter. */
  rateLimiter?: RateLimiter;
  /** Checks of /readyz: createApp adds database, migrations and Redis (src/ops/health.ts); main.ts adds `shutdown`. */
  readiness?: Readiness;
  /** The background jobs' scheduler of this process (main.ts, with JOBS on): /metrics shows each job's last run. */
  jobs?: JobScheduler | null;
  /** With DATABASE_REPLICA_URLS (main.ts): the replicas' monitor and the read-your-writes marks (src/server/read-routing.ts). */
  replicas?: { monitor: ReplicaMonitor; sticky: StickyStore } | null;
}

/** The limiter of `deps`, or a per-process memory limiter when none is given. */
export function appRateLimiter(deps: Pick<AppDeps, 'rateLimiter' | 'config' | 'logger'>): RateLimiter {
  return deps.rateLimiter ?? createMemoryRateLimiter(deps.config, deps.logger);
}
