import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config.js';
import { provideDatabase, type DatabaseHandle } from './database-url.js';

/**
 * WEB_CONCURRENCY > 1 (issue 18 item 6): this process is the cluster primary. It serves nothing itself:
 *
 * - it provides the database once: without DATABASE_URL it starts (or reuses) the embedded PostgreSQL, and hands its
 *   URL to the workers as DATABASE_URL;
 * - it forks WEB_CONCURRENCY workers, each running the ordinary server start (src/server/main.ts) with its own pool,
 *   all listening on the one port (node:cluster hands the connections out round-robin). Worker 1 starts alone and
 *   applies the migrations and the reference data as a single server does; the others are forked once it listens,
 *   so their start finds nothing pending and migrations never run concurrently. The primary loads none of the
 *   server's modules (no ORM, no app), so it stays small;
 * - a worker that exits while the primary is not shutting down is replaced after a back-off (RESTART_BASE_DELAY_MS,
 *   doubling per recent crash of that slot, at most RESTART_MAX_DELAY_MS); more than RESTART_LIMIT crashes of one
 *   slot within RESTART_WINDOW_MS is a crash loop, and so is a worker that dies before its slot ever listened
 *   (bad port, database gone): the primary then stops everything and exits 1;
 * - SIGTERM/SIGINT/SIGHUP go to every worker, which drains as a single process does (README "Graceful shutdown");
 *   when all have exited the primary stops the embedded PostgreSQL it started and exits 0 (1 if a worker did not
 *   exit 0).
 *
 * Each worker gets WORKER_INDEX_ENV (1..N; a replacement keeps its slot's index). Every worker ticks the background
 * jobs (src/jobs/); each job's advisory lock lets one process at a time run it.
 */

export const WORKER_INDEX_ENV = 'FLATTR_WORKER_INDEX';
const RESTART_BASE_DELAY_MS = 100;
const RESTART_MAX_DELAY_MS = 10_000;
const RESTART_WINDOW_MS = 60_000;
const RESTART_LIMIT = 5;
/** After this much more than SHUTDOWN_TIMEOUT_MS, workers still running get SIGKILL. */
const SHUTDOWN_GRACE_MS = 10_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The 1-based slot of this cluster worker, or null when this process is not a cluster worker. */
export function workerIndex(): number | null {
  if (!cluster.isWorker) return null;
  const index = Number(process.env[WORKER_INDEX_ENV]);
  return Number.isInteger(index) && index > 0 ? index : null;
}

export async function runPrimary(config: AppConfig, logger: Logger, options: { loadEmbeddedPostgres: () => Promise<void> }): Promise<void> {
  const count = config.webConcurrency;
  const log = logger.child({ primary: true });
  if (!config.databaseUrl) await options.loadEmbeddedPostgres();

  const workers = new Map<Worker, number>();
  const listenedOnce = new Set<number>();
  const crashes = new Map<number, number[]>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let database: DatabaseHandle | undefined;
  let databaseUrl = '';
  let stopping = false;
  let exitCode = 0;
  let startup: Promise<void> = Promise.resolve();
  let allExited: () => void = () => undefined;
  const exitedAll = new Promise<void>((resolve) => (allExited = resolve));

  const fork = (index: number) => {
    const worker = cluster.fork({ DATABASE_URL: databaseUrl, [WORKER_INDEX_ENV]: String(index) });
    workers.set(worker, index);
    worker.once('listening', () => {
      const first = !listenedOnce.has(index);
      listenedOnce.add(index);
      if (first && index === 1 && !stopping) for (let next = 2; next <= count; next++) fork(next); // worker 1 has migrated
      if (first && listenedOnce.size === count) log.info({ workers: count }, 'all workers listening');
      else if (!first) log.info({ worker: index, pid: worker.process.pid }, 'replacement worker listening');
    });
  };

  const stop = async (reason: string, code: number) => {
    if (stopping) {
      log.info({ signal: reason }, 'already shutting down');
      return;
    }
    stopping = true;
    exitCode = Math.max(exitCode, code);
    log.info({ signal: reason, workers: workers.size }, 'shutting down: stopping the workers');
    for (const timer of restartTimers) clearTimeout(timer);
    await startup.catch(() => undefined);
    if (workers.size > 0) {
      for (const worker of workers.keys()) worker.process.kill('SIGTERM');
      const killer = setTimeout(() => {
        log.warn({ workers: workers.size }, 'workers still running after the shutdown timeout: killing them');
        for (const worker of workers.keys()) worker.process.kill('SIGKILL');
      }, config.shutdownTimeoutMs + SHUTDOWN_GRACE_MS);
      await exitedAll;
      clearTimeout(killer);
    }
    try {
      await database?.stop();
    } catch (error) {
      exitCode = 1;
      log.error({ err: error }, 'stopping the database failed');
    }
    log.info({ code: exitCode }, 'stopped');
    process.exit(exitCode);
  };
  for (const signal of SIGNALS) process.on(signal, () => void stop(signal, 0));

  cluster.on('exit', (worker, code, signal) => {
    const index = workers.get(worker);
    workers.delete(worker);
    if (index === undefined) return;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      log.info({ worker: index, pid: worker.process.pid, code, signal }, 'worker stopped');
      if (workers.size === 0) allExited();
      return;
    }
    log.warn({ worker: index, pid: worker.process.pid, code, signal }, 'worker exited unexpectedly');
    if (!listenedOnce.has(index)) {
      log.error({ worker: index }, 'a worker failed before it ever served: stopping');
      void stop('worker start-up failure', 1);
      return;
    }
    const now = Date.now();
    const recent = (crashes.get(index) ?? []).filter((at) => now - at < RESTART_WINDOW_MS);
    recent.push(now);
    crashes.set(index, recent);
    if (recent.length > RESTART_LIMIT) {
      log.error({ worker: index, crashes: recent.length, windowMs: RESTART_WINDOW_MS }, 'worker crash loop: stopping');
      void stop('crash loop', 1);
      return;
    }
    const delay = Math.min(RESTART_MAX_DELAY_MS, RESTART_BASE_DELAY_MS * 2 ** (recent.length - 1));
    log.info({ worker: index, delayMs: delay }, 'replacing the worker');
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (!stopping) fork(index);
    }, delay);
    restartTimers.add(timer);
  });

  startup = (async () => {
    database = await provideDatabase(config, (msg) => (msg.startsWith('postgres:') ? log.debug(msg) : log.info(msg)));
    databaseUrl = database.url;
    if (stopping) return;
    log.info({ workers: count, embedded: !config.databaseUrl }, `starting ${count} workers (worker 1 first: it applies the migrations)`);
    fork(1);
  })();

  try {
    await startup;
  } catch (error) {
    if (stopping) return;
    stopping = true;
    await database?.stop().catch(() => undefined);
    throw error;
  }
}
