import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { User } from './user.js';
import { TextArrayType } from './text-array.js';

/** Spec §14.1. The secret is stored only as a hash. */
export const OAuthClient = defineEntity({
  name: 'OAuthClient',
  tableName: 'oauth_clients',
  properties: {
    id: p.integer().primary().autoincrement(),
    clientId: p.string().length(255).unique('oauth_clients_client_id_unique'),
    clientSecretHash: p.string().length(255),
    name: p.string().length(255),
    description: p.text().default(''),
    callbackUrls: p.type(TextArrayType).columnType('text[]').default('{}'),
    owner: p.manyToOne(User).deleteRule('cascade').nullable(),
    enabled: p.boolean().default(true),
    /** `opaque`: the 40-hex tokens v2 clients know; `jwt`: RFC 9068 JWT access tokens. */
    tokenFormat: p.enum(['opaque', 'jwt'] as const).default('opaque'),
    createdAt: p.datetime().columnType('timestamptz'),
  },
  // Applications per owner (src/services/write-bounds.ts).
  indexes: [{ name: 'oauth_clients_owner_idx', properties: ['owner'] }],
});

/** Spec §14.8. Only a SHA-256 of the code is stored. */
export const AuthorizationCode = defineEntity({
  name: 'AuthorizationCode',
  tableName: 'oauth_authorization_codes',
  properties: {
    id: p.integer().primary().autoincrement(),
    codeHash: p.string().columnType('char(64)').unique('oauth_authorization_codes_code_hash_unique'),
    client: p.manyToOne(OAuthClient).deleteRule('cascade'),
    user: p.manyToOne(User).deleteRule('cascade'),
    scopes: p.type(TextArrayType).columnType('text[]').default('{}'),
    redirectUri: p.text().nullable(),
    codeChallenge: p.string().length(128).nullable(),
    codeChallengeMethod: p.string().length(16).nullable(),
    createdAt: p.datetime().columnType('timestamptz'),
    expiresAt: p.datetime().columnType('timestamptz'),
    usedAt: p.datetime().columnType('timestamptz').nullable(),
  },
  // Codes per user and application, and the retention sweep (src/services/write-bounds.ts).
  indexes: [
    { name: 'oauth_authorization_codes_user_client_idx', properties: ['user', 'client'] },
    { name: 'oauth_authorization_codes_expires_at_idx', properties: ['expiresAt'] },
  ],
});

/** Spec §14.9: access grants. Only a SHA-256 of the token is stored. */
export const AccessToken = defineEntity({
  name: 'AccessToken',
  tableName: 'oauth_access_tokens',
  properties: {
    id: p.integer().primary().autoincrement(),
    tokenHash: p.string().columnType('char(64)').unique('oauth_access_tokens_token_hash_unique'),
    client: p.manyToOne(OAuthClient).deleteRule('cascade'),
    user: p.manyToOne(User).deleteRule('cascade'),
    scopes: p.type(TextArrayType).columnType('text[]').default('{}'),
    authorizationCode: p.manyToOne(AuthorizationCode).deleteRule('set null').nullable(),
    /** The `jti` of a JWT access token; null for opaque tokens. */
    jti: p.string().length(64).nullable().unique('oauth_access_tokens_jti_unique'),
    createdAt: p.datetime().columnType('timestamptz'),
    revokedAt: p.datetime().columnType('timestamptz').nullable(),
  },
  indexes: [{ name: 'oauth_access_tokens_user_client_idx', properties: ['user', 'client'] }],
});

export type OAuthClientEntity = InferEntity<typeof OAuthClient>;
export type AccessTokenEntity = InferEntity<typeof AccessToken>;
