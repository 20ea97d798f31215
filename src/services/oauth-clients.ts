import { timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AccessToken, OAuthClient, User, type OAuthClientEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError } from './domain-error.js';
import { generateCredential, revokeTokens, sha256Hex, SCOPES, type Scope } from './tokens.js';
import { ADVISORY_LOCK, APP_DESCRIPTION_MAX, APP_NAME_MAX, APPS_PER_OWNER, CALLBACK_URL_MAX, CALLBACK_URLS_PER_APP } from './write-bounds.js';

/** The application type the services hand out (website and OAuth code name it from here, not from src/entities). */
export type { OAuthClientEntity } from '../entities/index.js';

export type TokenFormat = 'opaque' | 'jwt';

export interface NewClient {
  ownerId: number | null;
  name: string;
  description?: string;
  callbackUrls: string[];
  tokenFormat?: TokenFormat;
  /** Seeded credentials (spec §14.7 accepts any registered string); generated when absent. */
  clientId?: string;
  clientSecret?: string;
}

/**
 * Spec §14.1: a list of one or more absolute URIs without fragments; custom schemes are allowed
 * (`gpodder://flattr-token/`), but not schemes a browser would run as code.
 */
export function validateCallbackUrls(urls: string[]): string[] {
  const cleaned = [...new Set(urls.map((u) => u.trim()).filter((u) => u !== ''))];
  if (cleaned.length === 0) throw new DomainError('validation', 'At least one callback URL is required');
  // Issue 14: each registered URI is compared on every authorization request, and shown on the app's page.
  if (cleaned.length > CALLBACK_URLS_PER_APP) throw new DomainError('validation', `An application may have at most ${CALLBACK_URLS_PER_APP} callback URLs`);
  for (const url of cleaned) {
    if (url.length > CALLBACK_URL_MAX) throw new DomainError('validation', `A callback URL may be at most ${CALLBACK_URL_MAX} characters`);
    // PostgreSQL text cannot hold U+0000 (the insert failed with a 500).
    if (url.includes('\u0000')) throw new DomainError('validation', 'Invalid callback URL');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new DomainError('validation', `Invalid callback URL: ${url}`);
    }
    if (url.includes('#')) throw new DomainError('validation', `A callback URL may not have a fragment: ${url}`);
    if (['javascript:', 'data:', 'vbscript:', 'file:'].includes(parsed.protocol)) {
      throw new DomainError('validation', `Callback URL scheme not allowed: ${url}`);
    }
    if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && !parsed.hostname) {
      throw new DomainError('validation', `Invalid callback URL: ${url}`);
    }
  }
  return cleaned;
}

export async function createClient(em: EntityManager, clock: Clock, input: NewClient): Promise<{ client: OAuthClientEntity; clientSecret: string }> {
  const name = input.name.trim();
  const description = (input.description ?? '').trim();
  if (name === '' || name.length > APP_NAME_MAX) throw new DomainError('validation', `The application needs a name of at most ${APP_NAME_MAX} characters`);
  if (name.includes('\u0000') || description.includes('\u0000')) throw new DomainError('validation', 'The name and description may not contain NUL characters');
  if (description.length > APP_DESCRIPTION_MAX) throw new DomainError('validation', `The description may be at most ${APP_DESCRIPTION_MAX} characters`);
  const callbackUrls = validateCallbackUrls(input.callbackUrls);
  const clientId = input.clientId ?? generateCredential();
  const clientSecret = input.clientSecret ?? generateCredential();
  // Applications per owner (issue 14): counted under a per-owner lock, so concurrent registrations cannot pass it.
  return em.transactional(async (tx) => {
    if (input.ownerId !== null) {
      await tx.execute('select pg_advisory_xact_lock(?, ?)', [ADVISORY_LOCK.appsOfOwner, input.ownerId]);
      if ((await tx.count(OAuthClient, { owner: input.ownerId })) >= APPS_PER_OWNER) {
        throw new DomainError('validation', `At most ${APPS_PER_OWNER} applications per user: delete one to register another`);
      }
    }
    if (await tx.count(OAuthClient, { clientId })) throw new DomainError('validation', 'That client_id is already registered');
    const client = tx.create(OAuthClient, {
      clientId,
      clientSecretHash: sha256Hex(clientSecret),
      name,
      description,
      callbackUrls,
      owner: input.ownerId === null ? null : tx.getReference(User, input.ownerId),
      tokenFormat: input.tokenFormat ?? 'opaque',
      createdAt: clock.now(),
    });
    await tx.flush();
    return { client, clientSecret };
  });
}

