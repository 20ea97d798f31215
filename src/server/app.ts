import Koa from 'koa';
import { schema } from '../../schema/index.js';
import { schemaSdl } from '../../schema/sdl.js';
import { createRestFacade, REST_PREFIX } from '../../rest-facade/pipeline.js';
import { createGraphQLServer } from './graphql-server.js';
import { createGraphQLFastPath } from './graphql-fast-path.js';
import { KnownDocuments } from './graphql-known-documents.js';
import { createGraphQLEndpoint, GRAPHQL_PATH } from './graphql-endpoint.js';
import { appRateLimiter, type AppDeps } from './app-deps.js';
import { GRAPHIQL_ASSETS, serveGraphiQLAsset } from './graphiql.js';
import { authenticateAccessToken } from '../http/authenticate.js';
import { createOAuthRouter } from '../oauth/index.js';
import { createWebRouter } from '../web/index.js';
import { RateLimitGate } from '../rate-limit/admission.js';
import { rateLimitWeightPlugin } from '../rate-limit/graphql.js';
import { Readiness, type ComponentReadiness } from './readiness.js';
import type { ReplicaMonitor } from '../db/replicas.js';
import { createMetrics, metricsAuthorized, type AppMetrics } from '../ops/metrics.js';
import { observeRequests, type ObservedState } from '../ops/observe.js';
import { registerReadinessChecks, serveHealthz, serveReadyz } from '../ops/health.js';
import { buildOpenApi } from '../ops/openapi.js';
import { renderDocsPage } from '../ops/docs-page.js';
import { graphqlMetricsPlugin } from '../ops/graphql-metrics.js';
import { EventLoopMonitor } from '../ops/event-loop-monitor.js';
import { sendPage } from '../web/respond.js';
import { sessionStatsViewer } from '../web/dashboard.js';
import { createLive, type Live } from './live.js';
import { onPrimary } from '../db/replicas.js';
import { readRoutingMiddleware, readRoutingPlugin, routeGraphQLOperation } from './read-routing.js';

/** What the app is built from: src/server/app-deps.ts (re-exported for the callers of createApp). */
export type { AppDeps } from './app-deps.js';

/** The OpenAPI document: served before the REST pipeline, so never rate limited or counted against a bucket. */
export const OPENAPI_PATH = '/rest/v2/openapi.json';

/** What closeApp stops for each app (timers of the stall guard). */
const closers = new WeakMap<Koa, () => void>();

/** GraphQL subscriptions of each app (src/server/live.ts). */
const lives = new WeakMap<Koa, Live>();

/** Stops an app's own timers (the event-loop monitor) and its subscriptions. The server's shutdown and the tests' close call it; idempotent. */
export function closeApp(app: Koa): void {
  closers.get(app)?.();
  closers.delete(app);
  void lives.get(app)?.close();
  lives.delete(app);
}

