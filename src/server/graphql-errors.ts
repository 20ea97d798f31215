import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { GRAPHQL_ERROR_CODES, type GraphQLErrorCode } from '../../schema/error-codes.js';

/**
 * Request-level error codes on /graphql (README "GraphQL errors"): every entry of `errors[]` that reaches a client
 * carries an `extensions.code` of schema/error-codes.ts. Resolvers set their own codes; this plugin gives one to the
 * errors that graphql-js and Yoga raise without one, or with a code outside the set:
 *
 * - syntax errors: GRAPHQL_PARSE_FAILED (Yoga sets it); validation: GRAPHQL_VALIDATION_FAILED (Yoga sets it);
 * - variable coercion ("Variable "$x" got invalid value ...") and Pothos' argument checks (PothosValidationError:
 *   "Invalid base64 string", "Argument "first" must be a non-negative integer", "Invalid global ID"): BAD_USER_INPUT;
 * - the HTTP request itself (bad JSON, GET mutation, unsupported content type, body too large, no such operation
 *   name, APQ hash that does not match its query): BAD_REQUEST (Yoga's REQUEST_ENTITY_TOO_LARGE,
 *   OPERATION_RESOLUTION_FAILURE and the APQ plugin's PERSISTED_QUERY_MISMATCH are renamed; the HTTP status stays);
 * - anything else without a code: INTERNAL_SERVER_ERROR with a generic message, the real error logged. Errors that
 *   are not GraphQLErrors (a bug, a database failure) are masked by Yoga's `maskedErrors` the same way
 *   (`maskError` below), and logged.
 *
 * A code outside the set that a resolver chose deliberately is left as it is (the schema owns those).
 *
 * Yoga plugins only see /graphql: the REST facade executes its operations in-process and keeps the v2 codes.
 */

export const GENERIC_MESSAGE = 'Unexpected error.';

/** Codes that Yoga or its plugins use for what the set calls otherwise. */
const RENAMED: Record<string, GraphQLErrorCode> = {
  REQUEST_ENTITY_TOO_LARGE: 'BAD_REQUEST',
  OPERATION_RESOLUTION_FAILURE: 'BAD_REQUEST',
  PERSISTED_QUERY_MISMATCH: 'BAD_REQUEST',
};

/** Messages of the renamed errors, clearer for a client than Yoga's. */
const MESSAGES: Record<string, string> = {
  PersistedQueryMismatch: 'The persisted query hash does not match the query (extensions.persistedQuery.sha256Hash must be the SHA-256 of the query text).',
};

function isKnownCode(code: unknown): code is GraphQLErrorCode {
  return typeof code === 'string' && Object.hasOwn(GRAPHQL_ERROR_CODES, code);
}

function isPothosValidationError(error: unknown): boolean {
  for (let e = error as { name?: string; originalError?: unknown } | undefined, i = 0; e && i < 5; e = e.originalError as typeof e, i++) {
    if (e.name === 'PothosValidationError') return true;
  }
  return false;
}

/** The code an error without a known one gets, or null to mask it as INTERNAL_SERVER_ERROR. */
function codeFor(error: GraphQLError): GraphQLErrorCode | null {
  const code = error.extensions?.code;
  if (typeof code === 'string' && RENAMED[code]) return RENAMED[code]!;
  if (/^Variable "\$[^"]*" (got invalid value|of required type|of non-null type)/.test(error.message)) return 'BAD_USER_INPUT';
  if (isPothosValidationError(error)) return 'BAD_USER_INPUT';
  if (/^Syntax Error/.test(error.message)) return 'GRAPHQL_PARSE_FAILED';
  if (/^(Must provide operation name|Unknown operation named|Must provide an operation)/.test(error.message)) return 'BAD_REQUEST';
  return null;
}

interface ErrorLike {
  message: string;
  extensions?: Record<string, unknown>;
  path?: readonly (string | number)[];
  locations?: unknown;
}