/** The length of the `client_id` column: no registered id is longer. */
const CLIENT_ID_MAX = 255;

export async function findClient(em: EntityManager, clientId: string): Promise<OAuthClientEntity | null> {
  // No registered client_id holds U+0000 (PostgreSQL refuses the character in a query parameter: a 500) or is longer
  // than its column; checking the length first keeps a megabyte of client_id away from the ORM, which takes about
  // 0.6 µs per character of a parameter.
  if (clientId.length > CLIENT_ID_MAX || clientId.includes('\u0000')) return null;
  return em.findOne(OAuthClient, { clientId });
}

/** Constant-time check of a presented secret against the stored hash. */
export function clientSecretMatches(client: OAuthClientEntity, presented: string): boolean {
  const expected = Buffer.from(client.clientSecretHash, 'hex');
  const actual = Buffer.from(sha256Hex(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Who registered the application (the consent page shows it), or null for one registered without an owner. */
export async function applicationOwner(em: EntityManager, client: OAuthClientEntity): Promise<{ username: string } | null> {
  await em.populate(client, ['owner']);
  return client.owner ? { username: client.owner.username } : null;
}

/** A new secret, shown once; the old one stops working at once. */
export async function rotateClientSecret(em: EntityManager, client: OAuthClientEntity): Promise<string> {
  const clientSecret = generateCredential();
  client.clientSecretHash = sha256Hex(clientSecret);
  await em.flush();
  return clientSecret;
}

/** Deleting an application revokes its tokens (spec §14.9): they are deleted with it. */
export async function deleteClient(em: EntityManager, client: OAuthClientEntity): Promise<void> {
  await em.nativeDelete(OAuthClient, { id: client.id });
}

/** The user withdraws an application's access: every token of that user and application is revoked. */
export async function revokeApplicationAccess(em: EntityManager, clock: Clock, userId: number, clientId: number): Promise<number> {
  return revokeTokens(em, clock, { userId, clientId });
}

/** The applications a user registered, oldest first. */
export function listOwnedClients(em: EntityManager, ownerId: number): Promise<OAuthClientEntity[]> {
  return em.find(OAuthClient, { owner: ownerId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

/** The application `clientId` if `ownerId` owns it; null otherwise (unknown and foreign look the same). */
export async function findOwnedClient(em: EntityManager, ownerId: number, clientId: string): Promise<OAuthClientEntity | null> {
  if (clientId.length > CLIENT_ID_MAX || clientId.includes('\u0000')) return null;
  return em.findOne(OAuthClient, { clientId, owner: ownerId });
}

export interface AuthorizedApplication {
  client: OAuthClientEntity;
  /** Every scope granted by the user's live tokens for this application, in spec order. */
  scopes: Scope[];
  firstGrantedAt: Date;
  lastGrantedAt: Date;
  /** How many live (not revoked) tokens the user holds for it. */
  tokenCount: number;
}

/** The applications a user has granted access to: distinct clients with at least one non-revoked token. */
export async function listAuthorizedApplications(em: EntityManager, userId: number): Promise<AuthorizedApplication[]> {
  const tokens = await em.find(AccessToken, { user: userId, revokedAt: null }, { populate: ['client'], orderBy: { createdAt: 'asc', id: 'asc' } });
  const byClient = new Map<number, AuthorizedApplication & { scopeSet: Set<string> }>();
  for (const token of tokens) {
    const client = token.client as OAuthClientEntity;
    let entry = byClient.get(client.id);
    if (!entry) {
      entry = { client, scopes: [], firstGrantedAt: token.createdAt, lastGrantedAt: token.createdAt, tokenCount: 0, scopeSet: new Set() };
      byClient.set(client.id, entry);
    }
    entry.tokenCount++;
    if (token.createdAt < entry.firstGrantedAt) entry.firstGrantedAt = token.createdAt;
    if (token.createdAt > entry.lastGrantedAt) entry.lastGrantedAt = token.createdAt;
    for (const scope of token.scopes) entry.scopeSet.add(scope);
  }
  return [...byClient.values()]
    .map(({ scopeSet, ...entry }) => ({ ...entry, scopes: SCOPES.filter((s) => scopeSet.has(s)) }))
    .sort((a, b) => a.client.name.localeCompare(b.client.name) || a.client.id - b.client.id);
}
