import { builder } from './builder.js';
import './scalars.js';
import './types/reference.js';
import './types/user.js';
import './types/thing.js';
import './types/flattr.js';
import './types/subscription.js';
import './types/listings.js';
import './types/activity.js';
import './types/subscriptions.js';
import './types/mutations/index.js';
import './types/thing-input-problem.js';
import './types/search.js';

export type { GraphQLContext } from './context.js';
export const schema = builder.toSchema({ sortSchema: false });
