/**
 * Spec §14.4 (D86): a `redirect_uri` matches a registered callback when both are identical after light
 * normalisation: scheme and host lower-cased, the default port (`:80` for http, `:443` for https)
 * dropped, and for http/https an empty path read as `/`. Everything else (userinfo, path, query string,
 * percent-encoding) must be identical code unit for code unit: no prefix, sub-path, sub-domain or
 * dot-segment resolution (`/cb/../evil` is not `/evil`), so the endpoint is never an open redirector.
 * A `redirect_uri` with a fragment is always rejected.
 *
 * Parsing is done by hand (RFC 3986 appendix B), not with WHATWG `URL`, which would resolve dot segments,
 * re-encode characters and strip tabs and newlines, and so make different strings "equal".
 */

interface UriParts {
  scheme: string;
  /** null when the URI has no `//authority`. */
  userinfo: string | null;
  host: string | null;
  port: string | null;
  path: string;
  query: string | null;
  fragment: string | null;
}

// RFC 3986 appendix B, restricted to printable ASCII (no spaces, controls or raw non-ASCII): such a URI
// could never be put in a Location header unchanged anyway. The fragment is `[\s\S]*`, not `.*`: after the scheme the
// pattern then always matches, so it never backtracks between authority and path (with `.*`, a line break in the
// fragment made it quadratic; PRINTABLE_ASCII already refuses line breaks, so this changes no result; issue 14).
const URI = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

function parse(uri: string): UriParts | null {
  if (!PRINTABLE_ASCII.test(uri)) return null;
  const match = URI.exec(uri);
  if (!match) return null;
  const [, scheme, authority, path, query, fragment] = match;
  let userinfo: string | null = null;
  let host: string | null = null;
  let port: string | null = null;
  if (authority !== undefined) {
    const at = authority.lastIndexOf('@');
    userinfo = at >= 0 ? authority.slice(0, at) : null;
    const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
    const hp = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
    if (!hp) return null;
    host = hp[1]!;
    port = hp[2] ?? null;
  }
  return { scheme: scheme!, userinfo, host, port, path: path ?? '', query: query ?? null, fragment: fragment ?? null };
}

function isHttp(scheme: string): boolean {
  return scheme === 'http' || scheme === 'https';
}

function serialise(parts: UriParts): string {
  let out = `${parts.scheme}:`;
  if (parts.host !== null) {
    out += '//';
    if (parts.userinfo !== null) out += `${parts.userinfo}@`;
    out += parts.host;
    if (parts.port !== null) out += `:${parts.port}`;
  }
  out += parts.path;
  if (parts.query !== null) out += `?${parts.query}`;
  return out;
}

/** The D86 normal form of a URI without a fragment, or null when it is not an acceptable redirect URI. */
export function normaliseRedirectUri(uri: string): string | null {
  const parts = parse(uri);
  if (!parts || parts.fragment !== null) return null;
  const scheme = parts.scheme.toLowerCase();
  const host = parts.host === null ? null : parts.host.toLowerCase();
  let port = parts.port;
  if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) port = null;
  let path = parts.path;
  if (isHttp(scheme) && host !== null && path === '') path = '/';
  if (isHttp(scheme) && !host) return null;
  return serialise({ ...parts, scheme, host, port, path });
}

/** D86: does `sent` match one of the registered callbacks? */
export function redirectUriMatches(sent: string, registered: readonly string[]): boolean {
  const normal = normaliseRedirectUri(sent);
  if (normal === null) return false;
  return registered.some((callback) => normaliseRedirectUri(callback) === normal);
}

/**
 * The URI to send the user agent to: the redirect URI as sent (or the registered callback), with an empty
 * http(s) path written as `/` (spec §16.1: `http://localhost` → `http://localhost/?code=...`), and the
 * parameters added to its query (existing parameters stay; `?` or `&` as appropriate) or as its fragment.
 * Names and values are percent-encoded as URI components, so a space is `%20`, never `+`.
 */
export function buildRedirect(base: string, params: ReadonlyArray<readonly [string, string]>, where: 'query' | 'fragment'): string {
  const parts = parse(base);
  if (!parts) throw new Error('buildRedirect: the redirect URI was not validated');
  const path = isHttp(parts.scheme.toLowerCase()) && parts.host !== null && parts.path === '' ? '/' : parts.path;
  const encoded = params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  const target: UriParts = { ...parts, path, fragment: null };
  if (where === 'fragment') return `${serialise(target)}#${encoded}`;
  if (encoded === '') return serialise(target);
  if (target.query === null) target.query = encoded;
  else if (target.query === '' || target.query.endsWith('&')) target.query += encoded;
  else target.query += `&${encoded}`;
  return serialise(target);
}
