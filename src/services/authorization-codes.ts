import { createHash, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuthorizationCode, OAuthClient, User } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { generateCredential, orderScopes, revokeTokens, sha256Hex, type Scope } from './tokens.js';
import { CODE_RETENTION_SECONDS, CODES_PER_USER_AND_CLIENT } from './write-bounds.js';

/** Spec §14.8: 32 characters from [A-Za-z0-9], from a CSPRNG (rejection sampling, so unbiased). */
export function generateAuthorizationCode(): string {
  return generateCredential(32);
}

/** RFC 7636 §4.1/§4.2: a verifier or an S256 challenge is 43–128 characters (the challenge is base64url). */
export const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
export const CODE_CHALLENGE = /^[A-Za-z0-9\-_]{43,128}$/;

export interface NewAuthorizationCode {
  clientId: number;
  userId: number;
  scopes: Scope[];
  /** The `redirect_uri` exactly as the client sent it, or null when it sent none (spec §14.3, D90). */
  redirectUri: string | null;
  /** PKCE (RFC 7636), S256 only. */
  codeChallenge: string | null;
}

export interface StoredAuthorizationCode {
  id: number;
  clientId: number;
  userId: number;
  scopes: Scope[];
  redirectUri: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  expiresAt: Date;
  usedAt: Date | null;
}

/** Deletes up to `batch` codes expired for longer than CODE_RETENTION_SECONDS at `now`; returns how many. For the expiry-cleanup job. */
export async function deleteExpiredAuthorizationCodes(em: EntityManager, now: Date, batch: number): Promise<number> {
  const rows = await em.getConnection('write').execute<{ id: number }[]>(
    `delete from oauth_authorization_codes where id in
       (select id from oauth_authorization_codes where expires_at <= ? order by expires_at limit ?) returning id`,
    [new Date(now.getTime() - CODE_RETENTION_SECONDS * 1000), batch],
  );
  return rows.length;
}

/** Creates a code valid for `ttlSeconds` (D92) and returns it in clear, once; only its SHA-256 is stored. */
export async function createAuthorizationCode(em: EntityManager, clock: Clock, ttlSeconds: number, input: NewAuthorizationCode): Promise<string> {
  const code = generateAuthorizationCode();
  const now = clock.now();
  // Issue 14: a user and application keep at most CODES_PER_USER_AND_CLIENT codes (the oldest beyond go). Codes
  // expired for longer than CODE_RETENTION_SECONDS are deleted by the expiry-cleanup job (deleteExpiredAuthorizationCodes).
  await em.execute(
    `delete from oauth_authorization_codes where id in
       (select id from oauth_authorization_codes where user_id = ? and client_id = ? order by id desc offset ?)`,
    [input.userId, input.clientId, CODES_PER_USER_AND_CLIENT - 1],
  );
  em.create(AuthorizationCode, {
    codeHash: sha256Hex(code),
    client: em.getReference(OAuthClient, input.clientId),
    user: em.getReference(User, input.userId),
    scopes: orderScopes(input.scopes),
    redirectUri: input.redirectUri,
    codeChallenge: input.codeChallenge,
    codeChallengeMethod: input.codeChallenge ? 'S256' : null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
  });
  await em.flush();
  return code;
}

/** The stored code with this clear value (whatever its state), or null. One lookup by the unique hash. */
export async function findAuthorizationCode(em: EntityManager, code: string): Promise<StoredAuthorizationCode | null> {
  const row = await em.findOne(AuthorizationCode, { codeHash: sha256Hex(code) });
  if (!row) return null;
  return {
    id: row.id,
    clientId: row.client.id,
    userId: row.user.id,
    scopes: orderScopes(row.scopes),
    redirectUri: row.redirectUri ?? null,
    codeChallenge: row.codeChallenge ?? null,
    codeChallengeMethod: row.codeChallengeMethod ?? null,
    expiresAt: row.expiresAt,
    usedAt: row.usedAt ?? null,
  };
}

/** RFC 6749 §4.1.2: a code used twice revokes every token issued from it. Returns how many were revoked. */
export async function revokeTokensFromCode(em: EntityManager, clock: Clock, codeId: number): Promise<number> {
  return revokeTokens(em, clock, { authorizationCodeId: codeId });
}

/** RFC 7636 §4.6, S256 only: BASE64URL(SHA256(verifier)) equals the stored challenge (constant time). */
export function pkceVerifierMatches(challenge: string, verifier: string): boolean {
  if (!CODE_VERIFIER.test(verifier)) return false;
  const expected = Buffer.from(challenge, 'utf8');
  const actual = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'), 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Marks the code used and issues its token in one transaction (spec §14.5 step 8). The update only
 * succeeds while `used_at` is still null, so of two concurrent exchanges exactly one wins: the other
 * waits for the winner's row lock, then finds the code used. Returns null for the loser, which the caller
 * treats as reuse. `issue` runs inside the transaction with the transaction's entity manager.
 */
export async function redeemAuthorizationCode(
  em: EntityManager,
  clock: Clock,
  codeId: number,
  issue: (tx: EntityManager) => Promise<string>,
): Promise<string | null> {
  return em.transactional(async (tx) => {
    const claimed = await tx.nativeUpdate(AuthorizationCode, { id: codeId, usedAt: null }, { usedAt: clock.now() });
    if (claimed !== 1) return null;
    return issue(tx);
  });
}
