import { RestError } from './errors.js';

/** Where a token was presented (spec §3.1). */
export type PresentedToken = { token: string } | { multiple: true } | null;

/** `Bearer` (RFC 6750) or the draft-era `OAuth` scheme (D10), case-insensitive. Other schemes count as no token. */
export function tokenFromAuthorization(header: string | undefined): string | null {
  const match = /^\s*(bearer|oauth)\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[2]! : null;
}

export function presentedToken(sources: { header?: string; query?: string; body?: unknown }): PresentedToken {
  const found = [
    tokenFromAuthorization(sources.header),
    sources.query ?? null,
    typeof sources.body === 'string' ? sources.body : null,
  ].filter((t): t is string => t !== null && t !== '');
  if (found.length > 1) return { multiple: true };
  return found.length === 1 ? { token: found[0]! } : null;
}

export const multipleTokens = () => new RestError('invalid_request', 'Multiple access tokens supplied');

export const invalidToken = () =>
  new RestError('unauthorized', 'The access token is invalid', {
    headers: { 'WWW-Authenticate': 'Bearer realm="flattr", error="invalid_token", error_description="The access token is invalid"' },
  });

export const missingToken = () =>
  new RestError('unauthorized', 'You are unauthorized to access the resource', { headers: { 'WWW-Authenticate': 'Bearer realm="flattr"' } });

export const insufficientScope = (scope: string) =>
  new RestError('insufficient_scope', undefined, {
    headers: { 'WWW-Authenticate': `Bearer realm="flattr", error="insufficient_scope", scope="${scope}"` },
  });
