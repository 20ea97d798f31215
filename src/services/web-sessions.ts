import type { EntityManager } from '@mikro-orm/postgresql';
import { User, WebSession, type UserEntity } from '../entities/index.js';
import { SESSIONS_PER_USER } from './write-bounds.js';


/** A logged-in session's `web_sessions` row, as the website uses it. */
export interface StoredWebSession {
  id: number;
  user: UserEntity | null;
  csrfToken: string;
}

/** The unexpired session row whose id hashes to `sidHash`, with its user, or null. */
export async function findLiveWebSession(em: EntityManager, sidHash: string, now: Date): Promise<StoredWebSession | null> {
  const row = await em.findOne(WebSession, { sidHash, expiresAt: { $gt: now } }, { populate: ['user'] });
  if (!row) return null;
  return { id: row.id, user: (row.user as UserEntity | null) ?? null, csrfToken: row.csrfToken };
}

/**
 * Stores a new session row for the user. First deletes (issue 14) the user's oldest sessions beyond
 * SESSIONS_PER_USER - 1, so logging in once more ends the oldest beyond the bound. Expired rows are deleted by the
 * `expiry-cleanup` job (src/jobs/, `deleteExpiredWebSessions`), off the request path.
 */
export async function createWebSession(
  em: EntityManager,
  input: { userId: number; sidHash: string; csrfToken: string; now: Date; expiresAt: Date },
): Promise<{ id: number; csrfToken: string }> {
  await em
    .getConnection()
    .execute('delete from web_sessions where id in (select id from web_sessions where user_id = ? order by id desc offset ?)', [input.userId, SESSIONS_PER_USER - 1]);
  const row = em.create(WebSession, {
    sidHash: input.sidHash,
    user: em.getReference(User, input.userId),
    csrfToken: input.csrfToken,
    createdAt: input.now,
    expiresAt: input.expiresAt,
  });
  await em.flush();
  return { id: row.id, csrfToken: row.csrfToken };
}

/** Deletes up to `batch` expired session rows (oldest expiry first); returns how many. For the expiry-cleanup job. */
export async function deleteExpiredWebSessions(em: EntityManager, now: Date, batch: number): Promise<number> {
  const rows = await em
    .getConnection('write')
    .execute<{ id: number }[]>('delete from web_sessions where id in (select id from web_sessions where expires_at <= ? order by expires_at limit ?) returning id', [now, batch]);
  return rows.length;
}

/** Logout: the session row goes. */
export async function deleteWebSession(em: EntityManager, id: number): Promise<void> {
  await em.nativeDelete(WebSession, { id });
}
