import { JsonpCallbackError, RestError } from '../errors.js';
import { isValidJsonpCallback } from '../formats/json.js';
import type { FormatKey } from '../formats/media-types.js';
import { negotiateFormat, splitFormatSuffix } from '../negotiate.js';

/**
 * Step "negotiate" (spec §1.4, §5.3, §5.10): what the request asks of the answer's form, read once from the path,
 * `Accept` and `jsonp`, before any route is known. The format itself depends on the route (`pickFormat`).
 */
export interface Negotiation {
  /** The path routes are matched on: one trailing slash and a format suffix stripped; as sent for a rest-of-path route (D98). */
  path: string;
  suffix: FormatKey | null;
  accept: string | undefined;
  /** The `jsonp` parameter where §5.10 applies it (GET/HEAD without a non-JSON suffix), valid or not; else null. */
  jsonp: string | null;
  /** `jsonp` when it is a valid callback: the callback successful (and later error) answers are wrapped in. */
  callback: string | null;
}

/** Spec §1.4: strip one trailing slash and a recognised suffix from the last segment. */
export function routePath(rawPath: string): { path: string; suffix: FormatKey | null } {
  let path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const slash = path.lastIndexOf('/');
  const { segment, suffix } = splitFormatSuffix(path.slice(slash + 1));
  path = path.slice(0, slash + 1) + segment;
  return { path: path || '/', suffix };
}

const NON_JSON_SUFFIXES: readonly string[] = ['xml', 'yaml', 'atom', 'txt'];

export function negotiate(input: {
  method: string;
  /** The path below /rest/v2. */
  rawPath: string;
  query: ReadonlyMap<string, string>;
  accept: string | undefined;
  /** The path is under a rest-of-path route's prefix (D98): its last segment is kept as sent, no suffix taken. */
  restOfPath: boolean;
}): Negotiation {
  const { path, suffix } = input.restOfPath ? { path: input.rawPath, suffix: null } : routePath(input.rawPath);
  const isRead = input.method === 'GET' || input.method === 'HEAD';
  const jsonp = isRead && !NON_JSON_SUFFIXES.includes(suffix ?? '') ? (input.query.get('jsonp') ?? null) : null;
  const callback = jsonp !== null && isValidJsonpCallback(jsonp) ? jsonp : null;
  return { path, suffix, accept: input.accept, jsonp, callback };
}

/**
 * The format of the answer among `supported` (default first): a `jsonp` parameter without a suffix means JSON (or
 * Activity Streams where that is the default), otherwise §5.3. Null: nothing acceptable (406, step 7).
 */
export function pickFormat(negotiation: Negotiation, supported: FormatKey[], acceptNegotiable?: FormatKey[]): FormatKey | null {
  const { suffix, accept, jsonp } = negotiation;
  if (jsonp !== null && suffix === null) return supported.includes('as') && supported[0] === 'as' ? 'as' : 'json';
  return negotiateFormat({ suffix, accept, supported, acceptNegotiable });
}

/** Step 7: `406 not_acceptable` without a format, then `400` for an invalid `jsonp` callback (§5.10). */
export function requireFormat(negotiation: Negotiation, format: FormatKey | null): FormatKey {
  if (format === null) throw new RestError('not_acceptable');
  if (negotiation.jsonp !== null && negotiation.callback === null) throw new JsonpCallbackError();
  return format;
}

/**
 * How an error is answered: `406` in JSON and unwrapped; an invalid callback unwrapped (never reflected); any
 * other error in the negotiated format, wrapped in a valid callback once a format was picked.
 */
export function errorPresentation(negotiation: Negotiation, format: FormatKey | null, error: RestError): { format: FormatKey | null; callback: string | null } {
  if (error.code === 'not_acceptable') return { format: null, callback: null };
  const unwrapped = format === null || error instanceof JsonpCallbackError;
  return { format, callback: unwrapped ? null : negotiation.callback };
}
