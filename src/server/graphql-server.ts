import { createGraphQLError, createYoga, type Plugin } from 'graphql-yoga';
import { jsonNestingExceeds, MAX_JSON_NESTING } from '../http/json-nesting.js';
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

const badRequest = (message: string) => createGraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

/**
 * Reads JSON bodies as Yoga's own parser does, but refuses one nested deeper than MAX_JSON_NESTING before
 * JSON.parse sees it (src/http/json-nesting.ts says why). Yoga's body-size limit still wraps this parser.
 */
function jsonNestingGuardPlugin(): Plugin {
  return {
    onRequestParse({ request, setRequestParser }) {
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (request.method !== 'POST' || (type !== 'application/json' && type !== 'application/graphql+json')) return;
      setRequestParser(async (limited) => {
        const text = await limited.text();
        if (jsonNestingExceeds(text)) throw badRequest(`POST body nests arrays and objects deeper than ${MAX_JSON_NESTING} levels.`);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw badRequest('POST body sent invalid JSON.');
        }
        if (body === null || typeof body !== 'object') throw badRequest(`POST body is expected to be object but received ${body === null ? 'null' : typeof body}`);
        return body as Record<string, unknown>;
      });
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
    plugins: [jsonNestingGuardPlugin(), documentSourceGuardPlugin(), documentLimitsPlugin(limits), ...plugins],
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