/** Graceful shutdown, before the drain: open subscriptions end with a final SERVER_SHUTTING_DOWN event. */
export function endSubscriptions(app: Koa): void {
  lives.get(app)?.shutdown();
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export const SDL_PATH = '/schema.graphql';

/** /readyz `replicas`: ok when every replica is in rotation, degraded otherwise (reads then go to the primary). */
function replicaReadiness(monitor: ReplicaMonitor): ComponentReadiness {
  const replicas = monitor.states.replicas.map(({ name, state, lagSeconds, since, detail }) => ({ name, state, lagSeconds, since, ...(detail ? { detail } : {}) }));
  const out = replicas.filter((r) => r.state !== 'up');
  if (out.length === 0) return { status: 'ok', replicas };
  return { status: 'degraded', detail: `${out.map((r) => `${r.name} ${r.state}`).join(', ')}: their reads go to the primary`, replicas };
}

export function createApp(deps: AppDeps): Koa {
  const { orm, config, clock, logger } = deps;
  const app = new Koa();
  app.proxy = config.trustProxy;
  const limits = { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost };
  const rateLimiter = appRateLimiter(deps);
  const rateLimits = new RateLimitGate(rateLimiter);
  // The stall guard (issue 14): an event-loop stall over EVENT_LOOP_STALL_MS makes /readyz answer 503 for
  // EVENT_LOOP_STALL_HOLD_SECONDS and shows in /metrics. Started below, once the app is built; stopped by closeApp.
  const eventLoop = config.eventLoopStallMs > 0
    ? new EventLoopMonitor({ stallMs: config.eventLoopStallMs, holdSeconds: config.eventLoopStallHoldSeconds, clock })
    : null;
  const replicas = deps.replicas ?? null;
  const metrics: AppMetrics = createMetrics(orm, { eventLoop, jobs: deps.jobs ?? null, replicas: replicas?.monitor ?? null });
  rateLimits.onRefused = (stage) => metrics.rateLimitRejected(stage);
  const readiness = deps.readiness ?? new Readiness();
  registerReadinessChecks(readiness, { orm, config, rateLimiter });
  if (eventLoop) readiness.register('eventLoop', () => eventLoop.readiness());
  if (replicas) readiness.register('replicas', () => replicaReadiness(replicas.monitor));
  const startedAt = Date.now();
  // Authentication is injected into both request paths, like the rate limiter; so is the admission they share.
  // With replicas, authentication reads the primary: a token issued a moment ago must be found (src/server/read-routing.ts).
  const authenticate: typeof authenticateAccessToken = replicas ? (token, em) => onPrimary(() => authenticateAccessToken(token, em)) : authenticateAccessToken;
  const rest = createRestFacade({ schema, orm, config, clock, logger, rateLimits, authenticate });
  const live = createLive({ orm, config, logger, registry: metrics.registry, limits });
  lives.set(app, live);
  const knownDocuments = new KnownDocuments();
  const yoga = createGraphQLServer(schema, limits, [rateLimitWeightPlugin(), graphqlMetricsPlugin(metrics), live.plugin, ...(replicas ? [readRoutingPlugin()] : [])], {
    logger,
    trustedDocuments: config.graphqlTrustedDocuments?.documents ?? null,
    compiled: { onExecution: (outcome) => metrics.compiledExecution(outcome) },
    knownDocuments,
  });
  // Known query documents answered before Yoga, doing what the plugins above do for them (issue 18).
  const fastPath = createGraphQLFastPath({
    schema,
    limits,
    known: knownDocuments,
    onExecution: (outcome) => metrics.compiledExecution(outcome),
    observeOperation: (name, ok, seconds) => metrics.observeOperation(name, 'graphql', ok, seconds),
    onQuery: replicas ? () => routeGraphQLOperation('query') : undefined,
  });
  const openApi = buildOpenApi(config);
  const openApiJson = JSON.stringify(openApi);
  let docsPage: string | null = null;
  let sdl: string | null = null;

  const oauth = createOAuthRouter(deps);
  const web = createWebRouter(deps);
  const sessionDeps = { config, clock };
  const graphql = createGraphQLEndpoint({
    orm,
    config,
    clock,
    yoga,
    fastPath,
    admission: { rateLimits, trustProxy: config.trustProxy, authenticate },
    // The website session behind /graphql is authentication too: read on the primary (a login a moment ago counts).
    // Without replicas every read is on the primary already, and onPrimary's AsyncLocalStorage would switch Node's
    // promise hooks on for the whole process (src/db/no-async-context.ts says why that is avoided).
    sessionViewer: replicas ? (ctx, em) => onPrimary(() => sessionStatsViewer(ctx, em, sessionDeps)) : (ctx, em) => sessionStatsViewer(ctx, em, sessionDeps),
  });

  // Request id, access log, HTTP metrics; uncaught errors become a 500 that keeps X-Request-Id (src/ops/observe.ts).
  app.use(observeRequests({ logger, metrics }));

  // Operations endpoints (src/ops): before the REST facade and the rate limiter, so never limited or counted.
  app.use(async (ctx, next) => {
    const read = ctx.method === 'GET' || ctx.method === 'HEAD';
    const state = ctx.state as ObservedState;
    if (!read) return next();
    switch (ctx.path) {
      case '/healthz':
        state.route = '/healthz';
        return serveHealthz(ctx, startedAt);
      case '/readyz':
        state.route = '/readyz';
        return serveReadyz(ctx, readiness);
      case '/metrics': {
        state.route = '/metrics';
        ctx.set('Cache-Control', 'no-store');
        if (!metricsAuthorized(ctx.get('Authorization') || undefined, config.metricsToken)) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
          ctx.body = { error: 'unauthorized', error_description: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' };
          return;
        }
        const { contentType, body } = await metrics.render();
        ctx.type = contentType;
        ctx.body = body;
        return;
      }
      case OPENAPI_PATH:
        state.route = OPENAPI_PATH;
        ctx.set('Access-Control-Allow-Origin', '*');
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.type = 'application/json; charset=utf-8';
        ctx.body = openApiJson;
        return;
      case SDL_PATH:
        // The schema's SDL, as committed in schema.graphql: for code generators and schema registries. Not counted.
        state.route = SDL_PATH;
        ctx.set('Access-Control-Allow-Origin', '*');
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = sdl ??= schemaSdl(schema);
        return;
      case '/docs':
        state.route = '/docs';
        docsPage ??= renderDocsPage(openApi, { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost, rateLimitPerHour: config.rateLimitPerHour });
        sendPage(ctx, 200, docsPage, { cache: 'private' });
        return;
      default:
        // GraphiQL's own files (src/server/graphiql.ts): static, so not counted either.
        if (ctx.path.startsWith(`${GRAPHIQL_ASSETS}/`) && (await serveGraphiQLAsset(ctx))) {
          state.route = `${GRAPHIQL_ASSETS}/:file`;
          return;
        }
        return next();
    }
  });

  // Read replicas: where this request's reads go, and read-your-writes marks (src/server/read-routing.ts).
  if (replicas) app.use(readRoutingMiddleware({ sticky: replicas.sticky, stickySeconds: config.replicaStickySeconds }));

  app.use(async (ctx, next) => {
    if (isUnder(ctx.path, REST_PREFIX)) return rest(ctx);
    if (ctx.path === GRAPHQL_PATH) return graphql(ctx);
    return next();
  });
  app.use(oauth.routes());
  app.use(oauth.allowedMethods());
  app.use(web.routes());
  app.use(web.allowedMethods());
  app.use(async (ctx) => {
    if (ctx.body !== undefined || ctx.status !== 404) return;
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: 'The resource was not found', error_uri: `${config.docsUrl}/api/` };
  });

  app.on('error', (error) => logger.error({ err: error }, 'unhandled Koa error'));
  if (eventLoop) {
    eventLoop.start();
    closers.set(app, () => eventLoop.stop());
  }
  return app;
}
