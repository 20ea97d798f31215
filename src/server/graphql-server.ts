import { createGraphQLError, createYoga, type Plugin } from 'graphql-yoga';
import { jsonNestingExceeds, MAX_JSON_NESTING } from '../http/json-nesting.js';
import type { GraphQLSchema } from 'graphql';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { documentLimitsRule, documentSourceGuardPlugin, measureOperation, operationLimitErrors, type DocumentLimits } from '../../schema/limits.js';
import type { GraphQLContext } from '../../schema/context.js';
import { errorCodesPlugin, maskUnexpectedError } from './graphql-errors.js';
import { GRAPHIQL_CSP, renderGraphiQLPage } from './graphiql.js';
import { apqPlugin, TrustedDocuments, trustedDocumentsPlugin } from './persisted-operations.js';
import { compiledExecutionPlugin, type CompiledExecutionOptions } from './graphql-compiled.js';
import { isEventStream, streamEvents } from './live-transport.js';
import { knownDocumentsPlugin, type KnownDocuments } from './graphql-known-documents.js';

/**
 * Depth, fragment nesting and introspection bounds while validating (cached per document by Yoga, so with size
 * variables priced at their least); the data cost again before executing, with the request's variable values
 * (schema/limits.ts measureOperation, shared with the rate-limit weight).
 */
function documentLimitsPlugin(limits: DocumentLimits): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(documentLimitsRule(limits, 'least'));
    },
    onExecute({ args, setResultAndStopExecution }) {
      const measured = measureOperation(args.schema, args.document, args.operationName, args.variableValues);
      if (!measured) return;
      const errors = operationLimitErrors(measured, limits);
      if (errors.length > 0) setResultAndStopExecution({ errors });
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

export interface GraphQLServerOptions {
  /** Unexpected errors are logged here (their details never reach the client). */
  logger?: Logger;
  /** GRAPHQL_TRUSTED_DOCUMENTS: the allow-list (id → document); null: any document, with automatic persisted queries. */
  trustedDocuments?: Record<string, string> | null;
  /** Compiled execution of repeated queries (src/server/graphql-compiled.ts). */
  compiled?: CompiledExecutionOptions;
  /** Records the documents Yoga executes, for the /graphql fast path (src/server/graphql-fast-path.ts). */
  knownDocuments?: KnownDocuments;
}

/** `plugins`: added after the document limits (app.ts adds the rate-limit weight plugin, src/rate-limit/graphql.ts). */
export function createGraphQLServer(schema: GraphQLSchema, limits: DocumentLimits, plugins: Plugin[] = [], options: GraphQLServerOptions = {}) {
  const { logger } = options;
  const persisted = options.trustedDocuments ? trustedDocumentsPlugin(new TrustedDocuments(options.trustedDocuments)) : apqPlugin();
  return createYoga<GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // GraphiQL from this server's own files (src/server/graphiql.ts), not Yoga's CDN page.
    graphiql: { title: 'Flattr GraphQL', endpoint: '/graphql' } as never,
    renderGraphiQL: renderGraphiQLPage,
    landingPage: false,
    // GraphQL documents are small; REST bodies have the same 1 MiB limit (spec D16).
    maxRequestBodySize: 1024 * 1024,
    // Unexpected errors: INTERNAL_SERVER_ERROR "Unexpected error.", logged; never the original, whatever NODE_ENV says.
    maskedErrors: { maskError: maskUnexpectedError(logger), isDev: false },
    plugins: [errorCodesPlugin(logger), persisted, jsonNestingGuardPlugin(), documentSourceGuardPlugin(), documentLimitsPlugin(limits), compiledExecutionPlugin(options.compiled), ...plugins, ...(options.knownDocuments ? [knownDocumentsPlugin(options.knownDocuments)] : [])],
    logging: false,
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;

/** Runs Yoga inside Koa and copies its Fetch API response onto the Koa context. */
export async function serveGraphQL(yoga: GraphQLServer, ctx: Context, context: GraphQLContext): Promise<void> {
  const response = await yoga.handleNodeRequestAndResponse(ctx.req, ctx.res, context);
  // Subscriptions (src/server/live.ts): streamed, never buffered.
  if (isEventStream(response)) return streamEvents(ctx, response);
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : null;
  response.headers.forEach((value, key) => ctx.set(key, value));
  if (/^text\/html\b/i.test(response.headers.get('content-type') ?? '')) {
    // The GraphiQL page: its own CSP (same-origin scripts, styles and workers only).
    ctx.set('Content-Security-Policy', GRAPHIQL_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
  }
  // Koa turns a null body into a 204 unless the status is one without a body: an empty 415 (unsupported
  // Content-Type) must stay a 415, so a body-less answer of another status gets an empty body instead.
  ctx.body = body ?? ([204, 205, 304].includes(response.status) ? null : '');
  ctx.status = response.status;
}
