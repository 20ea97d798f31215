import { getOperationAST, GraphQLError, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Context } from 'koa';
import type { GraphQLContext } from '../../schema/context.js';
import { measureOperation, operationLimitErrors, type DocumentLimits } from '../../schema/limits.js';
import { jsonNestingExceeds } from '../http/json-nesting.js';
import { operationWeight } from '../rate-limit/document-cost.js';
import { RATE_LIMITED_MESSAGE, type GraphQLRateLimit } from '../rate-limit/graphql.js';
import { rateLimitExtension } from '../rate-limit/state.js';
import { COMPILED_RUN_REPORTED_ERRORS } from './graphql-compiled.js';
import type { KnownDocument, KnownDocuments } from './graphql-known-documents.js';

/**
 * The /graphql fast path (issue 18): a query document Yoga has already parsed and validated
 * (src/server/graphql-known-documents.ts) is answered here, without Yoga's Fetch API Request and Response objects and
 * its plugin pipeline, the way the REST facade runs its operations: the operation compiled once by graphql-jit and
 * called with the request's GraphQL context. It does what Yoga's plugins would do for such a request, in their order
 * (src/server/graphql-server.ts, src/rate-limit/graphql.ts, src/ops/graphql-metrics.ts, src/server/read-routing.ts):
 * the cost limit at the request's variables, the rate-limit weight, the operation metrics, the read routing, then
 * Yoga's answer — status 200, the content type Yoga negotiates from Accept, its CORS headers, `extensions.rateLimit`.
 *
 * Everything else goes to Yoga unchanged, and so does every request the fast path does not fully understand: not a
 * POST of `application/json` with a Content-Length up to MAX_BODY_BYTES and no Content-Encoding, an Accept for which
 * Yoga would not choose its JSON answer, a body that is not exactly `{ query, variables?, operationName?,
 * extensions? }` of the types Yoga accepts (extensions without `persistedQuery`: APQ and trusted documents stay
 * Yoga's), an unknown text, anything but a query, an operation over the cost limit, and any result with errors
 * (Yoga's own executor answers those, with their locations, codes and HTTP status). A body read here is handed to
 * Yoga as it came (whatwg-node takes a pre-read `req.body` as the request body), so Yoga's body-size, JSON-nesting
 * and parsing rules see the same bytes.
 */

/** Bodies larger than this go to Yoga unread (a known query with its variables is far smaller). */
export const FAST_PATH_MAX_BODY_BYTES = 64 * 1024;

export interface GraphQLFastPathOptions {
  schema: GraphQLSchema;
  limits: DocumentLimits;
  known: KnownDocuments;
  /** Told of each request answered here (executed, or refused by the rate limit), and of each compiled run whose errors sent the request on to Yoga. */
  onExecution?: (outcome: 'fast_path' | 'fast_path_refused' | 'fast_path_to_yoga') => void;
  /** The operation metrics Yoga's plugin records (src/ops/graphql-metrics.ts). */
  observeOperation?: (name: string | null, ok: boolean, seconds: number) => void;
  /** What the read-routing plugin does when a query executes (src/server/read-routing.ts), when replicas are on. */
  onQuery?: () => void;
}

export type GraphQLFastPath = (ctx: Context, context: GraphQLContext, tracker: GraphQLRateLimit) => Promise<boolean>;

/** Operations of one document compiled at most (a document may hold any number of named operations). */
const MAX_OPERATIONS_PER_DOCUMENT = 8;
/** What Yoga reads as JSON (graphql-yoga's isContentTypeMatch: `application/json` exactly, or followed by `;`). */
const JSON_CONTENT_TYPE = /^application\/json(?:;\s*charset=(?:utf|UTF)-8)?$/;
const PARAMS = new Set(['query', 'variables', 'operationName', 'extensions']);

interface Params {
  query: string;
  variables: Record<string, unknown> | null | undefined;
  operationName: string | null | undefined;
}

/**
 * The fast path: true when it answered (ctx has the status, headers and body, and the tracker the charged weight, as
 * Yoga would leave them), false when Yoga must answer, with the body handed on when it was read.
 */
export function createGraphQLFastPath(options: GraphQLFastPathOptions): GraphQLFastPath {
  const { schema, limits, known } = options;
  const compiledFor = (entry: KnownDocument, operation: OperationDefinitionNode, operationName: string | null | undefined): CompiledQuery | null => {
    const key = operationName ?? '';
    const cached = entry.compiled.get(key);
    if (cached !== undefined) return cached;
    // Known documents are bounded (KnownDocuments); so are the operations compiled of each.
    if (entry.compiled.size >= MAX_OPERATIONS_PER_DOCUMENT) return null;
    const result = compileQuery(schema, entry.document, operation.name?.value);
    const compiled = isCompiledQuery(result) ? result : null;
    entry.compiled.set(key, compiled);
    return compiled;
  };

  return async function answerKnownQuery(ctx, context, tracker) {
    const mediaType = eligibleRequest(ctx);
    if (mediaType === null) return false;
    const raw = await readBody(ctx);
    // From here on Yoga reads the body from req.body (the stream is consumed).
    (ctx.req as { body?: unknown }).body = raw;
    const params = plainParams(raw);
    if (!params) return false;
    const entry = known.get(params.query);
    if (!entry) return false;
    const operation = getOperationAST(entry.document, params.operationName);
    if (operation?.operation !== 'query') return false;
    // documentLimitsPlugin's onExecute: over the cost limit at these variables, Yoga answers the errors.
    const measured = measureOperation(schema, entry.document, params.operationName, params.variables);
    if (measured && operationLimitErrors(measured, limits).length > 0) return false;
    const compiled = compiledFor(entry, operation, params.operationName);
    if (!compiled) return false;
    // rateLimitWeightPlugin's onExecute: the rest of the weight, before the operation runs.
    const weight = operationWeight(measured);
    if (weight > 1) {
      if (!(await tracker.gate.charge(tracker.admission, weight - 1))) {
        tracker.refused = true;
        options.onExecution?.('fast_path_refused');
        const refused = { errors: [new GraphQLError(RATE_LIMITED_MESSAGE, { extensions: { code: 'RATE_LIMITED' } })] };
        respond(ctx, mediaType, refused, tracker);
        return true;
      }
      // Should the compiled run report errors, Yoga answers the request without charging the weight again.
      tracker.weightCharged = true;
    }
    options.onQuery?.();
    const started = performance.now();
    let result: ExecutionResult | null;
    try {
      result = (await compiled.query(undefined, context, params.variables ?? {})) as ExecutionResult;
    } catch {
      result = null;
    }
    if (!result || result.errors?.length) {
      options.onExecution?.('fast_path_to_yoga');
      (context as unknown as Record<symbol, unknown>)[COMPILED_RUN_REPORTED_ERRORS] = true;
      return false;
    }
    options.observeOperation?.(params.operationName ?? operation.name?.value ?? null, true, (performance.now() - started) / 1000);
    options.onExecution?.('fast_path');
    respond(ctx, mediaType, result, tracker);
    return true;
  };
}

