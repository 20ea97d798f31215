import { Router } from '@koa/router';
import type { AppDeps } from '../server/app.js';

/** OAuth 2 endpoints (spec §14): /oauth/authorize, /oauth/token, /oauth/revoke, /.well-known/*. */
export function createOAuthRouter(_deps: AppDeps): Router {
  const router = new Router();
  return router;
}
