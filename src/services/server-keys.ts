import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { ServerKey } from '../entities/index.js';
import type { Clock } from '../config/clock.js';

/** jose's key type for what importJWK returns. */
export type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export interface SessionKey {
  kid: string;
  key: SigningKey;
}

/**
 * The HMAC key that signs session cookies: generated on first use and kept in the database, so every
 * process of a deployment (and every restart) signs and verifies with the same key. Two processes racing
 * on a fresh database both insert; the unique kid keeps one of them, and both then read the oldest.
 */
export async function sessionKey(em: EntityManager, clock: Clock): Promise<SessionKey> {
  let row = await em.findOne(ServerKey, { purpose: 'session', retiredAt: null }, { orderBy: { id: 'asc' } });
  if (!row) {
    const secret = randomBytes(32).toString('base64url');
    const jwk: JWK = { kty: 'oct', k: secret, alg: 'HS256' };
    await em
      .getConnection()
      .execute(
        `insert into server_keys (kid, purpose, algorithm, private_jwk, created_at) values (?, 'session', 'HS256', ?, ?) on conflict do nothing`,
        ['session-1', JSON.stringify(jwk), clock.now()],
      );
    row = await em.findOneOrFail(ServerKey, { purpose: 'session', retiredAt: null }, { orderBy: { id: 'asc' } });
  }
  const jwk = JSON.parse(row.privateJwk) as JWK;
  return { kid: row.kid, key: await importJWK(jwk, 'HS256') };
}

export const ACCESS_TOKEN_ALG = 'ES256';

export interface AccessTokenSigningKey {
  kid: string;
  alg: typeof ACCESS_TOKEN_ALG;
  key: SigningKey;
}

// Imported keys by kid: a kid's key material never changes, so the import is done once per process.
const importedAccessTokenKeys = new Map<string, SigningKey>();

/**
 * The key pair that signs JWT access tokens (RFC 9068): ES256 (P-256), generated on first use and kept
 * in `server_keys` (purpose `access_token`) like the session key. Race-safe the same way: the kid is
 * `access-token-<n>` where n is one more than the number of access-token keys stored so far, so two
 * processes generating at once on a fresh database pick the same kid and the unique index keeps one row;
 * both then sign with the oldest unretired key. Retiring a key (setting `retired_at`) makes the next call
 * generate `access-token-<n+1>`.
 */
export async function accessTokenSigningKey(em: EntityManager, clock: Clock): Promise<AccessTokenSigningKey> {
  let row = await em.findOne(ServerKey, { purpose: 'access_token', retiredAt: null }, { orderBy: { id: 'asc' } });
  if (!row) {
    // One generator at a time (a transaction-scoped advisory lock), so concurrent first requests on a fresh
    // database, in one process or several, end with exactly one key rather than one each.
    await em.transactional(async (tx) => {
      await tx.execute(`select pg_advisory_xact_lock(hashtext('server_keys:access_token'))`);
      if (await tx.count(ServerKey, { purpose: 'access_token', retiredAt: null })) return;
      const stored = await tx.count(ServerKey, { purpose: 'access_token' });
      const kid = `access-token-${stored + 1}`;
      const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
      const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' };
      const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' };
      await tx.execute(
        `insert into server_keys (kid, purpose, algorithm, private_jwk, public_jwk, created_at) values (?, 'access_token', ?, ?, ?, ?) on conflict do nothing`,
        [kid, ACCESS_TOKEN_ALG, JSON.stringify(privateJwk), JSON.stringify(publicJwk), clock.now()],
      );
    });
    row = await em.findOneOrFail(ServerKey, { purpose: 'access_token', retiredAt: null }, { orderBy: { id: 'asc' }, refresh: true });
  }
  let key = importedAccessTokenKeys.get(row.kid);
  if (!key) {
    key = await importJWK(JSON.parse(row.privateJwk) as JWK, row.algorithm);
    importedAccessTokenKeys.set(row.kid, key);
  }
  return { kid: row.kid, alg: ACCESS_TOKEN_ALG, key };
}

/**
 * The public JWK Set for `/.well-known/jwks.json`: every access-token key ever generated, retired ones
 * included, because access tokens never expire (D93) and a token signed with a retired key stays valid
 * until it is revoked. Generates the first key when there is none, so the set is never empty.
 */
export async function accessTokenJwks(em: EntityManager, clock: Clock): Promise<{ keys: JWK[] }> {
  await accessTokenSigningKey(em, clock);
  const rows = await em.find(ServerKey, { purpose: 'access_token' }, { orderBy: { id: 'asc' } });
  return { keys: rows.filter((r) => r.publicJwk).map((r) => JSON.parse(r.publicJwk!) as JWK) };
}
