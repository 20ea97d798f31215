import { jsonNestingExceeds } from '../http/json-nesting.js';
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

const MAX_BODY_BYTES = 1024 * 1024;

/** Query-string parameters, `application/x-www-form-urlencoded` rules, the first occurrence of a name wins (D14). */
export function queryParams(ctx: Context): Params {
  return formParams(ctx.querystring);
}

function formParams(text: string): Params {
  const params: Params = new Map();
  for (const [name, value] of new URLSearchParams(text)) if (!params.has(name)) params.set(name, value);
  return params;
}

async function readRawBody(ctx: Context): Promise<Buffer | 'too_large'> {
  const declared = Number(ctx.get('Content-Length') || '0');
  if (declared > MAX_BODY_BYTES) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return 'too_large';
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
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

/**
 * The body parameters of a POST (spec §4.2): JSON objects or form data (also when the Content-Type is
 * missing, D15); an empty body is no parameters. JSON strings are taken as they are, numbers and booleans
 * as their JSON text, `null` as absent; any nested value makes the request invalid.
 */
export async function bodyParams(ctx: Context): Promise<ParsedParams> {
  const raw = await readRawBody(ctx);
  if (raw === 'too_large') return { params: new Map(), failure: new OAuthError('invalid_request', 'Request body too large') };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { params: new Map(), failure: new OAuthError('invalid_request', 'The request is invalid') };
  }
  if (text.trim() === '') return { params: new Map(), failure: null };
  const type = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/json') {
    if (jsonNestingExceeds(text)) return { params: new Map(), failure: new OAuthError('invalid_request', 'The request is invalid') };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { params: new Map(), failure: new OAuthError('invalid_request', 'Malformed JSON body') };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { params: new Map(), failure: new OAuthError('invalid_request', 'Malformed JSON body') };
    }
    const params: Params = new Map();
    for (const [rawName, v] of Object.entries(value)) {
      if (v === null) continue;
      const name = wellFormed(rawName);
      if (typeof v === 'string') params.set(name, wellFormed(v));
      else if (typeof v === 'number' || typeof v === 'boolean') params.set(name, JSON.stringify(v));
      else return { params: new Map(), failure: new OAuthError('invalid_request', 'The request is invalid') };
    }
    return { params, failure: null };
  }
  if (type === '' || type === 'application/x-www-form-urlencoded') return { params: formParams(text), failure: null };
  return { params: new Map(), failure: new OAuthError('invalid_request', 'Unsupported content type') };
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
