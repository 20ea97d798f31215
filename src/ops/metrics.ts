import { timingSafeEqual, createHash } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { EventLoopMonitor } from './event-loop-monitor.js';
import { readJobRuns, type JobScheduler } from '../jobs/scheduler.js';
import type { ReplicaMonitor } from '../db/replicas.js';
import { searchCacheOutcomes } from '../services/search/cache-outcomes.js';

/**
 * Prometheus metrics (prom-client). Every app instance (createApp) has its own registry, so tests that create
 * many apps in one process never share counters. Process metrics (CPU, memory, event loop, GC, handles) describe
 * the process, not an app: they live in one registry per process, created on first use, and are appended to every
 * app's output.
 */

let processRegistry: Registry | null = null;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Latency buckets (seconds) for HTTP requests and GraphQL operations. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Operation names are chosen by clients: only well-formed ones become labels, and only this many distinct ones. */
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_OPERATION_NAMES = 200;

export type OperationSource = 'graphql' | 'rest';
export type RateLimitStage = 'admit' | 'cost';

/** Knex's pool (tarn.js), as far as the gauges read it. */
interface KnexPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  max: number;
}

export type CompiledExecutionOutcome = 'compiled' | 'rerun_after_errors' | 'fast_path' | 'fast_path_refused' | 'fast_path_to_yoga';

