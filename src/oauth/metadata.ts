import type { Context } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppDeps } from '../server/app-deps.js';
import type { AppConfig } from '../config/config.js';
import { GRANTABLE_SCOPES } from '../services/tokens.js';
import { accessTokenJwks } from '../services/server-keys.js';
import { sendJson } from './http.js';

/**
 * RFC 8414 authorization server metadata, served at `/.well-known/oauth-authorization-server`.
 * The issuer is SITE_URL (the OAuth endpoints live on the website, spec §1.2).
 *
 * Note on `implicit` / `token`: the implicit grant is deprecated (RFC 9700 §2.1.2, OAuth 2.1 drops it)
 * because the token travels in a URL fragment and cannot be sender-constrained. It is still advertised and
 * served because legacy Flattr v2 clients use it (spec §14.2, D83); new applications should use
 * `authorization_code` with PKCE (S256).
 */
export function authorizationServerMetadata(config: AppConfig) {
  const site = config.siteUrl;
  return {
    issuer: site,
    authorization_endpoint: `${site}/oauth/authorize`,
    token_endpoint: `${site}/oauth/token`,
    revocation_endpoint: `${site}/oauth/revoke`,
    jwks_uri: `${site}/.well-known/jwks.json`,
    scopes_supported: [...GRANTABLE_SCOPES],
    response_types_supported: ['code', 'token'],
    response_modes_supported: ['query', 'fragment'],
    grant_types_supported: ['authorization_code', 'implicit'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    service_documentation: `${config.docsUrl}/api/`,
  };
}

/** Public documents: any origin may read them, caches may keep them a little while. */
function setPublicHeaders(ctx: Context): void {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Cache-Control', 'public, max-age=300');
}

export function metadataEndpoint(ctx: Context, deps: AppDeps): void {
  setPublicHeaders(ctx);
  sendJson(ctx, 200, authorizationServerMetadata(deps.config));
}

/** The public keys that verify JWT access tokens (RFC 7517 JWK Set), generated on first use. */
export async function jwksEndpoint(ctx: Context, deps: AppDeps): Promise<void> {
  const jwks = await accessTokenJwks(deps.orm.em.fork() as EntityManager, deps.clock);
  setPublicHeaders(ctx);
  ctx.status = 200;
  ctx.type = 'application/jwk-set+json; charset=utf-8';
  ctx.body = JSON.stringify(jwks);
}
