import { Router } from '@koa/router';
import type { AppDeps } from '../server/app-deps.js';
import { registerAccountRoutes } from './accounts.js';
import { registerAppRoutes } from './apps.js';
import { registerConnectedApplicationRoutes } from './connected.js';
import { registerSubmitAutoRoutes } from './submit-auto.js';
import { registerDashboardRoutes } from './dashboard.js';
import { registerPublicPages } from './public-pages.js';

/** Website pages: signup, login, logout, /apps, /settings/applications, /submit/auto, and the
 * profile and thing pages the API's `link` fields point at. */
export function createWebRouter(deps: AppDeps): Router {
  const router = new Router();
  registerAccountRoutes(router, deps);
  registerAppRoutes(router, deps);
  registerConnectedApplicationRoutes(router, deps);
  registerSubmitAutoRoutes(router, deps);
  registerDashboardRoutes(router, deps);
  registerPublicPages(router, deps);
  return router;
}
