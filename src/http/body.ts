import type { IncomingMessage } from 'node:http';
import { jsonNestingExceeds } from './json-nesting.js';

/**
 * The one reader of request bodies (spec §4.2), used by the REST facade (rest-facade/body.ts) and the OAuth endpoints
 * (src/oauth/http.ts): JSON objects or form data (also when the Content-Type is missing, D15), at most 1 MiB (D16),
 * strict UTF-8, the first occurrence of a form name winning (D14), `null` JSON members read as absent.
 *
 * It never throws for a bad body: it returns a `BodyFailure`, and each surface answers it in its own words (REST with a
 * RestError, OAuth with an OAuthError `invalid_request`). Errors of the stream itself (an aborted request) are thrown.
 *
 * koa-bodyparser (co-body) cannot express these rules: it decodes invalid UTF-8 into U+FFFD instead of failing,
 * ignores bodies without a Content-Type (D15) and bodies of other types (instead of "Unsupported content type"),
 * decodes forms with `qs` (nested `a[b]` keys, the last duplicate winning) rather than like the query string
 * (first occurrence wins, D14), and rejects a whitespace-only JSON body. So the body is read here, within the limit.
 */

/** Spec D16: 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How the body was sent; REST §11.4 reassembles form bodies (and the query string), never JSON. */
export type BodyKind = 'none' | 'json' | 'form';

/** Why a body could not be read. */
export type BodyFailure =
  /** Over the limit, declared (Content-Length) or sent. */
  | 'too_large'
  /** Not UTF-8. */
  | 'not_utf8'
  /** A Content-Type other than JSON or form (a missing one is form, D15). */
  | 'unsupported_type'
  /** JSON nested deeper than MAX_JSON_NESTING (src/http/json-nesting.ts), refused before it is parsed. */
  | 'too_deep'
  /** Not JSON, or JSON whose top level is not an object (an array, a string, a number, `null`...). */
  | 'malformed_json';

export type RequestBody =
  | { ok: true; kind: 'none' }
  /** `text` is the undecoded form (REST §11.4); `params` its names to their first value. */
  | { ok: true; kind: 'form'; text: string; params: Map<string, string> }
  /** The top-level object's members as parsed (nested values kept: each surface judges them), `null` ones dropped. */
  | { ok: true; kind: 'json'; params: Map<string, unknown> }
  | { ok: false; failure: BodyFailure };

export interface BodyReadOptions {
  /** Bytes allowed; MAX_BODY_BYTES by default. */
  limit?: number;
  /**
   * What an empty body is, and with it the order of the checks:
   * - `json-whitespace` (REST, §4.2 "0 bytes or only whitespace"): the bytes are only JSON whitespace (space, tab, LF,
   *   CR); checked first, then the content type, then UTF-8;
   * - `trimmed-text` (OAuth): UTF-8 is checked first, then the text is empty after `String.prototype.trim`, then the
   *   content type.
   */
  blank?: 'json-whitespace' | 'trimmed-text';
}

/** Names to their first value, `application/x-www-form-urlencoded` rules (D14): form bodies and query strings. */
export function firstValues(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) if (!params.has(name)) params.set(name, value);
  return params;
}

/**
 * Reads at most `limit` + 1 bytes of the request: one byte over the limit is enough to know the body is too large.
 * A declared Content-Length over the limit is too large before anything is read. The rest of an oversized body is
 * drained without being kept, so the connection can still carry the answer.
 */
export async function readLimitedBytes(req: IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] || NaN);
  if (Number.isFinite(declared) && declared > limit) return 'too_large';
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      const room = limit + 1 - size;
      chunks.push(buffer.length > room ? buffer.subarray(0, room) : buffer);
      size += Math.min(buffer.length, room);
      if (size > limit) {
        cleanup();
        // Keep draining without buffering, so the connection can still carry the answer.
        req.resume();
        resolve('too_large');
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => {
      cleanup();
      reject(new Error('request aborted'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** The media type of a Content-Type header, lower case, without parameters; '' when the header is missing. */
export function mediaType(header: string | undefined): string {
  return ((header ?? '').split(';', 1)[0] ?? '').trim().toLowerCase();
}

/** "0 bytes or only whitespace" (§4.2): the JSON whitespace characters. */
function isJsonBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

const failed = (failure: BodyFailure): RequestBody => ({ ok: false, failure });
const NONE: RequestBody = { ok: true, kind: 'none' };

function kindOf(type: string): 'json' | 'form' | null {
  return type === 'application/json' ? 'json' : type === '' || type === 'application/x-www-form-urlencoded' ? 'form' : null;
}

function parse(kind: 'json' | 'form', text: string): RequestBody {
  if (kind === 'form') return { ok: true, kind, text, params: firstValues(text) };
  // Deeper than any request needs, and costly to parse.
  if (jsonNestingExceeds(text)) return failed('too_deep');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return failed('malformed_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return failed('malformed_json');
  // `null` means "absent" (§4.2), so a query parameter of the same name then applies (D17).
  return { ok: true, kind, params: new Map(Object.entries(value).filter(([, v]) => v !== null)) };
}

/** Reads and parses the request's body (see the top of this file). The caller decides which methods have one. */
export async function readRequestBody(req: IncomingMessage, options: BodyReadOptions = {}): Promise<RequestBody> {
  const raw = await readLimitedBytes(req, options.limit ?? MAX_BODY_BYTES);
  if (raw === 'too_large') return failed('too_large');
  const kind = kindOf(mediaType(req.headers['content-type']));
  if (options.blank === 'trimmed-text') {
    const text = decode(raw);
    if (text === null) return failed('not_utf8');
    if (text.trim() === '') return NONE;
    if (kind === null) return failed('unsupported_type');
    return parse(kind, text);
  }
  if (isJsonBlank(raw)) return NONE;
  if (kind === null) return failed('unsupported_type');
  const text = decode(raw);
  if (text === null) return failed('not_utf8');
  return parse(kind, text);
}
