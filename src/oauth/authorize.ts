import type { Context } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppDeps } from '../server/app-deps.js';
import { csrfTokenMatches, loadSession, type Session } from '../web/session.js';
import { formActionSource, sendPage, setSecurityHeaders } from '../web/respond.js';
import { authenticateUser } from '../services/accounts.js';
import { applicationOwner } from '../services/oauth-clients.js';
import type { UserEntity } from '../services/users.js';
import { createAuthorizationCode } from '../services/authorization-codes.js';
import { issueAccessToken } from '../services/tokens.js';
import { checkAuthorizationRequest, redirectError, type AuthorizationCheck, type AuthorizationRequest } from './authorization-request.js';
import { OAuthError, postParams, queryParams, sendJson, oauthErrorUri, type Params } from './http.js';
import { buildRedirect } from './redirect-uri.js';
import { authorizeErrorPage, consentPage } from './consent-page.js';
import { jwtOptionsFor } from './token-format.js';
import { attemptAddress, loginLimiterFor, tooManyAttemptsMessage, withLoginThrottle } from '../rate-limit/login-attempts.js';

/**
 * Does the client want the HTML error page rather than the JSON body? Only when it prefers `text/html` to
 * `application/json`, as a browser does (it names `text/html` and leaves everything else to a lower-q wildcard).
 * No `Accept`, a bare wildcard (a tie), a preference for JSON, or no HTML at all: the JSON body of spec §14.2.
 */
export function prefersHtml(ctx: Context): boolean {
  return ctx.accepts('application/json', 'text/html') === 'text/html';
}

/**
 * Spec §14.2 steps 1–2 (an unknown `client_id`, a `redirect_uri` the application did not register): never a
 * redirect (RFC 6749 §4.1.2.1: without a verified redirect URI there is nowhere safe to send the user). A browser
 * gets an HTML page that says so; any other client the JSON error body, with the same status either way. Also the
 * answer to an unreadable form.
 */
async function sendAuthorizeError(ctx: Context, deps: AppDeps, em: EntityManager, error: OAuthError): Promise<void> {
  ctx.vary('Accept');
  if (prefersHtml(ctx)) {
    const session = await loadSession(ctx, em, deps);
    return sendPage(ctx, error.status, authorizeErrorPage(error, sessionUser(session)));
  }
  setSecurityHeaders(ctx);
  sendJson(ctx, error.status, { error: error.code, error_description: error.message, error_uri: oauthErrorUri(deps.config.docsUrl) });
}

/** Spec §14.3: `302` to the client's redirect URI. The consent page's CSP already lets the form end up there. */
function redirect(ctx: Context, location: string): void {
  setSecurityHeaders(ctx);
  ctx.status = 302;
  ctx.set('Location', location);
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `Redirecting to ${location}`;
}

/** Answers a failed check; returns the request when every check passed. */
async function settle(ctx: Context, deps: AppDeps, em: EntityManager, check: AuthorizationCheck): Promise<AuthorizationRequest | null> {
  if (check.kind === 'invalid') {
    await sendAuthorizeError(ctx, deps, em, check.error);
    return null;
  }
  if (check.kind === 'redirect') {
    redirect(ctx, check.location);
    return null;
  }
  return check.request;
}

/** The logged-in user of the session, if any. */
function sessionUser(session: Session | null): { username: string; csrfToken: string } | null {
  return session?.user ? { username: session.user.username, csrfToken: session.csrfToken } : null;
}

/**
 * The consent page. Security headers: CSP `frame-ancestors 'none'` and `X-Frame-Options: DENY` (a framed
 * consent page could be clickjacked into approving), `Referrer-Policy: no-referrer` (the URL carries
 * `state` and the PKCE challenge), `Cache-Control: no-store` (it carries a CSRF token). `form-action`
 * allows 'self' plus the redirect target's origin (or custom scheme): Chrome applies `form-action` to the
 * redirect that answers the form too, and that redirect goes to the application.
 */
async function sendConsent(
  ctx: Context,
  em: EntityManager,
  request: AuthorizationRequest,
  options: Omit<Parameters<typeof consentPage>[0], 'request' | 'owner'>,
  status = 200,
): Promise<void> {
  // Who registered the application, so the user can judge it by more than the name it chose for itself.
  const owner = await applicationOwner(em, request.client);
  sendPage(ctx, status, consentPage({ request, owner, ...options }), { formActions: [formActionSource(request.target)] });
}

