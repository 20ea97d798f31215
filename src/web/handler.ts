import type { Context } from 'koa';
import type { RouterContext } from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { UserEntity } from '../services/users.js';
import type { AppDeps } from '../server/app-deps.js';
import { csrfTokenMatches, loadSession, type Session, type SessionDeps } from './session.js';
import { readForm, type FormFields } from './forms.js';
import { redirectTo, sendCsrfError, sendErrorPage } from './respond.js';
import { loginUrlFor } from './next-url.js';

/** What a website handler gets besides the Koa context. */
export interface WebRequest {
  /** A fork of the entity manager for this request only. */
  em: EntityManager;
  deps: AppDeps;
  sessionDeps: SessionDeps;
}

export type WebHandler = (ctx: RouterContext, web: WebRequest) => Promise<void>;

/**
 * Wraps a website handler: a fresh entity-manager fork per request, and failures as HTML pages (413/400
 * for form bodies that are too large or malformed, 500, logged, for anything unexpected).
 */
export function webHandler(deps: AppDeps, handler: WebHandler) {
  const sessionDeps: SessionDeps = { config: deps.config, clock: deps.clock };
  return async (ctx: RouterContext): Promise<void> => {
    const em = deps.orm.em.fork();
    try {
      await handler(ctx, { em, deps, sessionDeps });
    } catch (error) {
      const status = (error as { status?: unknown })?.status;
      if (status === 413) return sendErrorPage(ctx, 413, 'Too large', 'The form you sent is too large.');
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return sendErrorPage(ctx, 400, 'Bad request', 'The form you sent could not be read.');
      }
      deps.logger.error({ err: error, path: ctx.path }, 'website request failed');
      sendErrorPage(ctx, 500, 'Something went wrong', 'The server could not complete the request. Please try again later.');
    }
  };
}

export interface LoggedIn {
  session: Session & { user: UserEntity };
  user: UserEntity;
}

function loggedIn(session: Session | null): LoggedIn | null {
  return session?.user ? { session: session as Session & { user: UserEntity }, user: session.user } : null;
}

/** For GET pages: the logged-in user, or null after redirecting to `/login?next=<this page>`. */
export async function requireUser(ctx: Context, web: WebRequest): Promise<LoggedIn | null> {
  const current = loggedIn(await loadSession(ctx, web.em, web.sessionDeps));
  if (!current) redirectTo(ctx, loginUrlFor(ctx.originalUrl), 302);
  return current;
}

/**
 * For POST forms: reads the form and checks its `csrf_token` against the session's; on a mismatch (or no
 * session at all) answers `403` with an HTML page and returns null.
 */
export async function verifiedForm(ctx: Context, web: WebRequest): Promise<{ form: FormFields; session: Session } | null> {
  const form = await readForm(ctx);
  const session = await loadSession(ctx, web.em, web.sessionDeps);
  if (!session || !csrfTokenMatches(session, form.csrf_token)) {
    sendCsrfError(ctx);
    return null;
  }
  return { form, session };
}

/**
 * For POST forms of logged-in pages: the CSRF check of `verifiedForm`, then the login check (a valid
 * anonymous session is sent to `/login`, with `next` = `fallbackNext`).
 */
export async function verifiedUserForm(ctx: Context, web: WebRequest, fallbackNext: string): Promise<(LoggedIn & { form: FormFields }) | null> {
  const verified = await verifiedForm(ctx, web);
  if (!verified) return null;
  const current = loggedIn(verified.session);
  if (!current) {
    redirectTo(ctx, loginUrlFor(fallbackNext), 303);
    return null;
  }
  return { ...current, form: verified.form };
}
