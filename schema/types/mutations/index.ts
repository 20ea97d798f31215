import { builder } from '../../builder.js';
import './errors.js';
import './things.js';
import './flattrs.js';
import './subscriptions.js';

// The write side (spec E8-E10, E15-E16, E18-E20). Domain refusals are the MutationError member of each
// result union; missing tokens and scopes are scope-auth errors (extensions.code unauthorized /
// insufficient_scope), as for every other guarded field.
builder.mutationType({});
