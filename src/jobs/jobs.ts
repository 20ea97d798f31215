import { runSubscriptionPeriod } from '../services/subscriptions.js';
import { periodOf } from '../entities/index.js';
import { refreshWindowBase, windowBaseIsCurrent } from '../services/search/window-sort.js';
import { deleteExpiredWebSessions } from '../services/web-sessions.js';
import { deleteExpiredAuthorizationCodes } from '../services/authorization-codes.js';
import { EXPIRED_CODES_BATCH } from '../services/write-bounds.js';
import { pruneSearchChanges } from '../services/search/changes.js';
import type { Job, JobRunRow } from './scheduler.js';

const HOUR_MS = 3_600_000;
/** A job whose last run failed is due again after this long. */
const RETRY_MS = 60_000;

/** Due when it never finished, its last run failed a while ago, or `intervalMs` passed since it last finished. */
function dueEvery(intervalMs: number) {
  return (now: Date, last: JobRunRow | null): boolean => {
    if (!last?.lastFinishedAt) return true;
    const since = now.getTime() - last.lastFinishedAt.getTime();
    if (since < 0) return true; // the clock went back
    return since >= (last.lastOutcome === 'failed' ? RETRY_MS : intervalMs);
  };
}

/**
 * Spec D77: the monthly subscription flattrs of the current period. Due hourly, and at once when the month
 * changed since it last finished. Idempotent (the flattrs' unique key keeps one per user, thing and period).
 */
export const subscriptionsJob: Job = {
  name: 'subscriptions',
  description: 'the monthly subscription flattrs of the current period (spec D77); hourly, and at the first tick of a month',
  due: ({ now }, last) => dueEvery(HOUR_MS)(now, last) || (!!last?.lastFinishedAt && periodOf(last.lastFinishedAt) !== periodOf(now)),
  run: async ({ em, now }) => ({ ...(await runSubscriptionPeriod(em, now)) }),
};

/**
 * The window base of search (window-sort.ts) for the UTC day of now: due whenever it is not valid for today
 * (a new day, or a backdated flattr). Searches read the previous day's base until it commits.
 */
export const searchWindowBaseJob: Job = {
  name: 'search-window-base',
  description: "rebuilds search's window base for the new UTC day (searches read the previous day's base meanwhile)",
  due: async ({ em, now }) => !(await windowBaseIsCurrent(em, now)),
  run: async ({ em, now }) => ({ rebuilt: await refreshWindowBase(em, now) }),
};

/**
 * Deletes expired website sessions, authorization codes expired for longer than their retention, and search change
 * log rows too old for any cache correction, in batches.
 */
export const expiryCleanupJob: Job = {
  name: 'expiry-cleanup',
  description: 'deletes expired website sessions, long-expired authorization codes and old search change log rows; hourly',
  due: ({ now }, last) => dueEvery(HOUR_MS)(now, last),
  run: async ({ em, now }) => {
    const drain = async (step: () => Promise<number>) => {
      let total = 0;
      for (let deleted = EXPIRED_CODES_BATCH; deleted === EXPIRED_CODES_BATCH; total += deleted) deleted = await step();
      return total;
    };
    const sessions = await drain(() => deleteExpiredWebSessions(em, now, EXPIRED_CODES_BATCH));
    const codes = await drain(() => deleteExpiredAuthorizationCodes(em, now, EXPIRED_CODES_BATCH));
    const searchChanges = await drain(() => pruneSearchChanges(em, EXPIRED_CODES_BATCH));
    return { sessions, codes, searchChanges };
  },
};

/** Every job; the subscription run only when SUBSCRIPTIONS_CRON is on (as before). */
export function allJobs(options: { subscriptions: boolean }): Job[] {
  return [searchWindowBaseJob, expiryCleanupJob, ...(options.subscriptions ? [subscriptionsJob] : [])];
}

export const JOB_NAMES = ['search-window-base', 'expiry-cleanup', 'subscriptions'] as const;
