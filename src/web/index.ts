import { Router } from '@koa/router';
import type { AppDeps } from '../server/app.js';
import { registerAccountRoutes } from './accounts.js';
import { registerAppRoutes } from './apps.js';
import { registerConnectedApplicationRoutes } from './connected.js';
import { registerSubmitAutoRoutes } from './submit-auto.js';

/** Website pages: signup, login, logout, /apps, /settings/applications, /submit/auto. */
export function createWebRouter(deps: AppDeps): Router {
  const router = new Router();
  registerAccountRoutes(router, deps);
  registerAppRoutes(router, deps);
  registerConnectedApplicationRoutes(router, deps);
  registerSubmitAutoRoutes(router, deps);
  return router;
}
