import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'graphql';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every setting of the service, validated once at start-up (README "Configuration"). */
export interface AppConfig {
  port: number;
  host: string;
  /** null: run on the embedded PostgreSQL kept in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  /** DATA_DIR was not given: `dataDir` is `./.data`, which may move when running as root (src/db/embedded-postgres.ts). */
  dataDirIsDefault: boolean;
  apiUrl: string;
  siteUrl: string;
  docsUrl: string;
  rateLimitPerHour: number;
  rateLimitWindowSeconds: number;
  maxPageSize: number;
  authCodeTtlSeconds: number;
  tagAuthority: string;
  trustProxy: boolean;
  requireTls: boolean;
  redisUrl: string | null;
  /** RATE_LIMIT_REDIS_TIMEOUT_MS: longest wait for a Redis reply before the rate limiter counts in memory instead. */
  rateLimitRedisTimeoutMs: number;
  /** RATE_LIMIT_KEY_PREFIX: prefix of the rate-limit keys in Redis (deployments, or tests, sharing one Redis). */
  rateLimitKeyPrefix: string;
  logLevel: LogLevel;
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  /**
   * GRAPHQL_TRUSTED_DOCUMENTS: the allow-list manifest (id → document) read at start-up, or null (any document
   * runs, and automatic persisted queries are on). See src/server/persisted-operations.ts.
   */
  graphqlTrustedDocuments: TrustedDocumentsManifest | null;
  /** SUBSCRIPTIONS_CRON: run the monthly subscription flattrs (spec D77) at start and then hourly. */
  subscriptionsCron: boolean;
  /** METRICS_TOKEN: when set, GET /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** SHUTDOWN_TIMEOUT_MS: how long in-flight requests may take to finish after SIGTERM/SIGINT. */
  shutdownTimeoutMs: number;
  /** Slow clients: the request headers must arrive within this time (slowloris). */
  httpHeadersTimeoutMs: number;
  /** The whole request, body included, must arrive within this time. */
  httpRequestTimeoutMs: number;
  /** STATS_CACHE_SECONDS: how long a `stats` answer is reused by this process (0: never). */
  statsCacheSeconds: number;
  /** LIVE_MAX_PER_CALLER: open GraphQL subscriptions per token (or per client address without one), per process. */
  liveMaxPerCaller: number;
  /** LIVE_MAX_STREAMS: open GraphQL subscriptions per process. */
  liveMaxStreams: number;
  /** LIVE_BUFFER_EVENTS: events kept for a subscriber that does not read them before it is dropped (SLOW_CONSUMER). */
  liveBufferEvents: number;
  /** LIVE_CHARGE_SECONDS: every such period a subscription stays open costs its caller one more request (0: never). */
  liveChargeSeconds: number;
  /** SEARCH_COUNT_CACHE_SIZE: search counts (`total_items`) this process keeps per filter, exact while no thing changes (0: none). */
  searchCountCacheSize: number;
  /** SEARCH_RELEVANCE_CACHE_IDS: thing ids this process keeps for the relevance levels of searches with terms (0: none). */
  searchRelevanceCacheIds: number;
  /** EVENT_LOOP_STALL_MS: an event-loop delay above this is a stall, which /readyz reports (0: the guard is off). */
  eventLoopStallMs: number;
  /** EVENT_LOOP_STALL_HOLD_SECONDS: how long after a stall /readyz answers 503. */
  eventLoopStallHoldSeconds: number;
  /** LOG_FORMAT: `json` (one JSON object per line) or `pretty` (pino-pretty, for development). */
  logFormat: LogFormat;
  /** WEB_CONCURRENCY: worker processes serving one port (node:cluster); 1 runs the server in this process, with no cluster. */
  webConcurrency: number;
  /** JOBS: run the background jobs' scheduler in this process (src/jobs/; each job runs in one process at a time). */
  jobs: boolean;
  /** JOBS_TICK_SECONDS: how often the scheduler looks for due jobs. */
  jobsTickSeconds: number;
  /** DATABASE_REPLICA_URLS: read replicas of DATABASE_URL (streaming replication); anonymous reads go there. */
  databaseReplicaUrls: string[];
  /** REPLICA_STICKY_SECONDS: after a token, session or client writes, its reads go to the primary for this long. */
  replicaStickySeconds: number;
  /** REPLICA_MAX_LAG_SECONDS: a replica whose replay lags more than this (or that is down) is out of rotation. */
  replicaMaxLagSeconds: number;
  /** REPLICA_CONNECT_TIMEOUT_MS: a replica that does not connect, or answer its check, within this is down. */
  replicaConnectTimeoutMs: number;
}

export type LogFormat = 'json' | 'pretty';

