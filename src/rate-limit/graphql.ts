import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Admission, RateLimitGate } from './admission.js';
import { operationWeight } from './document-cost.js';
import { measureOperation } from '../../schema/limits.js';
import { rateLimitExtension, type BucketState } from './state.js';

/**
 * GraphQL requests share the REST buckets (same token → same bucket, else the client address). app.ts admits the
 * request with weight 1 before Yoga runs (refused: 429, no database, no Yoga); this plugin adds the rest of the
 * weight (document-cost.ts) once the operation to execute is known, before executing it. GraphQL-over-HTTP has no
 * rate-limit status, so a refused GraphQL request gets HTTP 429 with `Retry-After` and
 * `{ errors: [{ message: 'Rate limit exceeded', extensions: { code: 'RATE_LIMITED' } }] }`; REST keeps the spec's
 * 403 rate_limit_exceeded. Every counted GraphQL response carries the REST headers and `extensions.rateLimit`.
 */
const TRACKER = Symbol('flattr.rateLimit');

export interface GraphQLRateLimit {
  gate: RateLimitGate;
  admission: Admission;
  /** Set by the plugin when the operation's weight did not fit: the request was given back and not executed. */
  refused: boolean;
  /**
   * Set by the /graphql fast path (src/server/graphql-fast-path.ts) when it charged the operation's weight and then
   * left the request to Yoga (its compiled run reported errors): the plugin does not charge it again.
   */
  weightCharged?: boolean;
  /** Set once `extensions.rateLimit` was written into the result before Yoga serialised it. */
  extensionWritten?: boolean;
}

/** The Yoga server context, carrying the request's admission to the plugin. */
export function withRateLimit<C extends object>(context: C, tracker: GraphQLRateLimit): C {
  return Object.assign(context, { [TRACKER]: tracker });
}

/** The request's rate-limit tracker, when /graphql admitted it (subscriptions charge their open time to it). */
export function rateLimitTracker(context: object): GraphQLRateLimit | undefined {
  return (context as Record<symbol, GraphQLRateLimit | undefined>)[TRACKER];
}

export const RATE_LIMITED_MESSAGE = 'Rate limit exceeded';

const trackerOf = (context: unknown) => (context as Record<symbol, GraphQLRateLimit | undefined>)[TRACKER];

export function rateLimitWeightPlugin(): Plugin {
  return {
    // The bucket as it stands after the weight was charged, written into the result object before Yoga serialises
    // it: no parse and stringify of the answer afterwards (withRateLimitExtension stays for the other bodies).
    onResultProcess({ request, result, setResult, serverContext }) {
      const tracker = trackerOf(serverContext);
      if (!tracker || Array.isArray(result) || !result || typeof result !== 'object' || Symbol.asyncIterator in result) return;
      // Event streams (SSE) carry no extension, as before: only JSON bodies do.
      if ((request.headers.get('accept') ?? '').includes('text/event-stream')) return;
      const single = result as ExecutionResult;
      setResult({ ...single, extensions: { ...(single.extensions ?? {}), rateLimit: rateLimitExtension(tracker.admission.state) } });
      tracker.extensionWritten = true;
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const tracker = trackerOf(args.contextValue);
      if (!tracker || tracker.weightCharged) return;
      // The same measure as the cost limit's (schema/limits.ts), at the request's variable values.
      const weight = operationWeight(measureOperation(args.schema, args.document, args.operationName, args.variableValues));
      if (weight <= 1) return;
      if (!(await tracker.gate.charge(tracker.admission, weight - 1))) {
        tracker.refused = true;
        setResultAndStopExecution({ errors: [new GraphQLError(RATE_LIMITED_MESSAGE, { extensions: { code: 'RATE_LIMITED' } })] });
      }
    },
  };
}

/** The body of a GraphQL request refused before it ran. */
export function rateLimitedBody(state: BucketState) {
  return { errors: [{ message: RATE_LIMITED_MESSAGE, extensions: { code: 'RATE_LIMITED' } }], extensions: { rateLimit: rateLimitExtension(state) } };
}

/**
 * Adds `extensions.rateLimit` to a JSON GraphQL response (many GraphQL clients cannot read headers). Other bodies
 * (the GraphiQL page, event streams, multipart) are returned unchanged, as null.
 */
export function withRateLimitExtension(body: unknown, contentType: string, state: BucketState): string | null {
  if (!/\bjson\b/i.test(contentType)) return null;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : null;
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const result = parsed as { extensions?: Record<string, unknown> };
  result.extensions = { ...(result.extensions ?? {}), rateLimit: rateLimitExtension(state) };
  return JSON.stringify(result);
}
