import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SignJWT, jwtVerify } from 'jose';
import { User, WebSession, type UserEntity } from '../entities/index.js';
import type { AppConfig } from '../config/config.js';
import type { Clock } from '../config/clock.js';
import { sessionKey } from '../services/server-keys.js';
import { sha256Hex } from '../services/tokens.js';

export const SESSION_COOKIE = 'flattr_session';
const SESSION_DAYS = 30;

export interface SessionDeps {
  config: AppConfig;
  clock: Clock;
}

export interface Session {
  id: number;
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

/** The session named by the request's cookie, if the cookie is genuine and the session still exists. */
export async function loadSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<Session | null> {
  const cookie = ctx.cookies.get(SESSION_COOKIE);
  if (!cookie) return null;
  const { key } = await sessionKey(em, deps.clock);
  let sid: unknown;
  try {
    const { payload } = await jwtVerify(cookie, key, { algorithms: ['HS256'], currentDate: deps.clock.now() });
    sid = payload.sid;
  } catch {
    return null;
  }
  if (typeof sid !== 'string') return null;
  const row = await em.findOne(WebSession, { sidHash: sha256Hex(sid), expiresAt: { $gt: deps.clock.now() } }, { populate: ['user'] });
  if (!row) return null;
  return { id: row.id, user: (row.user as UserEntity | null) ?? null, csrfToken: row.csrfToken };
}

async function createSession(ctx: Context, em: EntityManager, deps: SessionDeps, user: UserEntity | null): Promise<Session> {
  const sid = randomBytes(32).toString('base64url');
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
  const row = em.create(WebSession, {
    sidHash: sha256Hex(sid),
    user: user ? em.getReference(User, user.id) : null,
    csrfToken: randomBytes(32).toString('base64url'),
    createdAt: now,
    expiresAt,
  });
  await em.flush();
  const { kid, key } = await sessionKey(em, deps.clock);
  const jwt = await new SignJWT({ sid })
    .setProtectedHeader({ alg: 'HS256', kid })
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key);
  ctx.cookies.set(SESSION_COOKIE, jwt, cookieOptions(deps.config, expiresAt));
  return { id: row.id, user, csrfToken: row.csrfToken };
}

/** The current session, or a new anonymous one (so that forms shown to visitors carry a CSRF token). */
export async function ensureSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<Session> {
  return (await loadSession(ctx, em, deps)) ?? createSession(ctx, em, deps, null);
}

/** Logging in always replaces the session, so a session id planted before login is worthless (fixation). */
export async function startUserSession(ctx: Context, em: EntityManager, deps: SessionDeps, user: UserEntity): Promise<Session> {
  await endSession(ctx, em, deps);
  return createSession(ctx, em, deps, user);
}

export async function endSession(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<void> {
  const current = await loadSession(ctx, em, deps);
  if (current) await em.nativeDelete(WebSession, { id: current.id });
  ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(deps.config, new Date(0)) });
}

/** Constant-time comparison of a submitted `csrf_token` with the session's. */
export function csrfTokenMatches(session: Session | null, submitted: unknown): boolean {
  if (!session || typeof submitted !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const actual = Buffer.from(submitted);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
