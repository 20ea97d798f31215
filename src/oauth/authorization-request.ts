import type { EntityManager } from '@mikro-orm/postgresql';
import type { OAuthClientEntity } from '../services/oauth-clients.js';
import { findClient } from '../services/oauth-clients.js';
import { GRANTABLE_SCOPES, orderScopes, type Scope } from '../services/tokens.js';
import { CODE_CHALLENGE } from '../services/authorization-codes.js';
import { OAuthError, nonEmpty, type OAuthErrorCode, type Params } from './http.js';
import { buildRedirect, normaliseRedirectUri, redirectUriMatches } from './redirect-uri.js';

/**
 * Spec §14.2 step by step, shared by `GET /oauth/authorize` (the query) and `POST /oauth/authorize`
 * (the form, §14.3 step 1): the same checks in the same order with the same error delivery.
 */

export type Flow = 'code' | 'token';

/** A request that passed every check: what the consent page shows and what the grant is made of. */
export interface AuthorizationRequest {
  client: OAuthClientEntity;
  flow: Flow;
  /** As sent: `code`, `token`, or `access_token` (the seed's alias of `token`, D83). */
  responseType: string;
  /** The `redirect_uri` as sent, or null when none was sent (bound to the code as such, §14.3). */
  redirectUri: string | null;
  /** Where the answer goes: the `redirect_uri` as sent, or the application's only callback. */
  target: string;
  /** Granted scopes in canonical order (D91). */
  scopes: Scope[];
  /** The raw `scope` parameter, carried unchanged through the consent form. */
  scopeParam: string;
  state: string | null;
  /** PKCE (RFC 7636), code flow only; S256 is the only method. */
  codeChallenge: string | null;
}

export type AuthorizationCheck =
  /** Steps 1–2: a JSON error body, never a redirect. */
  | { kind: 'invalid'; error: OAuthError }
  /** Step 3 and later: the error goes to the client's redirect URI. */
  | { kind: 'redirect'; location: string; target: string }
  | { kind: 'ok'; request: AuthorizationRequest };

/** The `scope` parameter: spaces (`%20` or `+`) or commas (D84), any letter case, duplicates and empties dropped. */
export function parseScopes(raw: string | null): { scopes: Scope[]; valid: boolean } {
  const names = (raw ?? '')
    .split(/[\s,]+/)
    .map((s) => s.toLowerCase())
    .filter((s) => s !== '');
  // Only the four documented scopes can be granted; `stats` exists for CLI-made tokens and is refused here.
  const valid = names.every((name) => (GRANTABLE_SCOPES as readonly string[]).includes(name));
  return { scopes: orderScopes(names), valid };
}

/** Error delivery of step 3: in the fragment for the implicit flow, otherwise in the query string. */
export function redirectError(target: string, where: 'query' | 'fragment', error: OAuthErrorCode, description: string, state: string | null): string {
  const params: [string, string][] = [
    ['error', error],
    ['error_description', description],
  ];
  if (state !== null) params.push(['state', state]);
  return buildRedirect(target, params, where);
}

export async function checkAuthorizationRequest(em: EntityManager, params: Params): Promise<AuthorizationCheck> {
  // Step 1: the client. Never redirected: without a known client there is no trusted redirect URI.
  const clientId = nonEmpty(params, 'client_id');
  if (clientId === null) return { kind: 'invalid', error: new OAuthError('invalid_request', 'Missing client_id') };
  const client = await findClient(em, clientId);
  if (!client) return { kind: 'invalid', error: new OAuthError('invalid_client', 'Unknown client') };

  // Step 2: the redirect URI (D86). Never redirected either: an unverified URI must not get anything.
  const redirectUri = nonEmpty(params, 'redirect_uri');
  let target: string;
  if (redirectUri === null) {
    // The single callback must itself be a usable redirect URI (a registered URL with, say, a raw space
    // could not be put in a Location header unchanged).
    if (client.callbackUrls.length !== 1 || normaliseRedirectUri(client.callbackUrls[0]!) === null) {
      return { kind: 'invalid', error: new OAuthError('invalid_request', 'Invalid redirect_uri') };
    }
    target = client.callbackUrls[0]!;
  } else {
    if (!redirectUriMatches(redirectUri, client.callbackUrls)) return { kind: 'invalid', error: new OAuthError('invalid_request', 'Invalid redirect_uri') };
    target = redirectUri;
  }

  // Step 3: from here on errors are redirected, with `state` when it was given. An empty `state` counts as
  // absent, like every other empty parameter here (so the consent form's empty hidden field changes nothing).
  const state = nonEmpty(params, 'state');
  const responseType = nonEmpty(params, 'response_type');
  const flow: Flow | null = responseType === 'code' ? 'code' : responseType === 'token' || responseType === 'access_token' ? 'token' : null;
  const where = flow === 'token' ? 'fragment' : 'query';
  const fail = (error: OAuthErrorCode, description: string): AuthorizationCheck => ({
    kind: 'redirect',
    location: redirectError(target, where, error, description, state),
    target,
  });

  if (responseType === null) return fail('invalid_request', 'Missing response_type');
  if (flow === null) return fail('unsupported_response_type', 'Unsupported response_type');
  if (!client.enabled) return fail('unauthorized_client', 'The application is disabled');
  const scopeParam = params.get('scope') ?? '';
  const { scopes, valid } = parseScopes(scopeParam);
  if (!valid) return fail('invalid_scope', 'The scope(s) are invalid');

  // PKCE (RFC 7636) for the code flow; only S256 (RFC 9700 §2.1.1: `plain` gives no protection when the
  // authorization request leaks). A challenge without a method would mean `plain` (RFC 7636 §4.3): refused.
  // The implicit flow has no code to bind, so the parameters are ignored there.
  let codeChallenge: string | null = null;
  if (flow === 'code') {
    const challenge = nonEmpty(params, 'code_challenge');
    const method = nonEmpty(params, 'code_challenge_method');
    if (challenge === null && method !== null) return fail('invalid_request', 'code_challenge_method without code_challenge');
    if (challenge !== null) {
      if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
      if (!CODE_CHALLENGE.test(challenge)) return fail('invalid_request', 'Invalid code_challenge');
      codeChallenge = challenge;
    }
  }

  return {
    kind: 'ok',
    request: { client, flow, responseType, redirectUri, target, scopes, scopeParam, state, codeChallenge },
  };
}