/** `GET /oauth/authorize` (spec §14.2). */
export async function getAuthorize(ctx: Context, deps: AppDeps): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  const request = await settle(ctx, deps, em, await checkAuthorizationRequest(em, queryParams(ctx)));
  if (!request) return;
  const session = await loadSession(ctx, em, deps);
  await sendConsent(ctx, em, request, { session: sessionUser(session) });
}

type Identified =
  | { user: UserEntity }
  | { retry: { error: string; username?: string; session: ReturnType<typeof sessionUser> }; status?: number; retryAfterSeconds?: number };

/**
 * D85: (a) `username` and `password` in the form, or (b) a logged-in session plus the form's matching
 * `csrf_token`; a session without a valid token counts as not logged in. Credentials win when both are sent.
 */
async function identifyUser(ctx: Context, em: EntityManager, deps: AppDeps, params: Params): Promise<Identified> {
  const username = params.get('username') ?? '';
  const password = params.get('password') ?? '';
  if (username !== '' || password !== '') {
    // Brute-force protection shared with the website login (src/rate-limit/login-attempts.ts): refused before any
    // password is verified, with 429 and Retry-After.
    // The check is the website login's (src/services/accounts.ts): unknown users cost the same scrypt work, and
    // passwords longer than MAX_PASSWORD_LENGTH are wrong without hashing megabytes.
    const key = { kind: 'login', name: username, address: attemptAddress(ctx.req, deps.config.trustProxy) } as const;
    const attempt = await withLoginThrottle(loginLimiterFor(deps), key, () => authenticateUser(em, username, password));
    if (attempt.refused) {
      const { retryAfterSeconds } = attempt;
      return { retry: { error: tooManyAttemptsMessage(retryAfterSeconds), username, session: null }, status: 429, retryAfterSeconds };
    }
    if (attempt.result) return { user: attempt.result };
    return { retry: { error: 'Wrong username or password.', username, session: null } };
  }
  const session = await loadSession(ctx, em, deps);
  if (session?.user && csrfTokenMatches(session, params.get('csrf_token'))) return { user: session.user };
  return {
    retry: {
      error: session?.user ? 'This form has expired. Log in to continue.' : 'Log in to continue.',
      session: null,
    },
  };
}

/** `POST /oauth/authorize` (spec §14.3, D85). */
export async function postAuthorize(ctx: Context, deps: AppDeps): Promise<void> {
  const em = deps.orm.em.fork() as EntityManager;
  const { params, failure } = await postParams(ctx);
  if (failure) return sendAuthorizeError(ctx, deps, em, failure);

  // Step 1: the checks of §14.2 steps 1–3, with the same error delivery.
  const request = await settle(ctx, deps, em, await checkAuthorizationRequest(em, params));
  if (!request) return;
  const where = request.flow === 'token' ? 'fragment' : 'query';

  // Step 2: anything but an explicit allow is a refusal.
  if (params.get('decision') !== 'allow') {
    return redirect(ctx, redirectError(request.target, where, 'access_denied', 'The user denied access', request.state));
  }

  // Step 3: who is approving. Wrong credentials: the page again, no redirect.
  const identified = await identifyUser(ctx, em, deps, params);
  if ('retry' in identified) {
    if (identified.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(identified.retryAfterSeconds));
    return sendConsent(ctx, em, request, identified.retry, identified.status);
  }
  const { user } = identified;

  // Step 4: the grant.
  if (request.flow === 'code') {
    const code = await createAuthorizationCode(em, deps.clock, deps.config.authCodeTtlSeconds, {
      clientId: request.client.id,
      userId: user.id,
      scopes: request.scopes,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
    });
    const params: [string, string][] = [['code', code]];
    if (request.state !== null) params.push(['state', request.state]);
    return redirect(ctx, buildRedirect(request.target, params, 'query'));
  }

  // The implicit flow (`token`, and its seed alias `access_token`) is deprecated by RFC 9700 §2.1.2: the
  // token travels in the browser's URL fragment and cannot be sender-constrained. It stays for the legacy
  // v2 clients that use it (spec §14, §17); new applications should use the code flow with PKCE.
  const token = await issueAccessToken(em, deps.clock, {
    userId: user.id,
    clientId: request.client.id,
    scopes: request.scopes,
    jwt: jwtOptionsFor(request.client, deps.config),
  });
  const fragment: [string, string][] = [
    ['access_token', token],
    ['token_type', 'bearer'],
    ['scope', request.scopes.join(' ')],
  ];
  if (request.state !== null) fragment.push(['state', request.state]);
  return redirect(ctx, buildRedirect(request.target, fragment, 'fragment'));
}
