import { builder } from './builder.js';
import { guardStringArguments } from './input-guard.js';
import './scalars.js';
import './node.js';
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
import './types/stats.js';
import './types/live.js';

export type { GraphQLContext } from './context.js';
// guardStringArguments: string arguments holding U+0000 are BAD_USER_INPUT (schema/input-guard.ts).
export const schema = guardStringArguments(builder.toSchema({ sortSchema: false }));
