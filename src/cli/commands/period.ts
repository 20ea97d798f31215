import { systemClock } from '../../config/clock.js';
import { runSubscriptionPeriod } from '../../services/subscriptions.js';
import { UsageError } from '../cli-error.js';
import { parseOptions } from '../args.js';
import type { CommandGroup } from './command.js';

const usage = {
  run: 'admin period run [--at ISO-DATE]',
};

/** An ISO 8601 date or date-time (`2026-04-01`, `2026-04-01T00:00:00Z`); anything else is a usage error. */
function parseAt(raw: string): Date {
  const text = raw.trim();
  const at = /^\d{4}-\d{2}(-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?$/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`Invalid --at "${raw}": expected an ISO 8601 date such as 2026-04-01`, usage.run);
  return at;
}

/**
 * `period run`: the monthly subscription run (spec §12.6, D77) for the period of `--at` (default: now).
 * Idempotent, so it is safe to run from cron as often as wanted. Prints `{"period","flattred","skipped"}`.
 */
export const periodCommands: CommandGroup = {
  name: 'period',
  usage,
  async run(action, args, withDatabase) {
    if (action === 'run') {
      const values = parseOptions(args, { at: { type: 'string' } }, usage.run);
      const at = values.at === undefined ? systemClock.now() : parseAt(values.at);
      return withDatabase(async (em) => runSubscriptionPeriod(em, at));
    }
    throw new Error(`unreachable action ${action}`);
  },
};
