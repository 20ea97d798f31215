import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { importJWK, type JWK } from 'jose';
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
