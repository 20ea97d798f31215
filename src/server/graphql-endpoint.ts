import type { Context } from 'koa';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config.js';
import type { Clock } from '../config/clock.js';
import type { GraphQLContext } from '../../schema/context.js';
import { tokenFromAuthorization } from '../../rest-facade/access-token.js';
import { admitRequest, admittedHeaders, type AdmissionDeps } from '../http/admission.js';
import { observeClient, observeRoute } from '../http/observation.js';
import { TLS_REQUIRED_CHALLENGE, TLS_REQUIRED_MESSAGE, tlsMissing } from '../http/tls.js';
import type { Viewer } from '../http/viewer.js';
import { rateLimitedBody, withRateLimit, withRateLimitExtension, type GraphQLRateLimit } from '../rate-limit/graphql.js';
import { rateLimitExtension, rateLimitHeaders, refusalHeaders } from '../rate-limit/state.js';
import { serveGraphQL, type GraphQLServer } from './graphql-server.js';
import type { GraphQLFastPath } from './graphql-fast-path.js';

export const GRAPHQL_PATH = '/graphql';

export interface GraphQLEndpointDeps {
  orm: MikroORM;
  config: AppConfig;
  clock: Clock;
  yoga: GraphQLServer;
  /** The admission shared with REST: the same gate (so the same buckets) and the injected authentication. */
  admission: AdmissionDeps;
  /**
   * The /dashboard page of a logged-in staff user: session cookie + X-CSRF-Token, scope `stats` only
   * (src/web/dashboard.ts). Asked only without a token, once admitted.
   */
  sessionViewer: (ctx: Context, em: GraphQLContext['em']) => Promise<Viewer | null>;
  /** Answers known query documents before Yoga (src/server/graphql-fast-path.ts); without it, Yoga answers all. */
  fastPath?: GraphQLFastPath;
}

/**
 * `/graphql`: the steps it shares with REST (TLS requirement, authentication within rate-limit admission, the
 * observation the access log reads), answered the GraphQL way, then Yoga (src/server/graphql-server.ts).
 */
export function createGraphQLEndpoint(deps: GraphQLEndpointDeps) {
  const { orm, config, clock, yoga } = deps;
  return async function graphqlEndpoint(ctx: Context): Promise<void> {
    observeRoute(ctx, GRAPHQL_PATH);
    const em = orm.em.fork();
    // CORS preflights are not counted (as on REST, spec §7.3) and carry no token.
    if (ctx.method === 'OPTIONS') return serveGraphQL(yoga, ctx, { em, clock, config, viewer: null });
    // REQUIRE_TLS as on REST (spec §6.5 step 2): refused before the token is looked at or counted.
    if (tlsMissing(ctx, config)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', TLS_REQUIRED_CHALLENGE);
      ctx.body = { errors: [{ message: TLS_REQUIRED_MESSAGE, extensions: { code: 'TLS_REQUIRED' } }] };
      return;
    }
    // Every other request counts against the caller's bucket, shared with REST (src/rate-limit/graphql.ts).
    const token = tokenFromAuthorization(ctx.get('Authorization') || undefined);
    const admission = await admitRequest(deps.admission, ctx, { token, count: true, em });
    if (!admission.allowed) {
      ctx.status = 429;
      ctx.set(refusalHeaders(admission.state));
      ctx.body = rateLimitedBody(admission.state);
      return;
    }
    ctx.set(admittedHeaders(admission));
    // Looked up once admitted, so a refused request still reaches no database.
    const sessionViewer = token === null ? await deps.sessionViewer(ctx, em) : null;
    observeClient(ctx, (admission.viewer ?? sessionViewer)?.clientId ?? null);
    if (admission.tokenInvalid) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="flattr", error="invalid_token", error_description="The access token is invalid"');
      ctx.body = {
        errors: [{ message: 'The access token is invalid', extensions: { code: 'UNAUTHENTICATED' } }],
        extensions: { rateLimit: rateLimitExtension(admission.state) },
      };
      return;
    }
    const tracker: GraphQLRateLimit = { gate: deps.admission.rateLimits, admission, refused: false };
    const context = withRateLimit<GraphQLContext>({ em, clock, config, viewer: admission.viewer ?? sessionViewer }, tracker);
    if (!(await deps.fastPath?.(ctx, context, tracker))) await serveGraphQL(yoga, ctx, context);
    // The plugin (or the fast path) may have charged the operation's weight, or refused it.
    const state = admission.state;
    if (tracker.refused) {
      ctx.status = 429;
      ctx.set(refusalHeaders(state));
    } else {
      ctx.set(rateLimitHeaders(state));
    }
    if (!tracker.extensionWritten) {
      const body = withRateLimitExtension(ctx.body, ctx.response.get('Content-Type'), state);
      if (body !== null) ctx.body = body;
    }
  };
}
