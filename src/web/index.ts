import { Router } from '@koa/router';
import type { AppDeps } from '../server/app.js';

/** Website pages: signup, login, logout, /apps, /settings/applications. */
export function createWebRouter(_deps: AppDeps): Router {
  const router = new Router();
  return router;
}
