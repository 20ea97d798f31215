import type { Context } from 'koa';
import { html, page, SafeHtml } from './html.js';

/**
 * Responses of the server-rendered website (and of the OAuth consent page): HTML with strict security
 * headers, error pages, redirects.
 */

export interface SecurityHeaderOptions {
  /**
   * Extra `form-action` sources besides 'self'. Browsers (Chrome) apply `form-action` to the redirects
   * that follow a form submission too, so a page whose form answers with a redirect elsewhere (the OAuth
   * consent page redirecting to the application's callback) must list the target: build the entries
   * with `formActionSource(url)`. Entries that are not well-formed source expressions are dropped.
   */
  formActions?: readonly (string | null | undefined)[];
  /** `no-store` (the default) for anything with a form, a CSRF token or a secret; `private` otherwise. */
  cache?: 'no-store' | 'private';
  /**
   * `script-src 'self'`: the page loads same-origin scripts (`/copy-button.js` on the client-secret page). No
   * inline script and no eval is ever allowed.
   */
  scripts?: boolean;
}

const SCHEME_SOURCE = /^[a-z][a-z0-9+.-]*:$/;
const HOST_SOURCE = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;
/** Schemes a form must never be allowed to go to, even if a callback somehow used one. */
const NEVER = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'filesystem:']);

/**
 * The CSP source expression that lets a form submission end up at `url`: its origin for http(s)
 * (`https://app.example:8443`), its scheme for custom schemes (`gpodder:`). Null for anything else.
 */
export function formActionSource(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const scheme = parsed.protocol.toLowerCase();
  if (scheme === 'http:' || scheme === 'https:') {
    const origin = parsed.origin.toLowerCase();
    return HOST_SOURCE.test(origin) ? origin : null;
  }
  return SCHEME_SOURCE.test(scheme) && !NEVER.has(scheme) ? scheme : null;
}

function isSafeSource(source: string): boolean {
  if (source === "'self'") return true;
  if (SCHEME_SOURCE.test(source)) return !NEVER.has(source);
  return HOST_SOURCE.test(source);
}

/**
 * `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ...; frame-ancestors 'none'; base-uri 'none'`,
 * with `script-src 'self'` after `default-src` when the page loads its own scripts.
 */
export function contentSecurityPolicy(formActions: readonly (string | null | undefined)[] = [], options: { scripts?: boolean } = {}): string {
  const extra = [...new Set(formActions.filter((s): s is string => typeof s === 'string' && s !== "'self'" && isSafeSource(s)))];
  return [
    "default-src 'none'",
    ...(options.scripts ? ["script-src 'self'"] : []),
    "style-src 'unsafe-inline'",
    ['form-action', "'self'", ...extra].join(' '),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The security headers of every HTML page (also useful on redirects and non-HTML answers of the site). */
export function setSecurityHeaders(ctx: Context, options: SecurityHeaderOptions = {}): void {
  ctx.set('Content-Security-Policy', contentSecurityPolicy(options.formActions, { scripts: options.scripts }));
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Content-Type-Options', 'nosniff');
  if ((options.cache ?? 'no-store') === 'no-store') {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
  } else {
    ctx.set('Cache-Control', 'private, no-cache');
  }
}

/** Answers with a whole HTML document (from `page()`), `text/html; charset=utf-8`, with the security headers. */
export function sendPage(ctx: Context, status: number, document: string | SafeHtml, options: SecurityHeaderOptions = {}): void {
  setSecurityHeaders(ctx, options);
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = document instanceof SafeHtml ? document.value : document;
}

export interface ErrorPageOptions {
  /** Logged-in username and CSRF token, so the header keeps its logout button. */
  username?: string | null;
  csrfToken?: string | null;
  /** Extra markup under the message (a link back, say). */
  extra?: SafeHtml;
}

/** A small HTML error page: `403 Forbidden` for a CSRF mismatch, `404` for someone else's app, and so on. */
export function sendErrorPage(ctx: Context, status: number, title: string, message: string, options: ErrorPageOptions = {}): void {
  const body = html`<p class="error" role="alert">${message}</p>${options.extra ?? ''}`;
  sendPage(ctx, status, page({ title, body, username: options.username, csrfToken: options.csrfToken }));
}

/** The answer to a form whose `csrf_token` is missing or wrong. */
export function sendCsrfError(ctx: Context): void {
  sendErrorPage(ctx, 403, 'Forbidden', 'The form has expired or was not sent from this site. Go back, reload the page and try again.');
}

/**
 * Redirect to a same-site path (or an absolute URL the caller has validated). `303 See Other` after a
 * POST, so the browser follows with a GET; `302` for GET.
 */
export function redirectTo(ctx: Context, location: string, status: 302 | 303 = ctx.method === 'POST' ? 303 : 302): void {
  setSecurityHeaders(ctx);
  ctx.status = status;
  ctx.set('Location', location);
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `Redirecting to ${location}`;
}
