import type { RestRoute } from '../route.js';
import { referenceRoutes } from './reference.js';
import { userRoutes } from './users.js';
import { thingRoutes } from './things.js';
import { listRoutes } from './lists.js';
import { activityRoutes } from './activities.js';
import { thingWriteRoutes } from './thing-writes.js';
import { flattrWriteRoutes } from './flattr-writes.js';
import { subscriptionRoutes } from './subscriptions.js';
import { rateLimitRoutes } from './rate-limit.js';
import { searchRoutes } from './search.js';

/**
 * Every REST v2 route. Order is precedence: literal segments (`/things/lookup`, `/things/search`) must come
 * before `/things/:id` when they arrive.
 */
export const routes: RestRoute[] = [
  ...referenceRoutes,
  ...rateLimitRoutes,
  ...userRoutes,
  ...listRoutes,
  ...activityRoutes,
  ...subscriptionRoutes,
  ...flattrWriteRoutes,
  ...searchRoutes,
  ...thingRoutes,
  ...thingWriteRoutes,
];