/** The error with a code of the set (a new object when it changes; `http` extensions kept for Yoga's status). */
export function withErrorCode(error: unknown, logger?: Logger): unknown {
  if (!error || typeof error !== 'object') return error;
  const e = error as ErrorLike;
  if (isKnownCode(e.extensions?.code)) return error;
  // A resolver's own code (not a Yoga one) is the schema's choice.
  if (typeof e.extensions?.code === 'string' && !RENAMED[e.extensions.code]) return error;
  const graphqlError = error instanceof GraphQLError ? error : new GraphQLError(String(e.message), { extensions: e.extensions });
  const code = codeFor(graphqlError);
  if (code) {
    const message = MESSAGES[graphqlError.message] ?? graphqlError.message;
    return new GraphQLError(message, {
      nodes: graphqlError.nodes,
      source: graphqlError.source,
      positions: graphqlError.positions,
      path: graphqlError.path,
      originalError: graphqlError.originalError,
      extensions: { ...graphqlError.extensions, code },
    });
  }
  logger?.error({ err: graphqlError.originalError ?? graphqlError, path: graphqlError.path }, 'GraphQL error without a code, answered as INTERNAL_SERVER_ERROR');
  return new GraphQLError(GENERIC_MESSAGE, {
    nodes: graphqlError.nodes,
    source: graphqlError.source,
    positions: graphqlError.positions,
    path: graphqlError.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(graphqlError.extensions?.http ? { http: graphqlError.extensions.http } : {}) },
  });
}

function codeResult(result: unknown, logger?: Logger): unknown {
  if (!result || typeof result !== 'object' || !('errors' in result)) return result;
  const errors = (result as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return result;
  const coded = errors.map((error) => withErrorCode(error, logger));
  return coded.every((e, i) => e === errors[i]) ? result : { ...result, errors: coded };
}

const EMPTY_ANSWERS: Record<number, string> = {
  415: 'Unsupported Content-Type: POST application/json (or GET with ?query=).',
  406: 'No acceptable media type: accept application/graphql-response+json or application/json.',
};

/** The plugin: codes every result's errors just before Yoga serializes it, and gives a 415 a JSON body. */
export function errorCodesPlugin(logger?: Logger): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) {
        setResult(result.map((r) => codeResult(r, logger)) as typeof result);
      } else if (result && typeof result === 'object' && !(Symbol.asyncIterator in result)) {
        setResult(codeResult(result, logger) as typeof result);
      }
    },
    onResponse({ response, setResponse, fetchAPI }) {
      // Yoga answers a POST of an unsupported Content-Type (415) or an Accept it cannot serve (406) with an empty
      // body: say why, in the GraphQL shape.
      const message = EMPTY_ANSWERS[response.status];
      if (message && !response.headers.get('content-type')?.includes('json')) {
        const headers = new fetchAPI.Headers(response.headers);
        headers.set('Content-Type', 'application/json; charset=utf-8');
        setResponse(new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), { status: response.status, headers }));
      }
    },
  };
}

/**
 * Yoga's `maskedErrors.maskError`: errors that are not deliberate GraphQLErrors (a thrown TypeError, a database
 * failure) become INTERNAL_SERVER_ERROR "Unexpected error." — never with the original in the response, whatever
 * NODE_ENV says — and are logged with their stack.
 */
export function maskUnexpectedError(logger?: Logger) {
  return (error: unknown, message: string): Error => {
    if (isOriginalGraphQLError(error)) return error as GraphQLError;
    const graphqlError = error instanceof GraphQLError ? error : null;
    const original = graphqlError?.originalError ?? error;
    logger?.error({ err: original, path: graphqlError?.path }, 'unexpected error in a GraphQL request');
    return new GraphQLError(message || GENERIC_MESSAGE, {
      nodes: graphqlError?.nodes,
      source: graphqlError?.source,
      positions: graphqlError?.positions,
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', unexpected: true, ...(graphqlError?.extensions?.http ? { http: graphqlError.extensions.http } : {}) },
    });
  };
}

function isOriginalGraphQLError(error: unknown): boolean {
  if (error instanceof GraphQLError) return error.originalError == null ? true : isOriginalGraphQLError(error.originalError);
  return false;
}
