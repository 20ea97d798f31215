import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One row per background job (src/jobs/): its last run, whichever process ran it. The scheduler reads and writes
 * it while it holds the job's advisory lock, so the processes agree on when a job last ran (and so when it is due
 * again), and /metrics of every process shows the same last run.
 */
export const JobRun = defineEntity({
  name: 'JobRun',
  tableName: 'job_runs',
  properties: {
    name: p.string().length(64).primary(),
    runs: p.bigint('number'),
    lastStartedAt: p.datetime().columnType('timestamptz').nullable(),
    lastFinishedAt: p.datetime().columnType('timestamptz').nullable(),
    lastDurationMs: p.integer().nullable(),
    /** `ok` or `failed`. */
    lastOutcome: p.string().length(16).nullable(),
    lastError: p.text().nullable(),
    lastResult: p.json().nullable(),
  },
});

export type JobRunEntity = InferEntity<typeof JobRun>;
