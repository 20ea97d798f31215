import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Clock } from '../config/clock.js';
import { runSubscriptionPeriod, type PeriodRunResult } from '../services/subscriptions.js';

export const SUBSCRIPTIONS_CRON_INTERVAL_MS = 60 * 60 * 1000;

export interface SubscriptionsCron {
  /** Runs the current period now; while a run is going, joins it. Resolves to null when the run failed (logged). */
  runNow(): Promise<PeriodRunResult | null>;
  stop(): void;
}

/**
 * SUBSCRIPTIONS_CRON (spec D77): runs the monthly subscription flattrs for the current period at start and
 * then every hour. A run is idempotent and cheap once the period's flattrs exist, so hourly runs catch the
 * start of each month within the hour, and replicas running it side by side do no harm (the flattrs'
 * unique key keeps one flattr per user, thing and period). The timer does not keep the process alive.
 */
export function startSubscriptionsCron(deps: {
  orm: MikroORM;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}): SubscriptionsCron {
  const { orm, clock, logger, intervalMs = SUBSCRIPTIONS_CRON_INTERVAL_MS } = deps;
  let running: Promise<PeriodRunResult | null> | null = null;

  const runNow = (): Promise<PeriodRunResult | null> => {
    if (running) return running;
    running = (async () => {
      try {
        const result = await runSubscriptionPeriod(orm.em.fork(), clock.now());
        logger.info(result, 'subscription period run');
        return result;
      } catch (error) {
        logger.error({ err: error }, 'subscription period run failed');
        return null;
      } finally {
        running = null;
      }
    })();
    return running;
  };

  void runNow();
  const timer = setInterval(() => void runNow(), intervalMs);
  timer.unref();
  return {
    runNow,
    stop: () => clearInterval(timer),
  };
}
