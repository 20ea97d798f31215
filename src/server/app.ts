import Koa from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config.js';
import type { Clock } from '../config/clock.js';
import { schema } from '../../schema/index.js';
import { createRestFacade, REST_PREFIX } from '../../rest-facade/pipeline.js';
import { createGraphQLServer, serveGraphQL } from './graphql-server.js';
import { resolveAccessToken } from '../services/tokens.js';
import { tokenFromAuthorization } from '../../rest-facade/access-token.js';
import { createOAuthRouter } from '../oauth/index.js';
import { createWebRouter } from '../web/index.js';
import { createMemoryRateLimiter, type RateLimiter } from '../rate-limit/limiter.js';
import { RateLimitGate, clientAddress } from '../rate-limit/admission.js';
import { rateLimitWeightPlugin, rateLimitedBody, withRateLimit, withRateLimitExtension, type GraphQLRateLimit } from '../rate-limit/graphql.js';
import { rateLimitExtension, rateLimitHeaders, refusalHeaders } from '../rate-limit/state.js';
import type { Readiness } from './readiness.js';

export interface AppDeps {
  orm: MikroORM;
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  /** The shared limiter (main.ts: Redis-backed when REDIS_URL is set). Default: a per-process memory limiter. */
  rateLimiter?: RateLimiter;
  /** Component statuses for /readyz (main.ts registers the rate limiter). */
  readiness?: Readiness;
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function createApp(deps: AppDeps): Koa {
  const { orm, config, clock, logger } = deps;
  const app = new Koa();
  app.proxy = config.trustProxy;
  const limits = { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost };
  const rateLimits = new RateLimitGate(deps.rateLimiter ?? createMemoryRateLimiter(config, logger));
  const rest = createRestFacade({ schema, orm, config, clock, logger, rateLimits });
  const yoga = createGraphQLServer(schema, limits, [rateLimitWeightPlugin()]);

  const oauth = createOAuthRouter(deps);
  const web = createWebRouter(deps);

  app.use(async (ctx, next) => {
    if (isUnder(ctx.path, REST_PREFIX)) return rest(ctx);
    if (ctx.path === '/graphql') {
      const em = orm.em.fork();
      // CORS preflights are not counted (as on REST, spec §7.3) and carry no token.
      if (ctx.method === 'OPTIONS') return serveGraphQL(yoga, ctx, { em, clock, config, viewer: null });
      // Every other request counts against the caller's bucket, shared with REST (src/rate-limit/graphql.ts).
      const token = tokenFromAuthorization(ctx.get('Authorization') || undefined);
      const admission = await rateLimits.admit({
        token,
        address: clientAddress(ctx.req, config.trustProxy),
        count: true,
        authenticate: (presented) => resolveAccessToken(em, presented),
      });
      if (!admission.allowed) {
        ctx.status = 429;
        ctx.set(refusalHeaders(admission.state));
        ctx.body = rateLimitedBody(admission.state);
        return;
      }
      ctx.set(rateLimitHeaders(admission.state));
      if (admission.tokenInvalid) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="flattr", error="invalid_token", error_description="The access token is invalid"');
        ctx.body = {
          errors: [{ message: 'The access token is invalid', extensions: { code: 'UNAUTHENTICATED' } }],
          extensions: { rateLimit: rateLimitExtension(admission.state) },
        };
        return;
      }
      const tracker: GraphQLRateLimit = { gate: rateLimits, admission, refused: false };
      await serveGraphQL(yoga, ctx, withRateLimit({ em, clock, config, viewer: admission.viewer }, tracker));
      // The plugin may have charged the operation's weight, or refused it.
      const state = admission.state;
      if (tracker.refused) {
        ctx.status = 429;
        ctx.set(refusalHeaders(state));
      } else {
        ctx.set(rateLimitHeaders(state));
      }
      const body = withRateLimitExtension(ctx.body, ctx.response.get('Content-Type'), state);
      if (body !== null) ctx.body = body;
      return;
    }
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
  return app;
}
