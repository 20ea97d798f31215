import { Router } from '@koa/router';
import type { AppDeps } from '../server/app-deps.js';
import { getAuthorize, postAuthorize } from './authorize.js';
import { revokeEndpoint, tokenEndpoint } from './token.js';
import { jwksEndpoint, metadataEndpoint } from './metadata.js';

/**
 * OAuth 2 endpoints (spec §14): /oauth/authorize, /oauth/token, /oauth/revoke, /.well-known/*.
 * The router is not strict, so every path also matches with one trailing slash (D3).
 *
 * Where each rule lives:
 *   authorization-request.ts  §14.2 checks and their order (shared by GET and POST), scope parsing (D84), PKCE parameters
 *   redirect-uri.ts           §14.4 matching (D86) and building redirects (query or fragment)
 *   authorize.ts              §14.2 step 4 and §14.3 (D85): consent page, login, codes, the implicit grant
 *   consent-page.ts           the login-and-consent HTML
 *   token.ts                  §14.5 token endpoint (D87–D91), D63 revocation
 *   client-auth.ts            client authentication (Basic or body, D87, D89)
 *   http.ts                   parameters and bodies (§4.2), error bodies, no-store and CORS headers
 *   metadata.ts               RFC 8414 metadata and the JWKS
 */
export function createOAuthRouter(deps: AppDeps): Router {
  const router = new Router();
  router.get('/oauth/authorize', (ctx) => getAuthorize(ctx, deps));
  router.post('/oauth/authorize', (ctx) => postAuthorize(ctx, deps));
  // Every method: non-POST is answered by the endpoint itself (D88), OPTIONS with the preflight.
  router.all('/oauth/token', (ctx) => tokenEndpoint(ctx, deps));
  router.all('/oauth/revoke', (ctx) => revokeEndpoint(ctx, deps));
  router.get('/.well-known/oauth-authorization-server', (ctx) => metadataEndpoint(ctx, deps));
  router.get('/.well-known/jwks.json', (ctx) => jwksEndpoint(ctx, deps));
  return router;
}
