import type { Context } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppDeps } from '../server/app-deps.js';
import { preflightHeaders } from '../../rest-facade/cors.js';
import {
  findAuthorizationCode,
  pkceVerifierMatches,
  redeemAuthorizationCode,
  revokeTokensFromCode,
} from '../services/authorization-codes.js';
import { issueAccessToken, revokeTokens } from '../services/tokens.js';
import { OAuthError, nonEmpty, postParams, sendJson, sendOAuthError, setTokenEndpointHeaders, type Params } from './http.js';
import { authenticateClient, presentedClientId } from './client-auth.js';
import { attemptAddress, loginLimiterFor, withLoginThrottle } from '../rate-limit/login-attempts.js';
import { normaliseRedirectUri, redirectUriMatches } from './redirect-uri.js';
import { jwtOptionsFor } from './token-format.js';

const invalidGrant = (description = 'The authorization code is invalid or expired') => new OAuthError('invalid_grant', description);

/**
 * Method, preflight and body handling shared by /oauth/token and /oauth/revoke. Answers and returns null
 * when the request ends here (preflight, D88 non-POST, unreadable body).
 */
async function acceptPost(ctx: Context, deps: AppDeps, endpoint: string) {
  if (ctx.method === 'OPTIONS') {
    // Spec §5.11: the REST API's preflight answer.
    ctx.set(preflightHeaders(ctx.get('Access-Control-Request-Headers') || undefined));
    ctx.status = 204;
    return null;
  }
  setTokenEndpointHeaders(ctx);
  // Step 1 (D88): anything but POST is a 400, not a 405, as draft-era clients expect an OAuth error body.
  if (ctx.method !== 'POST') {
    sendOAuthError(ctx, deps.config.docsUrl, new OAuthError('invalid_request', `The ${endpoint} endpoint accepts only POST`));
    return null;
  }
  // With REQUIRE_TLS, secrets sent over plain HTTP are refused before the body is read (RFC 6749 §3.2 requires
  // TLS at this endpoint; the answer is the REST API's "Requires ssl", spec §6.5 step 2, in the OAuth error format).
  if (deps.config.requireTls && !ctx.secure) {
    sendOAuthError(ctx, deps.config.docsUrl, new OAuthError('invalid_request', 'Requires ssl'));
    return null;
  }
  // Step 2: the body (JSON or form, spec §4.2), with the query string under it (D17).
  const { params, failure } = await postParams(ctx);
  if (failure) {
    sendOAuthError(ctx, deps.config.docsUrl, failure);
    return null;
  }
  return params;
}

/**
 * Client authentication with brute-force protection (src/rate-limit/login-attempts.ts): seeded clients may have
 * guessable secrets (spec §14.7's `open sesame`), so failed authentications are counted per presented client_id and
 * address; over the limit the answer is `429 invalid_client` with `Retry-After`, before any secret is compared.
 * Requests without credentials (gPodder's first, unauthenticated try, D89) are not failures.
 */
async function throttledClientAuthentication(ctx: Context, deps: AppDeps, em: EntityManager, params: Params) {
  const authenticate = () => authenticateClient(em, ctx.get('Authorization'), params);
  const presented = presentedClientId(ctx.get('Authorization'), params);
  if (presented === null) return authenticate();
  const key = { kind: 'client', name: presented, address: attemptAddress(ctx.req, deps.config.trustProxy) } as const;
  // Only invalid_client counts as a failure; other errors (a disabled application: unauthorized_client) count as neither.
  const attempt = await withLoginThrottle(loginLimiterFor(deps), key, authenticate, (client) =>
    !(client instanceof OAuthError) ? 'succeeded' : client.code === 'invalid_client' ? 'failed' : 'uncounted',
  );
  if (attempt.refused) {
    ctx.set('Retry-After', String(attempt.retryAfterSeconds));
    return new OAuthError('invalid_client', 'Too many failed client authentications; retry later', 429, { 'WWW-Authenticate': 'Basic realm="flattr"' });
  }
  return attempt.result;
}