/** Yoga's JSON answer: `extensions.rateLimit` added (rateLimitWeightPlugin), serialised, with CORS headers. */
function respond(ctx: Context, mediaType: string, result: ExecutionResult, tracker: GraphQLRateLimit): void {
  const answer = { ...result, extensions: { ...(result.extensions ?? {}), rateLimit: rateLimitExtension(tracker.admission.state) } };
  tracker.extensionWritten = true;
  setCorsHeaders(ctx);
  ctx.set('Content-Type', `${mediaType}; charset=utf-8`);
  ctx.status = 200;
  ctx.body = JSON.stringify(answer);
}

/**
 * The media type of Yoga's JSON answer for this request, or null when the fast path leaves the request to Yoga
 * before reading its body.
 */
function eligibleRequest(ctx: Context): string | null {
  if (ctx.method !== 'POST' || ctx.querystring !== '') return null;
  const headers = ctx.req.headers;
  if (!JSON_CONTENT_TYPE.test(headers['content-type'] ?? '') || headers['content-encoding'] !== undefined) return null;
  const length = Number(headers['content-length'] ?? NaN);
  if (!Number.isInteger(length) || length <= 0 || length > FAST_PATH_MAX_BODY_BYTES || headers['transfer-encoding'] !== undefined) return null;
  // A preflight's headers on a POST: Yoga's CORS plugin echoes them; left to it.
  if (headers['access-control-request-method'] !== undefined || headers['access-control-request-headers'] !== undefined) return null;
  const accept = headers.accept;
  // rateLimitWeightPlugin leaves event streams without the extension; Yoga decides what such a request gets.
  if (accept?.includes('text/event-stream')) return null;
  return regularMediaType(accept);
}

/**
 * Yoga's content negotiation (graphql-yoga's useResultProcessors and result-processor/accept.js): the processors
 * event stream, multipart, regular JSON are tried in that order against each accepted media type, the last match
 * wins. The media type when the regular JSON processor wins, else null.
 */
export function regularMediaType(acceptHeader: string | undefined): string | null {
  const requested: string[] = [];
  for (const accept of (acceptHeader || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType, ...params] = accept.split(';');
    const charset = params.find((param) => param.includes('charset=')) || 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue;
    requested.push(mediaType!);
  }
  requested.reverse();
  let chosen: { regular: boolean; mediaType: string } | null = null;
  for (const processor of PROCESSORS) {
    for (const requestedType of requested) {
      for (const mediaType of processor.mediaTypes) {
        if (matches(mediaType, requestedType)) chosen = { regular: processor.regular, mediaType };
      }
    }
  }
  return chosen?.regular ? chosen.mediaType : null;
}

const PROCESSORS = [
  { regular: false, mediaTypes: ['text/event-stream'] },
  { regular: false, mediaTypes: ['multipart/mixed'] },
  { regular: true, mediaTypes: ['application/graphql-response+json', 'application/json'] },
];

function matches(processorType: string, requestedType: string): boolean {
  const [askedPre, askedSuf] = processorType.split('/');
  const [pre, suf] = requestedType.split('/');
  return (pre === '*' || pre === askedPre) && (suf === '*' || suf === askedSuf);
}

/** Yoga's default CORS (@whatwg-node/server useCORS without options) for a request with an Origin. */
function setCorsHeaders(ctx: Context): void {
  const origin = ctx.req.headers.origin;
  if (origin === undefined) return;
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Vary', 'Origin');
  ctx.set('Access-Control-Allow-Credentials', 'true');
}

async function readBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The body as Yoga's parameters, when it is exactly what the fast path understands; else null. */
function plainParams(raw: Buffer): Params | null {
  const text = raw.toString('utf8');
  // A byte order mark or malformed UTF-8 may decode differently in Yoga's reader: its answer, then.
  if (text.charCodeAt(0) === 0xfeff || text.includes('\ufffd') || jsonNestingExceeds(text)) return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isPlainObject(body)) return null;
  for (const key in body) if (!PARAMS.has(key)) return null;
  const { query, variables, operationName, extensions } = body;
  if (typeof query !== 'string') return null;
  if (variables != null && !isPlainObject(variables)) return null;
  if (operationName != null && typeof operationName !== 'string') return null;
  if (extensions != null && (!isPlainObject(extensions) || 'persistedQuery' in extensions)) return null;
  return { query, variables: variables as Params['variables'], operationName: operationName as Params['operationName'] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
