import { createYoga, type Plugin } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { Context } from 'koa';
import { documentLimitsRule, documentSourceGuardPlugin, type DocumentLimits } from '../../schema/limits.js';
import type { GraphQLContext } from '../../schema/context.js';

function documentLimitsPlugin(limits: DocumentLimits): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(documentLimitsRule(limits));
    },
  };
}

/** `plugins`: added after the document limits (app.ts adds the rate-limit weight plugin, src/rate-limit/graphql.ts). */
export function createGraphQLServer(schema: GraphQLSchema, limits: DocumentLimits, plugins: Plugin[] = []) {
  return createYoga<GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: { title: 'Flattr GraphQL' },
    landingPage: false,
    // GraphQL documents are small; REST bodies have the same 1 MiB limit (spec D16).
    maxRequestBodySize: 1024 * 1024,
    plugins: [documentSourceGuardPlugin(), documentLimitsPlugin(limits), ...plugins],
    logging: false,
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;

/** Runs Yoga inside Koa and copies its Fetch API response onto the Koa context. */
export async function serveGraphQL(yoga: GraphQLServer, ctx: Context, context: GraphQLContext): Promise<void> {
  const response = await yoga.handleNodeRequestAndResponse(ctx.req, ctx.res, context);
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : null;
  response.headers.forEach((value, key) => ctx.set(key, value));
  // Koa turns a null body into a 204 unless the status is one without a body: an empty 415 (unsupported
  // Content-Type) must stay a 415, so a body-less answer of another status gets an empty body instead.
  ctx.body = body ?? ([204, 205, 304].includes(response.status) ? null : '');
  ctx.status = response.status;
}