/** `POST /oauth/token` (spec §14.5): the authorization-code grant, checks in the spec's order. */
export async function tokenEndpoint(ctx: Context, deps: AppDeps): Promise<void> {
  const params = await acceptPost(ctx, deps, 'token');
  if (!params) return;
  const em = deps.orm.em.fork() as EntityManager;
  const fail = (error: OAuthError) => sendOAuthError(ctx, deps.config.docsUrl, error);

  // Steps 3–4: client authentication (Basic or body, D87; D89 challenge; disabled → unauthorized_client).
  const client = await throttledClientAuthentication(ctx, deps, em, params);
  if (client instanceof OAuthError) return fail(client);

  // Step 5: the grant type. `scope` is ignored: the code carries the granted scopes.
  const grantType = nonEmpty(params, 'grant_type');
  if (grantType === null) return fail(new OAuthError('invalid_request', 'Missing grant_type'));
  if (grantType !== 'authorization_code') return fail(new OAuthError('unsupported_grant_type', 'Unsupported grant_type'));

  // Step 6: the code. Unknown, another client's, already used or expired: invalid_grant. A code used before
  // is a replay: every token issued from it is revoked (RFC 6749 §4.1.2). Nothing here uses the code up.
  const value = nonEmpty(params, 'code');
  if (value === null) return fail(new OAuthError('invalid_request', 'Missing code'));
  const code = await findAuthorizationCode(em, value);
  if (!code || code.clientId !== client.id) return fail(invalidGrant());
  if (code.usedAt) {
    await revokeTokensFromCode(em, deps.clock, code.id);
    return fail(invalidGrant());
  }
  if (code.expiresAt.getTime() <= deps.clock.now().getTime()) return fail(invalidGrant());

  // Step 7 (D90): redirect_uri is optional, but when sent it must match the one bound to the code, or the
  // application's callback when the authorization request named none.
  const redirectUri = nonEmpty(params, 'redirect_uri');
  if (redirectUri !== null) {
    const matches = code.redirectUri !== null
      ? normaliseRedirectUri(redirectUri) !== null && normaliseRedirectUri(redirectUri) === normaliseRedirectUri(code.redirectUri)
      : redirectUriMatches(redirectUri, client.callbackUrls);
    if (!matches) return fail(invalidGrant('The redirect_uri does not match the authorization request'));
  }

  // PKCE (RFC 7636 §4.6), S256 only. A code bound to a challenge needs its verifier; a verifier for a code
  // issued without a challenge is refused too, so a stolen code cannot be "upgraded" or PKCE downgraded.
  const verifier = nonEmpty(params, 'code_verifier');
  if (code.codeChallenge !== null) {
    if (verifier === null) return fail(invalidGrant('Missing code_verifier'));
    if (!pkceVerifierMatches(code.codeChallenge, verifier)) return fail(invalidGrant('The code_verifier does not match the code_challenge'));
  } else if (verifier !== null) {
    return fail(invalidGrant('A code_verifier was sent for a code issued without code_challenge'));
  }

  // Step 8: use the code up and issue the token, atomically. Losing a race to a concurrent exchange of the
  // same code is a reuse like any other.
  const token = await redeemAuthorizationCode(em, deps.clock, code.id, (tx) =>
    issueAccessToken(tx, deps.clock, {
      userId: code.userId,
      clientId: client.id,
      scopes: code.scopes,
      authorizationCodeId: code.id,
      jwt: jwtOptionsFor(client, deps.config),
    }),
  );
  if (token === null) {
    await revokeTokensFromCode(em, deps.clock, code.id);
    return fail(invalidGrant());
  }
  // D91: `scope` beside the two documented keys; no expires_in (tokens never expire, D93), no refresh_token.
  sendJson(ctx, 200, { access_token: token, token_type: 'bearer', scope: code.scopes.join(' ') });
}

/**
 * `POST /oauth/revoke` (D63, RFC 7009): the authenticated client revokes one of its own tokens. Always
 * `200 {}`, for unknown tokens and other clients' tokens as well, so the answer reveals nothing; only
 * client-authentication failures (and unreadable requests) are errors, answered as at the token endpoint.
 */
export async function revokeEndpoint(ctx: Context, deps: AppDeps): Promise<void> {
  const params = await acceptPost(ctx, deps, 'revocation');
  if (!params) return;
  const em = deps.orm.em.fork() as EntityManager;
  const client = await throttledClientAuthentication(ctx, deps, em, params);
  if (client instanceof OAuthError) return sendOAuthError(ctx, deps.config.docsUrl, client);
  // `token_type_hint` is ignored: access tokens are the only tokens there are.
  const token = nonEmpty(params, 'token');
  if (token !== null) {
    await revokeTokens(em, deps.clock, { token, clientId: client.id });
  }
  sendJson(ctx, 200, {});
}