export interface TrustedDocumentsManifest {
  /** The manifest's path, resolved. */
  path: string;
  /** Document id (e.g. the SHA-256 of the text, as graphql-codegen's client preset writes it) → document text. */
  documents: Record<string, string>;
}

/** Largest manifest file read (graphql-codegen and Relay manifests of large apps stay well below). */
export const MAX_TRUSTED_MANIFEST_BYTES = 16 * 1024 * 1024;
const DOCUMENT_ID = /^[A-Za-z0-9:_.+\/=-]{1,256}$/;

/**
 * Reads and checks a trusted-documents manifest: a JSON object of id → GraphQL document (graphql-codegen's
 * `persisted-documents.json`, Relay's `persisted_queries.json`), at least one entry, each id 1–256 characters of
 * letters, digits and `:_.+/=-`, each document a non-empty string that parses as GraphQL.
 */
export function loadTrustedDocuments(file: string, cwd: string): TrustedDocumentsManifest {
  const resolved = path.resolve(cwd, file);
  let text: string;
  try {
    const stat = fs.statSync(resolved);
    if (!stat.isFile()) throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: ${resolved} is not a file`);
    if (stat.size > MAX_TRUSTED_MANIFEST_BYTES) throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: ${resolved} is larger than ${MAX_TRUSTED_MANIFEST_BYTES} bytes`);
    text = fs.readFileSync(resolved, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: cannot read ${resolved} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: ${resolved} is not JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: ${resolved} must be a JSON object of document id → document`);
  }
  const documents: Record<string, string> = Object.create(null);
  for (const [id, document] of Object.entries(parsed)) {
    if (!DOCUMENT_ID.test(id)) throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: invalid document id "${id.slice(0, 80)}"`);
    if (typeof document !== 'string' || document.trim() === '') throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: document "${id}" must be a non-empty string`);
    try {
      parse(document);
    } catch (error) {
      throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: document "${id}" is not valid GraphQL: ${(error as Error).message}`);
    }
    documents[id] = document;
  }
  if (Object.keys(documents).length === 0) throw new ConfigError(`GRAPHQL_TRUSTED_DOCUMENTS: ${resolved} lists no document`);
  return { path: resolved, documents };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** WEB_CONCURRENCY: 1–64, or `auto` (os.availableParallelism(), at most 64). */
