import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SignJWT } from 'jose';
import { AccessToken, AuthorizationCode, OAuthClient, User, type UserEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { accessTokenSigningKey } from './server-keys.js';
import { readRows, type ReadStatement } from './read-model/statement.js';
import { USER_COLUMNS, userRecordOf, type UserColumns, type UserRecord } from './read-model/rows.js';
import { TOKENS_PER_USER_AND_CLIENT } from './write-bounds.js';

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
  /** A plain record (read paths), not a managed entity: writes take `user.id`. */
  user: UserRecord;
  scopes: ReadonlySet<Scope>;
  tokenId: number;
  clientId: string;
}

/**
 * Spec §3.2: a token is valid when it exists, is not revoked, and its user and enabled application exist.
 *
 * Both token formats are looked up the same way: by the SHA-256 of the presented string, through the
 * unique index on `token_hash` (joined to the client for `enabled`). A JWT access token is never accepted
 * on its signature alone. Nothing is cached, so `revoked_at` and `oauth_clients.enabled` are read on every
 * request: a revocation (by the user, the application, code reuse, or disabling the application) is
 * effective for every request that starts after the revoking transaction commits. That is the whole bound:
 * zero seconds, no cache TTL. (Third parties that verify a JWT locally with the JWKS cannot see revocation,
 * and these JWTs have no `exp`; only this server's answer is authoritative.)
 */
export async function resolveAccessToken(em: EntityManager, token: string): Promise<Viewer | null> {
  const [row] = await readRows<TokenColumns>(em, TOKEN_VIEWER, [sha256Hex(token)]);
  if (!row) return null;
  return {
    user: userRecordOf(row),
    scopes: new Set(row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s))),
    tokenId: row.token_id,
    clientId: row.client_key,
  };
}

/**
 * The token, its enabled application and its user in one prepared statement (the unique index on token_hash, two
 * primary-key joins). Read on the primary: the lookup must see a revocation committed a moment ago.
 */
const TOKEN_VIEWER: ReadStatement = {
  name: 'read_token_viewer',
  text:
    `select a.id as token_id, a.scopes, c.client_id as client_key, ${USER_COLUMNS('u', 'u_')} ` +
    'from oauth_access_tokens a join oauth_clients c on c.id = a.client_id and c.enabled join users u on u.id = a.user_id ' +
    'where a.token_hash = $1 and a.revoked_at is null',
};

type TokenColumns = UserColumns & { token_id: number; scopes: string[]; client_key: string };

/**
 * Which tokens to revoke:
 * - `token`: the one token with this clear value (`clientId`: only if that application holds it; RFC 7009);
 * - `userId` + `clientId`: every token the user gave the application (the settings page);
 * - `authorizationCodeId`: every token issued from the code (code reuse, RFC 6749 §4.1.2).
 */
export type TokenSelection =
  | { token: string; clientId?: number }
  | { userId: number; clientId: number }
  | { authorizationCodeId: number };

/**
 * The one way tokens are revoked (by /oauth/revoke, the settings page, code reuse and `admin token revoke`):
 * `revoked_at` is set on the selected tokens not revoked yet, which keep their first revocation time. Effective for
 * every request that starts after it commits (see resolveAccessToken). Returns how many tokens were revoked.
 */
export async function revokeTokens(em: EntityManager, clock: Clock, which: TokenSelection): Promise<number> {
  return revokeSelected(em, clock.now(), which);
}

async function revokeSelected(em: EntityManager, at: Date, which: TokenSelection): Promise<number> {
  const where =
    'token' in which
      ? { tokenHash: sha256Hex(which.token), ...(which.clientId === undefined ? {} : { client: which.clientId }) }
      : 'userId' in which
        ? { user: which.userId, client: which.clientId }
        : { authorizationCode: which.authorizationCodeId };
  return em.nativeUpdate(AccessToken, { ...where, revokedAt: null }, { revokedAt: at });
}

/** What `admin token revoke` reports of the token it revoked (or found revoked already). */
export interface RevokedToken {
  clientId: string;
  username: string;
  revokedAt: Date;
}

