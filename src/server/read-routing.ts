import { createHash } from 'node:crypto';
import { createSharedStateRedis } from '../config/redis-client.js';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import type { Clock } from '../config/clock.js';
import type { AppConfig } from '../config/config.js';
import { currentReadRoute, withReadRoute, type ReadRoute } from '../db/replicas.js';
import { REST_PREFIX } from '../../rest-facade/pipeline.js';
import { GRAPHQL_PATH } from './graphql-endpoint.js';

/**
 * Which requests read from a replica (issue 19, src/db/replicas.ts decides which replica):
 *
 * - REST v2 GET/HEAD requests (feeds included) and GraphQL queries (GET or POST /graphql; a mutation's reads stay on
 *   the primary). The website and OAuth always read the primary (their reads right after a login or a grant would
 *   otherwise race the replica), and so does the authentication of every request (app.ts: a token issued a moment
 *   ago must be found);
 * - except for REPLICA_STICKY_SECONDS after the same caller wrote (read-your-writes): every request that may write
 *   (any method but GET/HEAD/OPTIONS, or a GraphQL mutation) marks its caller's keys — the Authorization header (its
 *   token) and the website session cookie, hashed — at its start and its end; a read whose keys are marked reads the
 *   primary. Not the client address: behind a proxy or a NAT it would send everybody's reads to the primary.
 *   The marks are shared through Redis when REDIS_URL is set (so another API process honours them), and kept in this
 *   process too; when Redis does not answer, reads go to the primary.
 */

export interface StickyStore {
  mark(keys: string[], seconds: number): Promise<void>;
  isMarked(keys: string[]): Promise<boolean>;
  close(): Promise<void>;
}

/** Marks in this process's memory (bounded: expired marks are dropped as the map grows). */
export class MemoryStickyStore implements StickyStore {
  private readonly until = new Map<string, number>();
  constructor(private readonly clock: Clock, private readonly maxEntries = 100_000) {}

  async mark(keys: string[], seconds: number): Promise<void> {
    const deadline = this.clock.now().getTime() + seconds * 1000;
    for (const key of keys) {
      this.until.delete(key);
      this.until.set(key, deadline);
    }
    if (this.until.size > this.maxEntries) {
      const now = this.clock.now().getTime();
      for (const [key, at] of this.until) if (at <= now || this.until.size > this.maxEntries) this.until.delete(key);
    }
  }

  async isMarked(keys: string[]): Promise<boolean> {
    const now = this.clock.now().getTime();
    return keys.some((key) => (this.until.get(key) ?? 0) > now);
  }

  async close(): Promise<void> {}
}

/** Marks in Redis (`<prefix>:<key>` with a TTL), and in memory. */
export class RedisStickyStore implements StickyStore {
  private readonly memory: MemoryStickyStore;
  constructor(private readonly client: Redis, private readonly prefix: string, clock: Clock, private readonly logger: Logger) {
    this.memory = new MemoryStickyStore(clock);
  }

  async mark(keys: string[], seconds: number): Promise<void> {
    await this.memory.mark(keys, seconds);
    try {
      const multi = this.client.multi();
      for (const key of keys) multi.set(`${this.prefix}:${key}`, '1', 'PX', seconds * 1000);
      await multi.exec();
    } catch (error) {
      this.logger.warn({ err: error }, 'read-your-writes mark not shared (Redis)');
    }
  }

  async isMarked(keys: string[]): Promise<boolean> {
    if (await this.memory.isMarked(keys)) return true;
    try {
      return (await this.client.exists(...keys.map((key) => `${this.prefix}:${key}`))) > 0;
    } catch {
      return true; // unsure: the primary is always right
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

export function createStickyStore(config: AppConfig, clock: Clock, logger: Logger): StickyStore {
  if (!config.redisUrl) return new MemoryStickyStore(clock);
  const client = createSharedStateRedis({ ...config, redisUrl: config.redisUrl }, 'flattr-read-your-writes');
  client.on('error', () => undefined); // reported through isMarked's fallback
  return new RedisStickyStore(client, `${config.rateLimitKeyPrefix}:sticky`, clock, logger);
}

const hash = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 32);
const SESSION_COOKIE = 'flattr_session=';

/** The website session cookie's value, if any (no regex over the header: a client controls it). */
function sessionCookie(header: string): string | null {
  if (header.length > 16_384) return null;
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed.startsWith(SESSION_COOKIE)) return trimmed.slice(SESSION_COOKIE.length) || null;
  }
  return null;
}

/** The caller's keys: Authorization header (hashed), website session cookie (hashed). */
function callerKeys(ctx: Context): string[] {
  const keys: string[] = [];
  const authorization = ctx.get('Authorization');
  if (authorization) keys.push(`auth:${hash(authorization)}`);
  const session = sessionCookie(ctx.get('Cookie'));
  if (session) keys.push(`session:${hash(session)}`);
  return keys;
}

interface RequestRoute extends ReadRoute {
  /** Not marked sticky and on a path that may read a replica. */
  eligible: boolean;
  /** The request ran a GraphQL mutation (its caller is marked at the end). */
  wrote: boolean;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Koa middleware: decides the request's read route and marks writers (see above). */
export function readRoutingMiddleware(deps: { sticky: StickyStore; stickySeconds: number }) {
  const { sticky, stickySeconds } = deps;
  return async (ctx: Context, next: Next) => {
    const routable = ctx.path === GRAPHQL_PATH || ctx.path === REST_PREFIX || ctx.path.startsWith(`${REST_PREFIX}/`);
    const read = READS.has(ctx.method);
    // POST /graphql is a query or a mutation: known once parsed (readRoutingPlugin).
    const graphqlPost = ctx.method === 'POST' && ctx.path === GRAPHQL_PATH;
    const writes = !read && !graphqlPost;
    const keys = callerKeys(ctx);
    const sticking = stickySeconds > 0 && keys.length > 0;
    if (writes && sticking) await sticky.mark(keys, stickySeconds);
    const eligible = routable && (read || graphqlPost) && !(sticking && (await sticky.isMarked(keys)));
    const route: RequestRoute = { eligible, replica: eligible && read, wrote: writes };
    try {
      await withReadRoute(route, next);
    } finally {
      if (route.wrote && sticking) await sticky.mark(keys, stickySeconds);
    }
  };
}

/** GraphQL: a query may read a replica (when the request may), anything else reads the primary and marks the caller. */
export function readRoutingPlugin(): Plugin {
  return {
    onExecute({ args }) {
      routeGraphQLOperation(getOperationAST(args.document, args.operationName)?.operation);
    },
  };
}

/** The routing of the request's operation about to execute (the plugin above; the /graphql fast path for queries). */
export function routeGraphQLOperation(operation: string | undefined): void {
  const route = currentReadRoute() as RequestRoute | undefined;
  if (!route || !('eligible' in route)) return;
  route.replica = route.eligible && operation === 'query';
  if (operation !== 'query') route.wrote = true;
}
