import pino from 'pino';
import { systemClock } from '../../config/clock.js';
import { allJobs, JOB_NAMES } from '../../jobs/jobs.js';
import { JobScheduler, readJobRuns } from '../../jobs/scheduler.js';
import { UsageError } from '../cli-error.js';
import { parseOptions, required } from '../args.js';
import type { CommandGroup } from './command.js';

const usage = {
  run: `admin job run --name ${JOB_NAMES.join('|')}`,
  list: 'admin job list',
};

/**
 * `job run --name NAME`: runs a background job (src/jobs/) now, whether due or not, under its advisory lock like
 * the servers' scheduler (so never beside a server running it), and records the run in `job_runs`. Prints
 * `{"job","outcome","durationMs","result"}`; a job another process is running, or that fails, is an error (exit 1).
 * `job list`: each job's last run, whichever process ran it.
 */
export const jobCommands: CommandGroup = {
  name: 'job',
  usage,
  async run(action, args, withDatabase) {
    if (action === 'list') {
      parseOptions(args, {}, usage.list);
      return withDatabase(async (em) => {
        const runs = await readJobRuns(em);
        return Object.fromEntries(JOB_NAMES.map((name) => [name, runs.get(name) ?? null]));
      });
    }
    const values = parseOptions(args, { name: { type: 'string' } }, usage.run);
    const name = required(values.name, 'name', usage.run);
    if (!(JOB_NAMES as readonly string[]).includes(name)) throw new UsageError(`Unknown job "${name}"`, usage.run);
    return withDatabase(async (em) => {
      const scheduler = new JobScheduler({ orm: { em }, clock: systemClock, logger: pino({ level: 'silent' }), jobs: allJobs({ subscriptions: true }) });
      const report = await scheduler.run(name, { force: true });
      if (report.outcome === 'busy') throw new Error(`job ${name} is running in another process; try again when it has finished`);
      if (report.outcome === 'failed') throw new Error(`job ${name} failed: ${report.error}`);
      return report;
    });
  },
};
