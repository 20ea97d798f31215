import { builder } from '../../builder.js';
import './errors.js';
import './things.js';
import './flattrs.js';
import './subscriptions.js';

// The write side. Domain refusals are the MutationError member of each result union; missing tokens and scopes
// are scope-auth errors (extensions.code UNAUTHENTICATED / FORBIDDEN with requiredScope), as for every other
// guarded field, and a malformed id argument is BAD_USER_INPUT.
builder.mutationType({ description: 'Writes. Each returns its success type or a MutationError saying why nothing was changed.' });
