import type { EntityManager } from '@mikro-orm/postgresql';
import type { OAuthClientEntity } from '../services/oauth-clients.js';
import { clientSecretMatches, findClient } from '../services/oauth-clients.js';
import { sha256Hex } from '../services/tokens.js';
import { OAuthError, invalidClient, nonEmpty, type Params } from './http.js';

/**
 * Client authentication at the token and revocation endpoints (spec §14.5 steps 3–4, D87, D89):
 * HTTP Basic or `client_id` + `client_secret` in the body.
 */

interface Credentials {
  /** The id and secret as sent, and (Basic only) form-decoded, RFC 6749 §2.3.1. */
  ids: string[];
  secrets: string[];
}

type BasicResult = Credentials | 'malformed' | null;

/**
 * RFC 6749 §2.3.1 says the id and secret are form-urlencoded before Basic encoding; most clients do not do
 * that (the documented `Aladdin:open sesame` has a raw space). Both readings are tried, which is the same
 * for every [A-Za-z0-9] credential.
 */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

function basicCredentials(header: string): BasicResult {
  // Trimmed first: `^\s*basic(?:\s+(\S*))?\s*$` on the raw header let `\s+` and the trailing `\s*` share a run of
  // whitespace, which backtracked quadratically (a 16 KB header of tabs held the event loop; issue 14).
  // String.prototype.trim removes exactly the characters `\s` matches.
  const match = /^basic(?:\s+(\S*))?$/i.exec(header.trim());
  if (!match) return null; // another scheme (Bearer, ...): no Basic credentials
  const encoded = match[1] ?? '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return 'malformed';
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'malformed';
  const id = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  return { ids: [...new Set([id, formDecode(id)])], secrets: [...new Set([secret, formDecode(secret)])] };
}

/** The client_id a request presents (Basic first, then the body), for counting failed authentications; null when none. */
export function presentedClientId(authorization: string, params: Params): string | null {
  const basic = basicCredentials(authorization);
  if (basic !== null && basic !== 'malformed') return basic.ids[0] ?? null;
  return nonEmpty(params, 'client_id') ?? (basic === 'malformed' ? '' : null);
}

// Compared against when the client is unknown, so an unknown id costs the same hash-and-compare as a known one.
const NO_CLIENT = { clientSecretHash: sha256Hex('no client has this secret') } as OAuthClientEntity;

export async function authenticateClient(em: EntityManager, authorization: string, params: Params): Promise<OAuthClientEntity | OAuthError> {
  const basic = basicCredentials(authorization);
  const bodyId = nonEmpty(params, 'client_id');
  const bodySecret = nonEmpty(params, 'client_secret');

  if (basic !== null && basic !== 'malformed') {
    // D87: both forms at once are fine when they agree; different ids are refused before any lookup. A body
    // secret that differs from the Basic one is the same kind of contradiction.
    if (bodyId !== null && !basic.ids.includes(bodyId)) {
      return new OAuthError('invalid_request', 'The client_id in the body differs from the one in the Authorization header');
    }
    if (bodySecret !== null && !basic.secrets.includes(bodySecret)) {
      return new OAuthError('invalid_request', 'The client_secret in the body differs from the one in the Authorization header');
    }
  }

  let credentials: Credentials;
  if (basic === 'malformed') return invalidClient('Client authentication failed');
  if (basic !== null) credentials = basic;
  else if (bodyId !== null || bodySecret !== null) credentials = { ids: bodyId === null ? [] : [bodyId], secrets: bodySecret === null ? [] : [bodySecret] };
  else return invalidClient('Client authentication required');

  let client: OAuthClientEntity | null = null;
  for (const id of credentials.ids) {
    client = await findClient(em, id);
    if (client) break;
  }
  let matches = false;
  for (const secret of credentials.secrets) {
    // Constant-time comparison of SHA-256 digests (clientSecretMatches); every candidate is checked.
    if (clientSecretMatches(client ?? NO_CLIENT, secret)) matches = true;
  }
  if (!client || !matches) return invalidClient('Client authentication failed');
  if (!client.enabled) return new OAuthError('unauthorized_client', 'The application is disabled');
  return client;
}
