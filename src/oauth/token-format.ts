import type { AppConfig } from '../config/config.js';
import type { OAuthClientEntity } from '../services/oauth-clients.js';
import type { JwtAccessTokenOptions } from '../services/tokens.js';

/**
 * The token format is the application's choice (`oauth_clients.token_format`): the 40-hex opaque tokens
 * v2 clients know (the default), or RFC 9068 JWTs with iss = SITE_URL (this authorization server) and
 * aud = API_URL (the REST API that accepts them). undefined means opaque.
 */
export function jwtOptionsFor(client: OAuthClientEntity, config: AppConfig): JwtAccessTokenOptions | undefined {
  if (client.tokenFormat !== 'jwt') return undefined;
  return { issuer: config.siteUrl, audience: config.apiUrl, clientId: client.clientId };
}
