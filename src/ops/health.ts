import type { Context } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config.js';
import type { RateLimiter } from '../rate-limit/limiter.js';
import type { Readiness } from '../server/readiness.js';

/**
 * `GET /healthz` (liveness) and `GET /readyz` (readiness), outside /rest/v2: never rate limited, never counted.
 *
 * /healthz answers 200 as long as the process serves HTTP; it checks nothing else, so an orchestrator restarts
 * the process only when it is truly stuck. /readyz runs every check and names each one:
 * - `database`: `select 1` on the pool, within 2 s;
 * - `migrations`: the migrator's pending list is empty (a newer replica having applied more is fine);
 * - `redis` (only with REDIS_URL): the rate limiter's view of Redis; `degraded` while Redis is unreachable
 *   (requests are then counted per process);
 * - anything else registered on the Readiness object (main.ts: `shutdown`, down once SIGTERM arrived).
 * 200 when ready, 503 when a check is down. A degraded check keeps the replica ready (taking every replica out of
 * rotation because the shared Redis blinked would turn a degraded rate limiter into an outage); `?strict=1` asks
 * for 503 on degraded too, for load balancers that should prefer fully healthy replicas.
 */
export function registerReadinessChecks(readiness: Readiness, deps: { orm: MikroORM; config: AppConfig; rateLimiter: RateLimiter }): void {
  const { orm, config, rateLimiter } = deps;
  readiness.registerProbe('database', async () => {
    const started = performance.now();
    await orm.em.getConnection().execute('select 1');
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  });
  readiness.registerProbe('migrations', async () => {
    const pending = (await orm.getMigrator().getPendingMigrations()).map((m) => m.name);
    if (pending.length === 0) return { status: 'ok', pending: [] };
    return { status: 'down', detail: `${pending.length} migration(s) not applied`, pending };
  });
  if (config.redisUrl) readiness.register('redis', () => rateLimiter.health());
}

function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
}

export function serveHealthz(ctx: Context, startedAt: number): void {
  noStore(ctx);
  ctx.status = 200;
  ctx.body = { status: 'ok', uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000), pid: process.pid };
}

export async function serveReadyz(ctx: Context, readiness: Readiness): Promise<void> {
  const report = await readiness.check();
  const strict = ['1', 'true', 'yes'].includes(String(ctx.query.strict ?? '').toLowerCase());
  const ready = strict ? report.status === 'ok' : report.ready;
  noStore(ctx);
  ctx.status = ready ? 200 : 503;
  ctx.body = { status: report.status, ready, checks: report.components };
}