export interface AppMetrics {
  readonly registry: Registry;
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
  observeOperation(name: string | null | undefined, source: OperationSource, ok: boolean, seconds: number): void;
  rateLimitRejected(stage: RateLimitStage): void;
  /** A /graphql query run by its compiled function (src/server/graphql-compiled.ts), or run again by Yoga's executor after errors. */
  compiledExecution(outcome: CompiledExecutionOutcome): void;
  /** The text exposition: this app's metrics, then the process metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** HTTP methods outside this list are reported as `OTHER` (any string can be sent as a method). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetrics(
  orm: MikroORM,
  options: { eventLoop?: EventLoopMonitor | null; jobs?: JobScheduler | null; replicas?: ReplicaMonitor | null } = {},
): AppMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'flattr_http_requests_total',
    help: 'HTTP requests answered, by route template (never the raw path), method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'flattr_http_request_duration_seconds',
    help: 'Time from receiving a request to its response being handed to Node, by route template, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'flattr_graphql_operations_total',
    help: 'GraphQL operations executed, by operation name, where they came from (graphql: /graphql; rest: a REST v2 route) and outcome.',
    labelNames: ['operation', 'source', 'outcome'] as const,
    registers: [registry],
  });
  const operationLatency = new Histogram({
    name: 'flattr_graphql_operation_duration_seconds',
    help: 'Execution time of GraphQL operations, by operation name and source.',
    labelNames: ['operation', 'source'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'flattr_rate_limit_rejections_total',
    help: 'Requests refused by the rate limiter (REST 403 rate_limit_exceeded, GraphQL 429); stage "cost" is a GraphQL operation whose weight did not fit.',
    labelNames: ['stage'] as const,
    registers: [registry],
  });
  for (const stage of ['admit', 'cost'] as const) rejections.inc({ stage }, 0);
  const compiledExecutions = new Counter({
    name: 'flattr_graphql_compiled_executions_total',
    help: 'GraphQL queries of /graphql run by a compiled function (outcome "compiled"), or run again by the standard executor because the compiled run reported errors ("rerun_after_errors"); known query documents answered by the fast path before Yoga ("fast_path"; "fast_path_refused" when their rate-limit weight did not fit), or left to Yoga after their compiled run reported errors ("fast_path_to_yoga").',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['compiled', 'rerun_after_errors', 'fast_path', 'fast_path_refused', 'fast_path_to_yoga'] as const) compiledExecutions.inc({ outcome }, 0);

  new Counter({
    name: 'flattr_search_cache_outcomes_total',
    help: 'How this process\'s search caches answered after the things changed: a count or relevance levels brought up to date from the change log ("corrected"), or read again from the things ("recounted", "rescored"; the first search of a filter too).',
    labelNames: ['cache', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ cache: 'count', outcome: 'corrected' }, searchCacheOutcomes.corrected);
      this.inc({ cache: 'count', outcome: 'recounted' }, searchCacheOutcomes.counted);
      this.inc({ cache: 'relevance', outcome: 'corrected' }, searchCacheOutcomes.levelsCorrected);
      this.inc({ cache: 'relevance', outcome: 'rescored' }, searchCacheOutcomes.scored);
    },
  });

  const pool = (): KnexPool | null => {
    try {
      const knex = orm.em.getConnection().getKnex() as unknown as { client?: { pool?: KnexPool } };
      return knex.client?.pool ?? null;
    } catch {
      return null;
    }
  };
  new Gauge({
    name: 'flattr_db_pool_connections',
    help: 'Database pool connections by state: used (checked out), free (idle), pending_acquires (requests waiting for one), pending_creates (being opened).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const p = pool();
      this.set({ state: 'used' }, p?.numUsed() ?? 0);
      this.set({ state: 'free' }, p?.numFree() ?? 0);
      this.set({ state: 'pending_acquires' }, p?.numPendingAcquires() ?? 0);
      this.set({ state: 'pending_creates' }, p?.numPendingCreates() ?? 0);
    },
  });
  new Gauge({
    name: 'flattr_db_pool_max',
    help: 'Largest number of connections the database pool opens.',
    registers: [registry],
    collect() {
      this.set(pool()?.max ?? 0);
    },
  });

  if (options.eventLoop) registerEventLoopMetrics(registry, options.eventLoop);
  if (options.jobs) registerJobMetrics(registry, orm, options.jobs);
  if (options.replicas) registerReplicaMetrics(registry, options.replicas);

  const operationNames = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (operationNames.has(name)) return name;
    if (operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    operationNames.add(name);
    return name;
  };

  return {
    registry,
    observeRequest({ method, route, status }, seconds) {
      const labels = { method: METHODS.has(method) ? method : 'OTHER', route, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    observeOperation(name, source, ok, seconds) {
      const operation = operationLabel(name);
      operations.inc({ operation, source, outcome: ok ? 'ok' : 'error' });
      operationLatency.observe({ operation, source }, seconds);
    },
    rateLimitRejected(stage) {
      rejections.inc({ stage });
    },
    compiledExecution(outcome) {
      compiledExecutions.inc({ outcome });
    },
    async render() {
      const [own, process] = await Promise.all([registry.metrics(), processMetrics().metrics()]);
      return { contentType: registry.contentType, body: `${own}\n${process}` };
    },
  };
}

/** The stall guard's figures (src/ops/event-loop-monitor.ts), read at each scrape. */
function registerEventLoopMetrics(registry: Registry, monitor: EventLoopMonitor): void {
  new Gauge({
    name: 'flattr_event_loop_delay_seconds',
    help: 'Event-loop delay (perf_hooks.monitorEventLoopDelay) over the last 10 s window: stat p50, p99 or max.',
    labelNames: ['stat'] as const,
    registers: [registry],
    collect() {
      const delay = monitor.delay();
      this.set({ stat: 'p50' }, (delay?.p50Ms ?? 0) / 1000);
      this.set({ stat: 'p99' }, (delay?.p99Ms ?? 0) / 1000);
      this.set({ stat: 'max' }, (delay?.maxMs ?? 0) / 1000);
    },
  });
  let counted = 0;
  new Counter({
    name: 'flattr_event_loop_stalls_total',
    help: 'Times the event loop was held longer than EVENT_LOOP_STALL_MS (each makes /readyz answer 503 for EVENT_LOOP_STALL_HOLD_SECONDS).',
    registers: [registry],
    collect() {
      if (monitor.stalls > counted) this.inc(monitor.stalls - counted);
      counted = monitor.stalls;
    },
  });
  new Gauge({
    name: 'flattr_event_loop_last_stall_seconds',
    help: 'How long the last stall over the bound held the event loop (0: none since start).',
    registers: [registry],
    collect() {
      this.set((monitor.lastStall?.ms ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'flattr_event_loop_last_stall_timestamp_seconds',
    help: 'When the last stall over the bound ended, in Unix seconds (0: none since start).',
    registers: [registry],
    collect() {
      this.set(monitor.lastStall ? monitor.lastStall.endedAt.getTime() / 1000 : 0);
    },
  });
  new Gauge({
    name: 'flattr_event_loop_stall_bound_seconds',
    help: 'The stall bound, EVENT_LOOP_STALL_MS.',
    registers: [registry],
    collect() {
      this.set(monitor.stallMs / 1000);
    },
  });
}

/** Read replicas (src/db/replicas.ts): each one's state and lag, and where this process's reads went. */
function registerReplicaMetrics(registry: Registry, monitor: ReplicaMonitor): void {
  new Gauge({
    name: 'flattr_db_replica_up',
    help: 'Whether each read replica is in rotation (1) or out of it (0: down, lagging, or not checked yet).',
    labelNames: ['replica', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of monitor.states.replicas) this.set({ replica: r.name, state: r.state }, r.state === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'flattr_db_replica_lag_seconds',
    help: "How far each read replica's replay is behind, as its last check saw it (-1: unknown, e.g. down).",
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      for (const r of monitor.states.replicas) this.set({ replica: r.name }, r.lagSeconds ?? -1);
    },
  });
  const counted = new Map<string, number>();
  new Counter({
    name: 'flattr_db_routed_reads_total',
    help: 'Reads this process routed (entity reads and read connections outside transactions), by target: a replica, or primary.',
    labelNames: ['target'] as const,
    registers: [registry],
    collect() {
      const totals: [string, number][] = [['primary', monitor.states.primaryReads], ...monitor.states.replicas.map((r): [string, number] => [r.name, r.reads])];
      for (const [target, total] of totals) {
        this.inc({ target }, total - (counted.get(target) ?? 0));
        counted.set(target, total);
      }
    },
  });
}

/**
 * The background jobs (src/jobs/): each job's last run as `job_runs` records it, whichever process ran it (read at
 * each scrape, one small query on the primary), and what this process did.
 */
function registerJobMetrics(registry: Registry, orm: MikroORM, scheduler: JobScheduler): void {
  const names = scheduler.jobs.map((job) => job.name);
  // One read of job_runs per scrape, shared by the gauges below.
  let pending: Promise<Awaited<ReturnType<typeof readJobRuns>> | null> | null = null;
  const runs = () => {
    pending ??= readJobRuns(orm.em.fork())
      .catch(() => null)
      .finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
  const seconds = (date: Date | null | undefined) => (date ? date.getTime() / 1000 : 0);
  new Gauge({
    name: 'flattr_job_last_run_timestamp_seconds',
    help: 'When each background job last started, in Unix seconds, in any process (0: never).',
    labelNames: ['job'] as const,
    registers: [registry],
    async collect() {
      const rows = await runs();
      for (const job of names) this.set({ job }, seconds(rows?.get(job)?.lastStartedAt));
    },
  });
  new Gauge({
    name: 'flattr_job_last_duration_seconds',
    help: "How long each background job's last finished run took.",
    labelNames: ['job'] as const,
    registers: [registry],
    async collect() {
      const rows = await runs();
      for (const job of names) this.set({ job }, (rows?.get(job)?.lastDurationMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'flattr_job_last_success',
    help: "1 when each background job's last finished run succeeded, 0 when it failed or never finished.",
    labelNames: ['job'] as const,
    registers: [registry],
    async collect() {
      const rows = await runs();
      for (const job of names) this.set({ job }, rows?.get(job)?.lastOutcome === 'ok' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'flattr_job_runs',
    help: 'Finished runs of each background job, over all processes.',
    labelNames: ['job'] as const,
    registers: [registry],
    async collect() {
      const rows = await runs();
      for (const job of names) this.set({ job }, rows?.get(job)?.runs ?? 0);
    },
  });
  new Gauge({
    name: 'flattr_job_process_runs',
    help: 'Runs of each background job by this process, by outcome (busy: another process held the job\'s lock).',
    labelNames: ['job', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const job of names) {
        const stats = scheduler.processStats(job);
        for (const outcome of ['ok', 'failed', 'busy'] as const) this.set({ job, outcome }, stats?.[outcome] ?? 0);
      }
    },
  });
}

/** `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time (digests of equal length). */
export function metricsAuthorized(authorization: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
