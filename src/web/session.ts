import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Context } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SignJWT, jwtVerify } from 'jose';
import type { AppConfig } from '../config/config.js';
import type { Clock } from '../config/clock.js';
import { sessionKey } from '../services/server-keys.js';
import { sha256Hex } from '../services/tokens.js';
import type { UserEntity } from '../services/users.js';
import { createWebSession, deleteWebSession, findLiveWebSession } from '../services/web-sessions.js';

export const SESSION_COOKIE = 'flattr_session';
const SESSION_DAYS = 30;

export interface SessionDeps {
  config: AppConfig;
  clock: Clock;
}

/**
 * A logged-in session is a `web_sessions` row named by the cookie's `sid`. A visitor's (anonymous) session is only
 * the signed cookie, holding a random `anon` id from which the CSRF token of its forms is derived (HMAC with the
 * session key): showing a signup or login form to a cookie-less client, or a crawler, writes nothing to the
 * database, so such requests cannot fill it.
 */
export interface Session {
  /** The `web_sessions` row; null for a visitor's session, which has none. */
  id: number | null;
  user: UserEntity | null;
  csrfToken: string;
}

function cookieOptions(config: AppConfig, expires: Date) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.siteUrl.startsWith('https:'),
    path: '/',
    expires,
    overwrite: true,
    signed: false, // the value is a JWT signed with jose
  };
}

/** The session named by the request's cookie, if the cookie is genuine and, for a user's session, its row exists. */
export async function loadSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<Session | null> {
  const cookie = ctx.cookies.get(SESSION_COOKIE);
  if (!cookie) return null;
  const { key } = await sessionKey(em, deps.clock);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(cookie, key, { algorithms: ['HS256'], currentDate: deps.clock.now() }));
  } catch {
    return null;
  }
  if (typeof payload.anon === 'string') return { id: null, user: null, csrfToken: visitorCsrfToken(key, payload.anon) };
  if (typeof payload.sid !== 'string') return null;
  return findLiveWebSession(em, sha256Hex(payload.sid), deps.clock.now());
}

function visitorCsrfToken(key: Uint8Array | KeyObject | CryptoKey, anon: string): string {
  return createHmac('sha256', key as Uint8Array | KeyObject)
    .update(`csrf:${anon}`)
    .digest('base64url');
}

async function setSessionCookie(ctx: Context, em: EntityManager, deps: SessionDeps, claims: { sid: string } | { anon: string }, expiresAt: Date) {
  const { kid, key } = await sessionKey(em, deps.clock);
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid })
    .setIssuedAt(Math.floor(deps.clock.now().getTime() / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key);
  ctx.cookies.set(SESSION_COOKIE, jwt, cookieOptions(deps.config, expiresAt));
  return key;
}

async function createUserSession(ctx: Context, em: EntityManager, deps: SessionDeps, user: UserEntity): Promise<Session> {
  const sid = randomBytes(32).toString('base64url');
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
  // Deletes a batch of expired rows and (issue 14) the user's sessions beyond SESSIONS_PER_USER.
  const row = await createWebSession(em, { userId: user.id, sidHash: sha256Hex(sid), csrfToken: randomBytes(32).toString('base64url'), now, expiresAt });
  await setSessionCookie(ctx, em, deps, { sid }, expiresAt);
  return { id: row.id, user, csrfToken: row.csrfToken };
}

async function createVisitorSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<Session> {
  const anon = randomBytes(32).toString('base64url');
  const expiresAt = new Date(deps.clock.now().getTime() + SESSION_DAYS * 86_400_000);
  const key = await setSessionCookie(ctx, em, deps, { anon }, expiresAt);
  return { id: null, user: null, csrfToken: visitorCsrfToken(key, anon) };
}

/** The current session, or a new visitor's one (so that forms shown to visitors carry a CSRF token). */
export async function ensureSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<Session> {
  return (await loadSession(ctx, em, deps)) ?? createVisitorSession(ctx, em, deps);
}

/** Logging in always replaces the session, so a session id planted before login is worthless (fixation). */
export async function startUserSession(ctx: Context, em: EntityManager, deps: SessionDeps, user: UserEntity): Promise<Session> {
  await endSession(ctx, em, deps);
  return createUserSession(ctx, em, deps, user);
}

export async function endSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<void> {
  const current = await loadSession(ctx, em, deps);
  if (current?.id != null) await deleteWebSession(em, current.id);
  ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(deps.config, new Date(0)) });
}

/** Constant-time comparison of a submitted `csrf_token` with the session's. */
export function csrfTokenMatches(session: Session | null, submitted: unknown): boolean {
  if (!session || typeof submitted !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const actual = Buffer.from(submitted);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
