import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AccessToken, OAuthClient, User, type UserEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';

/** Spec §3.4 scopes, in the order responses list them (D91), plus `stats`. */
export const SCOPES = ['flattr', 'thing', 'email', 'extendedread', 'stats'] as const;
export type Scope = (typeof SCOPES)[number];
/** What /oauth/authorize may grant. `stats` (internal dashboards) is only ever given by the admin CLI. */
export const GRANTABLE_SCOPES: readonly Scope[] = ['flattr', 'thing', 'email', 'extendedread'];

/** Tokens and codes are stored only as SHA-256 hex digests. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Spec §14.9: 40 lower-case hex characters from a CSPRNG. */
export function generateAccessToken(): string {
  return randomBytes(20).toString('hex');
}

/** Spec §14.1: 64 characters from [A-Za-z0-9]. */
export function generateCredential(length = 64): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // Rejection sampling keeps every character equally likely.
      if (byte < 248 && out.length < length) out += alphabet[byte % 62];
    }
  }
  return out;
}

export interface Viewer {
  user: UserEntity;
  scopes: ReadonlySet<Scope>;
  tokenId: number;
  clientId: string;
}

/** Spec §3.2: a token is valid when it exists, is not revoked, and its user and enabled application exist. */
export async function resolveAccessToken(em: EntityManager, token: string): Promise<Viewer | null> {
  const grant = await em.findOne(
    AccessToken,
    { tokenHash: sha256Hex(token), revokedAt: null, client: { enabled: true } },
    { populate: ['user', 'client'] },
  );
  if (!grant) return null;
  return {
    user: grant.user as UserEntity,
    scopes: new Set(grant.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s))),
    tokenId: grant.id,
    clientId: grant.client.clientId,
  };
}

/** Issues a token for a user and client (used by the OAuth flows and by the admin CLI). Returns the clear token once. */
export async function issueAccessToken(
  em: EntityManager,
  clock: Clock,
  input: { userId: number; clientId: number; scopes: Scope[] },
): Promise<string> {
  const token = generateAccessToken();
  em.create(AccessToken, {
    tokenHash: sha256Hex(token),
    user: em.getReference(User, input.userId),
    client: em.getReference(OAuthClient, input.clientId),
    scopes: SCOPES.filter((s) => input.scopes.includes(s)),
    createdAt: clock.now(),
  });
  await em.flush();
  return token;
}
