import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Keys the server generates on first start and keeps: the HMAC key that signs session cookies and the
 * key pairs that sign JWT access tokens. They live in the database (with the embedded default, that is
 * inside DATA_DIR), never in the repository.
 */
export const ServerKey = defineEntity({
  name: 'ServerKey',
  tableName: 'server_keys',
  properties: {
    id: p.integer().primary().autoincrement(),
    kid: p.string().length(64).unique('server_keys_kid_unique'),
    purpose: p.enum(['session', 'access_token'] as const),
    algorithm: p.string().length(16),
    /** The secret or private key as a JWK (JSON text). */
    privateJwk: p.text(),
    /** The public half as a JWK (JSON text), for key pairs. */
    publicJwk: p.text().nullable(),
    createdAt: p.datetime().columnType('timestamptz'),
    retiredAt: p.datetime().columnType('timestamptz').nullable(),
  },
});

export type ServerKeyEntity = InferEntity<typeof ServerKey>;
