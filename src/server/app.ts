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

export interface AppDeps {
  orm: MikroORM;
  config: AppConfig;
  clock: Clock;
  logger: Logger;
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function createApp(deps: AppDeps): Koa {
  const { orm, config, clock, logger } = deps;
  const app = new Koa();
  app.proxy = config.trustProxy;
  const limits = { maxDepth: config.graphqlMaxDepth, maxCost: config.graphqlMaxCost };
  const rest = createRestFacade({ schema, orm, config, clock, logger });
  const yoga = createGraphQLServer(schema, limits);

  const oauth = createOAuthRouter(deps);
  const web = createWebRouter(deps);

  app.use(async (ctx, next) => {
    if (isUnder(ctx.path, REST_PREFIX)) return rest(ctx);
    if (ctx.path === '/graphql') {
      const em = orm.em.fork();
      const token = tokenFromAuthorization(ctx.get('Authorization') || undefined);
      const viewer = token ? await resolveAccessToken(em, token) : null;
      if (token && !viewer) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="flattr", error="invalid_token", error_description="The access token is invalid"');
        ctx.body = { errors: [{ message: 'The access token is invalid', extensions: { code: 'UNAUTHENTICATED' } }] };
        return;
      }
      return serveGraphQL(yoga, ctx, { em, clock, config, viewer });
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
