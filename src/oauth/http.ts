import { firstValues, readRequestBody, type BodyFailure } from '../http/body.js';
import type { Context } from 'koa';
import { CORS_HEADERS } from '../../rest-facade/cors.js';

/** Spec §14.5: every OAuth error body carries this `error_uri`; redirected errors do not. */
export function oauthErrorUri(docsUrl: string): string {
  return `${docsUrl}/api/#authorization`;
}

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied';

/** An OAuth error answered as a JSON body (RFC 6749 §5.2). */
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly code: OAuthErrorCode,
    description: string,
    readonly status: 400 | 401 | 429 = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

/** D89: `invalid_client` at the token and revocation endpoints is a 401 that always carries the Basic challenge. */
export function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', description, 401, { 'WWW-Authenticate': 'Basic realm="flattr"' });
}

/** Spec §14.5: the token endpoint's (and revocation endpoint's) caching headers, on success and error alike. */
export const NO_STORE_HEADERS = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  Expires: 'Thu, 19 Nov 1981 08:52:00 GMT',
} as const;

/** Headers of every answer of /oauth/token and /oauth/revoke: CORS as on the REST API (§5.11) and no-store. */
export function setTokenEndpointHeaders(ctx: Context): void {
  ctx.set(CORS_HEADERS);
  ctx.set(NO_STORE_HEADERS);
}

/** `application/json; charset=utf-8`, the body serialised in the key order given. */
export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(body);
}

export function sendOAuthError(ctx: Context, docsUrl: string, error: OAuthError): void {
  ctx.set(error.headers);
  sendJson(ctx, error.status, { error: error.code, error_description: error.message, error_uri: oauthErrorUri(docsUrl) });
}

/** Request parameters: names to their first value (D14). */
export type Params = Map<string, string>;

export interface ParsedParams {
  params: Params;
  /** invalid_request when the body could not be read (spec §4.2 texts). */
  failure: OAuthError | null;
}

/** Query-string parameters, `application/x-www-form-urlencoded` rules, the first occurrence of a name wins (D14). */
export function queryParams(ctx: Context): Params {
  return firstValues(ctx.querystring);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * JSON `"\ud800"` is a lone surrogate, which no UTF-8 text (a form, a query string) can carry: decoding those gives
 * U+FFFD for anything malformed, and so does this. A lone surrogate in `state` used to reach encodeURIComponent in
 * the redirect and throw (URIError: a 500 instead of the redirect).
 */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** The OAuth answers (invalid_request, spec §4.2 texts) to a body the shared reader could not read. */
const FAILURE_TEXTS: Record<BodyFailure, string> = {
  too_large: 'Request body too large',
  not_utf8: 'The request is invalid',
  unsupported_type: 'Unsupported content type',
  too_deep: 'The request is invalid',
  malformed_json: 'Malformed JSON body',
};

const invalid = (description: string): ParsedParams => ({ params: new Map(), failure: new OAuthError('invalid_request', description) });

/**
 * The body parameters of a POST (spec §4.2), read by the shared reader (src/http/body.ts): JSON objects or form data
 * (also when the Content-Type is missing, D15); an empty body (blank after trimming) is no parameters. JSON strings
 * are taken as they are (lone surrogates replaced), numbers and booleans as their JSON text, `null` as absent; any
 * nested value makes the request invalid.
 */
export async function bodyParams(ctx: Context): Promise<ParsedParams> {
  const body = await readRequestBody(ctx.req, { blank: 'trimmed-text' });
  if (!body.ok) return invalid(FAILURE_TEXTS[body.failure]);
  if (body.kind !== 'json') return { params: body.kind === 'form' ? body.params : new Map(), failure: null };
  const params: Params = new Map();
  for (const [rawName, v] of body.params) {
    const name = wellFormed(rawName);
    if (typeof v === 'string') params.set(name, wellFormed(v));
    else if (typeof v === 'number' || typeof v === 'boolean') params.set(name, JSON.stringify(v));
    else return invalid('The request is invalid');
  }
  return { params, failure: null };
}

/** D17: for a POST, the query string and the body together; the body wins for a name in both. */
export async function postParams(ctx: Context): Promise<ParsedParams> {
  const body = await bodyParams(ctx);
  if (body.failure) return body;
  const params = queryParams(ctx);
  for (const [name, value] of body.params) params.set(name, value);
  return { params, failure: null };
}

/** A parameter's value, with an empty string read as absent. */
export function nonEmpty(params: Params, name: string): string | null {
  const value = params.get(name);
  return value === undefined || value === '' ? null : value;
}