/** Revokes the token with this clear value, whoever holds it; null when no token has it. */
export async function revokeTokenByValue(em: EntityManager, clock: Clock, token: string): Promise<RevokedToken | null> {
  const grant = await em.findOne(AccessToken, { tokenHash: sha256Hex(token) }, { populate: ['client', 'user'] });
  if (!grant) return null;
  let revokedAt = grant.revokedAt ?? null;
  if (!revokedAt) {
    revokedAt = clock.now();
    await revokeSelected(em, revokedAt, { token });
  }
  return { clientId: grant.client.clientId, username: (grant.user as UserEntity).username, revokedAt };
}

/** Scopes in the canonical order of D91 (`flattr thing email extendedread`), duplicates dropped. */
export function orderScopes(scopes: Iterable<string>): Scope[] {
  const wanted = new Set(scopes);
  return SCOPES.filter((s) => wanted.has(s));
}

export interface JwtAccessTokenOptions {
  /** `iss`: the authorization server, SITE_URL. */
  issuer: string;
  /** `aud`: the resource server, API_URL. */
  audience: string;
  /** `client_id` claim: the application's public client_id. */
  clientId: string;
}

export interface IssueTokenInput {
  userId: number;
  clientId: number;
  scopes: Scope[];
  /** The authorization code the token was exchanged for, so code reuse can revoke it (spec §14.5 step 6). */
  authorizationCodeId?: number | null;
  /** Issue an RFC 9068 JWT instead of a 40-hex opaque token (clients with `tokenFormat === 'jwt'`). */
  jwt?: JwtAccessTokenOptions;
}

/**
 * An RFC 9068 JWT access token: header `typ: at+jwt`, ES256, `kid`; claims iss, aud, sub (the user id),
 * client_id, scope, jti, iat. Deliberately no `exp` (RFC 9068 §2.2 asks for one): Flattr tokens never
 * expire (spec §14.9, D93), they stay valid until revoked, and revocation is checked on every request by
 * the token's hash (see resolveAccessToken), never by the signature.
 */
async function signJwtAccessToken(em: EntityManager, clock: Clock, input: IssueTokenInput, options: JwtAccessTokenOptions, jti: string, scopes: Scope[]) {
  const { kid, alg, key } = await accessTokenSigningKey(em, clock);
  return new SignJWT({ client_id: options.clientId, scope: scopes.join(' ') })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(String(input.userId))
    .setJti(jti)
    .setIssuedAt(Math.floor(clock.now().getTime() / 1000))
    .sign(key);
}

/**
 * Issues a token for a user and client (used by the OAuth flows and by the admin CLI). Returns the clear
 * token once; only its SHA-256 (and, for a JWT, its `jti`) is stored, so both formats resolve the same way.
 */
export async function issueAccessToken(em: EntityManager, clock: Clock, input: IssueTokenInput): Promise<string> {
  const scopes = orderScopes(input.scopes);
  const jti = input.jwt ? randomUUID() : null;
  const token = input.jwt ? await signJwtAccessToken(em, clock, input, input.jwt, jti!, scopes) : generateAccessToken();
  // Issue 14: at most TOKENS_PER_USER_AND_CLIENT tokens per user and application; the oldest beyond go (by the
  // (user, client) index). A deleted token answers exactly like a revoked one.
  await em.execute(
    `delete from oauth_access_tokens where id in
       (select id from oauth_access_tokens where user_id = ? and client_id = ? order by id desc offset ?)`,
    [input.userId, input.clientId, TOKENS_PER_USER_AND_CLIENT - 1],
  );
  em.create(AccessToken, {
    tokenHash: sha256Hex(token),
    user: em.getReference(User, input.userId),
    client: em.getReference(OAuthClient, input.clientId),
    scopes,
    authorizationCode: input.authorizationCodeId ? em.getReference(AuthorizationCode, input.authorizationCodeId) : null,
    jti,
    createdAt: clock.now(),
  });
  await em.flush();
  return token;
}
