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

export function createGraphQLServer(schema: GraphQLSchema, limits: DocumentLimits) {
  return createYoga<GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: { title: 'Flattr GraphQL' },
    landingPage: false,
    plugins: [documentLimitsPlugin(limits)],
    logging: false,
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;

/** Runs Yoga inside Koa: Yoga writes the Node response itself, so Koa must not respond again. */
export async function serveGraphQL(yoga: GraphQLServer, ctx: Context, context: GraphQLContext): Promise<void> {
  ctx.respond = false;
  await yoga.handleNodeRequestAndResponse(ctx.req, ctx.res, context);
}
