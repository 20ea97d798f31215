import type { Context } from 'koa';
import type { Router } from '@koa/router';
import type { AppDeps } from '../server/app-deps.js';
import { DomainError } from '../services/domain-error.js';
import { authenticateUser, signUp } from '../services/accounts.js';
import { html, page } from './html.js';
import { csrfTokenMatches, ensureSession, endSession, loadSession, startUserSession, type Session } from './session.js';
import { field, readForm } from './forms.js';
import { redirectTo, sendCsrfError, sendPage } from './respond.js';
import { safeNextPath } from './next-url.js';
import { verifiedForm, webHandler, type WebRequest } from './handler.js';
import { attemptAddress, loginLimiterFor, tooManyAttemptsMessage, withLoginThrottle } from '../rate-limit/login-attempts.js';

/** `?next=` only when it is not the default, so plain links stay plain. */
function withNext(path: string, next: string): string {
  return next === '/apps' ? path : `${path}?next=${encodeURIComponent(next)}`;
}

interface LoginView {
  session: Session;
  next: string;
  username?: string;
  error?: string;
}

function loginPage({ session, next, username, error }: LoginView): string {
  const body = html`
${error ? html`<p class="error" role="alert" id="login-error">${error}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="${session.csrfToken}">
  <input type="hidden" name="next" value="${next}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" value="${username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64"${error ? html` aria-describedby="login-error"` : ''}>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <button type="submit">Log in</button>
</form>
<p>No account yet? <a href="${withNext('/signup', next)}">Sign up</a>.</p>`;
  return page({ title: 'Log in', body });
}

interface SignupView {
  session: Session;
  next: string;
  username?: string;
  email?: string;
  error?: string;
}

function signupPage({ session, next, username, email, error }: SignupView): string {
  const body = html`
${error ? html`<p class="error" role="alert" id="signup-error">${error}</p>` : ''}
<form method="post" action="/signup">
  <input type="hidden" name="csrf_token" value="${session.csrfToken}">
  <input type="hidden" name="next" value="${next}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" value="${username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" aria-describedby="username-hint">
  <small id="username-hint" class="hint">Letters, digits, <code>_</code>, <code>.</code> and <code>-</code>; it cannot start with <code>.</code> or <code>-</code>.</small>
  <label for="email">Email</label>
  <input type="email" id="email" name="email" value="${email ?? ''}" autocomplete="email" required maxlength="320">
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="new-password" required minlength="8" aria-describedby="password-hint">
  <small id="password-hint" class="hint">At least 8 characters.</small>
  <button type="submit">Sign up</button>
</form>
<p>Already have an account? <a href="${withNext('/login', next)}">Log in</a>.</p>`;
  return page({ title: 'Sign up', body });
}

/** For GET /login and /signup: a logged-in visitor goes straight on; a visitor gets a session for the CSRF token. */
async function visitorSession(ctx: Context, web: WebRequest, next: string): Promise<Session | null> {
  const existing = await loadSession(ctx, web.em, web.sessionDeps);
  if (existing?.user) {
    redirectTo(ctx, next, 302);
    return null;
  }
  return existing ?? (await ensureSession(ctx, web.em, web.sessionDeps));
}

export function registerAccountRoutes(router: Router, deps: AppDeps): void {
  router.get(
    '/',
    webHandler(deps, async (ctx, web) => {
      const session = await loadSession(ctx, web.em, web.sessionDeps);
      redirectTo(ctx, session?.user ? '/apps' : '/login', 302);
    }),
  );

  router.get(
    '/login',
    webHandler(deps, async (ctx, web) => {
      const next = safeNextPath(ctx.query.next);
      const session = await visitorSession(ctx, web, next);
      if (session) sendPage(ctx, 200, loginPage({ session, next }));
    }),
  );

  router.post(
    '/login',
    webHandler(deps, async (ctx, web) => {
      const verified = await verifiedForm(ctx, web);
      if (!verified) return;
      const { form, session } = verified;
      const next = safeNextPath(field(form, 'next'));
      const username = field(form, 'username');
      // Brute-force protection (src/rate-limit/login-attempts.ts): refused before any password is verified.
      const key = { kind: 'login', name: username, address: attemptAddress(ctx.req, deps.config.trustProxy) } as const;
      const attempt = await withLoginThrottle(loginLimiterFor(deps), key, () => authenticateUser(web.em, username, field(form, 'password')));
      if (attempt.refused) {
        ctx.set('Retry-After', String(attempt.retryAfterSeconds));
        sendPage(ctx, 429, loginPage({ session, next, username, error: tooManyAttemptsMessage(attempt.retryAfterSeconds) }));
        return;
      }
      const user = attempt.result;
      if (!user) {
        // One message for unknown users and wrong passwords: no user enumeration.
        sendPage(ctx, 200, loginPage({ session, next, username, error: 'Wrong username or password.' }));
        return;
      }
      await startUserSession(ctx, web.em, web.sessionDeps, user);
      redirectTo(ctx, next, 303);
    }),
  );

  router.get(
    '/signup',
    webHandler(deps, async (ctx, web) => {
      const next = safeNextPath(ctx.query.next);
      const session = await visitorSession(ctx, web, next);
      if (session) sendPage(ctx, 200, signupPage({ session, next }));
    }),
  );

  router.post(
    '/signup',
    webHandler(deps, async (ctx, web) => {
      const verified = await verifiedForm(ctx, web);
      if (!verified) return;
      const { form, session } = verified;
      const next = safeNextPath(field(form, 'next'));
      const username = field(form, 'username').trim();
      const email = field(form, 'email').trim();
      try {
        const user = await signUp(web.em, deps.clock, { username, email, password: field(form, 'password') });
        await startUserSession(ctx, web.em, web.sessionDeps, user);
        redirectTo(ctx, next, 303);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        sendPage(ctx, 400, signupPage({ session, next, username, email, error: error.message }));
      }
    }),
  );

  router.post(
    '/logout',
    webHandler(deps, async (ctx, web) => {
      const form = await readForm(ctx);
      const session = await loadSession(ctx, web.em, web.sessionDeps);
      if (!session) {
        // Nothing to end (expired or already logged out): no harm in going to the login page.
        redirectTo(ctx, '/login', 303);
        return;
      }
      if (!csrfTokenMatches(session, form.csrf_token)) return sendCsrfError(ctx);
      await endSession(ctx, web.em, web.sessionDeps);
      redirectTo(ctx, '/login', 303);
    }),
  );
}
