import { Router } from '@koa/router';
import type { AppDeps } from '../server/app.js';
import { registerAccountRoutes } from './accounts.js';
import { registerAppRoutes } from './apps.js';
import { registerConnectedApplicationRoutes } from './connected.js';

/** Website pages: signup, login, logout, /apps, /settings/applications. */
export function createWebRouter(deps: AppDeps): Router {
  const router = new Router();
  registerAccountRoutes(router, deps);
  registerAppRoutes(router, deps);
  registerConnectedApplicationRoutes(router, deps);
  return router;
}
