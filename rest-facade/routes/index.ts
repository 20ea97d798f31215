import type { RestRoute } from '../route.js';
import { referenceRoutes } from './reference.js';
import { userRoutes } from './users.js';
import { thingRoutes } from './things.js';
import { listRoutes } from './lists.js';
import { activityRoutes } from './activities.js';

/**
 * Every REST v2 route. Order is precedence: literal segments (`/things/lookup`, `/things/search`) must come
 * before `/things/:id` when they arrive.
 */
export const routes: RestRoute[] = [...referenceRoutes, ...userRoutes, ...listRoutes, ...activityRoutes, ...thingRoutes];
