import { createYoga, type Plugin } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { Context } from 'koa';
import { documentLimitsRule, type DocumentLimits } from '../../schema/limits.js';
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
    plugins: [documentLimitsPlugin(limits), ...plugins],
    logging: false,
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;

/** Runs Yoga inside Koa and copies its Fetch API response onto the Koa context. */
export async function serveGraphQL(yoga: GraphQLServer, ctx: Context, context: GraphQLContext): Promise<void> {
  const response = await yoga.handleNodeRequestAndResponse(ctx.req, ctx.res, context);
  ctx.status = response.status;
  response.headers.forEach((value, key) => ctx.set(key, value));
  ctx.body = response.body ? Buffer.from(await response.arrayBuffer()) : null;
}