function webConcurrency(env: Env): number {
  const raw = read(env, 'WEB_CONCURRENCY');
  if (raw !== undefined && raw.toLowerCase() === 'auto') return Math.max(1, Math.min(64, os.availableParallelism()));
  return integer(env, 'WEB_CONCURRENCY', 1, 1, 64);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function baseUrl(env: Env, name: string, fallback: string): string {
  const raw = read(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  // Spec §1.1: a trailing slash is removed when the configuration is loaded.
  let end = raw.length;
  while (end > 0 && raw[end - 1] === '/') end--;
  return raw.slice(0, end);
}

/** A comma-separated list of postgres:// URLs (empty: none). */
function databaseUrls(env: Env, name: string): string[] {
  const raw = read(env, name);
  if (raw === undefined) return [];
  const urls = raw.split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length > 16) throw new ConfigError(`${name} lists at most 16 URLs, got ${urls.length}`);
  for (const url of urls) if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError(`${name} must be a comma-separated list of postgres:// URLs`);
  return urls;
}

function databaseUrl(env: Env, name: string): string | null {
  const raw = read(env, name);
  if (raw === undefined) return null;
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new ConfigError(`${name} must be a postgres:// URL`);
  return raw;
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const logLevel = (read(env, 'LOG_LEVEL') ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const redisUrl = read(env, 'REDIS_URL') ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) throw new ConfigError('REDIS_URL must be a redis:// URL');
  const rateLimitKeyPrefix = read(env, 'RATE_LIMIT_KEY_PREFIX') ?? 'flattr:ratelimit';
  if (!/^[A-Za-z0-9:_.-]{1,100}$/.test(rateLimitKeyPrefix)) {
    throw new ConfigError(`RATE_LIMIT_KEY_PREFIX may only contain letters, digits and ":_.-" (at most 100), got "${rateLimitKeyPrefix}"`);
  }
  const logFormat = (read(env, 'LOG_FORMAT') ?? (env.npm_lifecycle_event === 'dev' ? 'pretty' : 'json')).toLowerCase();
  if (logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError(`LOG_FORMAT must be json or pretty, got "${env.LOG_FORMAT}"`);
  const metricsToken = read(env, 'METRICS_TOKEN') ?? null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    throw new ConfigError('METRICS_TOKEN must be 16 to 256 printable ASCII characters without spaces');
  }
  const eventLoopStallMs = integer(env, 'EVENT_LOOP_STALL_MS', 1_000, 0, 600_000);
  const databaseReplicaUrls = databaseUrls(env, 'DATABASE_REPLICA_URLS');
  if (databaseReplicaUrls.length > 0 && read(env, 'DATABASE_URL') === undefined) {
    throw new ConfigError('DATABASE_REPLICA_URLS needs DATABASE_URL (the embedded PostgreSQL has no replicas)');
  }
  if (eventLoopStallMs > 0 && eventLoopStallMs < 20) throw new ConfigError(`EVENT_LOOP_STALL_MS must be 0 (off) or between 20 and 600000, got ${eventLoopStallMs}`);
  return {
    port,
    host: read(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: databaseUrl(env, 'DATABASE_URL'),
    dataDir: path.resolve(cwd, read(env, 'DATA_DIR') ?? './.data'),
    dataDirIsDefault: read(env, 'DATA_DIR') === undefined,
    apiUrl: baseUrl(env, 'API_URL', `http://localhost:${port}/rest/v2`),
    siteUrl: baseUrl(env, 'SITE_URL', `http://localhost:${port}`),
    docsUrl: baseUrl(env, 'DOCS_URL', 'http://developers.flattr.net'),
    rateLimitPerHour: integer(env, 'RATE_LIMIT_PER_HOUR', 5000, 1, 1_000_000_000),
    rateLimitWindowSeconds: integer(env, 'RATE_LIMIT_WINDOW_SECONDS', 3600, 1, 86_400 * 366),
    maxPageSize: integer(env, 'MAX_PAGE_SIZE', 100, 1, 10_000),
    authCodeTtlSeconds: integer(env, 'AUTH_CODE_TTL_SECONDS', 600, 1, 86_400),
    tagAuthority: read(env, 'TAG_AUTHORITY') ?? 'flattr.com',
    trustProxy: boolean(env, 'TRUST_PROXY', false),
    requireTls: boolean(env, 'REQUIRE_TLS', false),
    redisUrl,
    rateLimitRedisTimeoutMs: integer(env, 'RATE_LIMIT_REDIS_TIMEOUT_MS', 200, 10, 10_000),
    rateLimitKeyPrefix,
    logLevel,
    graphqlMaxDepth: integer(env, 'GRAPHQL_MAX_DEPTH', 12, 2, 100),
    graphqlMaxCost: integer(env, 'GRAPHQL_MAX_COST', 20000, 10, 10_000_000),
    graphqlTrustedDocuments: read(env, 'GRAPHQL_TRUSTED_DOCUMENTS') === undefined ? null : loadTrustedDocuments(read(env, 'GRAPHQL_TRUSTED_DOCUMENTS')!, cwd),
    subscriptionsCron: boolean(env, 'SUBSCRIPTIONS_CRON', false),
    metricsToken,
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 8_000, 0, 600_000),
    httpHeadersTimeoutMs: integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 3_600_000),
    httpRequestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    statsCacheSeconds: integer(env, 'STATS_CACHE_SECONDS', 30, 0, 3_600),
    liveMaxPerCaller: integer(env, 'LIVE_MAX_PER_CALLER', 10, 1, 10_000),
    liveMaxStreams: integer(env, 'LIVE_MAX_STREAMS', 5_000, 1, 1_000_000),
    liveBufferEvents: integer(env, 'LIVE_BUFFER_EVENTS', 100, 1, 100_000),
    liveChargeSeconds: integer(env, 'LIVE_CHARGE_SECONDS', 60, 0, 86_400),
    searchCountCacheSize: integer(env, 'SEARCH_COUNT_CACHE_SIZE', 10_000, 0, 1_000_000),
    searchRelevanceCacheIds: integer(env, 'SEARCH_RELEVANCE_CACHE_IDS', 2_000_000, 0, 100_000_000),
    eventLoopStallMs,
    eventLoopStallHoldSeconds: integer(env, 'EVENT_LOOP_STALL_HOLD_SECONDS', 30, 1, 86_400),
    logFormat,
    webConcurrency: webConcurrency(env),
    jobs: boolean(env, 'JOBS', true),
    jobsTickSeconds: integer(env, 'JOBS_TICK_SECONDS', 30, 1, 3_600),
    databaseReplicaUrls,
    replicaStickySeconds: integer(env, 'REPLICA_STICKY_SECONDS', 5, 0, 3_600),
    replicaMaxLagSeconds: integer(env, 'REPLICA_MAX_LAG_SECONDS', 10, 1, 86_400),
    replicaConnectTimeoutMs: integer(env, 'REPLICA_CONNECT_TIMEOUT_MS', 2_000, 100, 60_000),
  };
}

/** Loads `.env` from the working directory when present; real environment variables win. */
export function loadDotEnv(cwd: string = process.cwd()): void {
  const file = path.join(cwd, '.env');
  try {
    process.loadEnvFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
