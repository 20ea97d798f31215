import SchemaBuilder from '@pothos/core';
import { GraphQLError } from 'graphql';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import RelayPlugin from '@pothos/plugin-relay';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import type { GraphQLContext } from './context.js';
import type { Scope } from '../src/services/tokens.js';

export interface AuthScopes {
  /** Any valid access token, even one without scopes (spec §3.4). */
  authenticated: boolean;
  /** The token carries this OAuth scope. */
  scope: Scope;
}

/** The first plain scope check that failed, looking inside $any/$all groups. */
function firstScopeFailure(failure: AuthFailure): { scope: string; parameter: unknown } | null {
  if (failure.kind === AuthScopeFailureType.AuthScope) return { scope: failure.scope, parameter: failure.parameter };
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const inner of failure.failures) {
      const found = firstScopeFailure(inner);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Auth failures carry the codes of schema/error-codes.ts: no token → UNAUTHENTICATED; a token without the scope →
 * FORBIDDEN with `requiredScope`; any other refusal → FORBIDDEN. The REST facade maps them back to its
 * 401 unauthorized / 403 insufficient_scope / 403 forbidden answers (rest-facade/pipeline.ts).
 */
function unauthorizedError(failure: AuthFailure, hasViewer: boolean): GraphQLError {
  const scopeFailure = firstScopeFailure(failure);
  if (!hasViewer) {
    return new GraphQLError('You are unauthorized to access the resource', { extensions: { code: 'UNAUTHENTICATED' } });
  }
  if (scopeFailure?.scope === 'scope') {
    return new GraphQLError("You don't have sufficient access rights to access this resource", {
      extensions: { code: 'FORBIDDEN', requiredScope: String(scopeFailure.parameter) },
    });
  }
  return new GraphQLError('You are not allowed to access this resource', { extensions: { code: 'FORBIDDEN' } });
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: AuthScopes;
  Scalars: { DateTime: { Input: Date; Output: Date } };
  /** Every connection carries a lazily counted totalCount (schema/connections.ts). */
  Connection: { totalCount: () => Promise<number> | number };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      authenticated: ctx.viewer !== null,
      scope: (scope) => ctx.viewer?.scopes.has(scope) ?? false,
    }),
    treatErrorsAsUnauthorized: true,
    // Subscriptions (schema/types/live.ts): scopes are checked when one starts, and again for every event.
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, _info, result) => unauthorizedError(result.failure, ctx.viewer !== null),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // node/nodes are schema/node.ts's own fields: they answer null for a missing object, a coded error for a
    // malformed id, and apply each type's visibility rules.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    nodesOnConnection: { description: 'The nodes of the edges, in the same order (a shortcut for edges { node }).' },
    nodeTypeOptions: { description: 'An object with a global id, which `node(id:)` and `nodes(ids:)` resolve.' },
    idFieldOptions: { description: 'The global id of this object: opaque, stable, accepted by `node(id:)` and by every argument of type ID.' },
    pageInfoTypeOptions: { description: 'Where a page of a connection sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'More items follow the last edge of this page.' },
    hasPreviousPageFieldOptions: { description: 'More items come before the first edge of this page.' },
    startCursorFieldOptions: { description: 'The cursor of the first edge; null when the page is empty.' },
    endCursorFieldOptions: { description: 'The cursor of the last edge; null when the page is empty.' },
    cursorFieldOptions: { description: 'An opaque cursor for this edge: pass it as `after` or `before`.' },
    nodeFieldOptions: { description: 'The item at the end of this edge.' },
    edgesFieldOptions: { description: 'The items of this page, each with its cursor.' },
    pageInfoFieldOptions: { description: 'Cursors and whether more items exist before or after this page.' },
    firstArgOptions: { description: 'Return at most this many items from the start (after `after`): 0 to the page-size cap.' },
    lastArgOptions: { description: 'Return at most this many items from the end (before `before`): 0 to the page-size cap.' },
    afterArgOptions: { description: 'Only items after this cursor (from an edge or pageInfo.endCursor).' },
    beforeArgOptions: { description: 'Only items before this cursor (from an edge or pageInfo.startCursor).' },
    defaultConnectionTypeOptions: { description: 'A page of a list, with cursors for the pages around it.' },
    defaultEdgeTypeOptions: { description: 'One item of a connection with its cursor.' },
  },
});

// Every connection says how long the whole list is (counted only when selected).
builder.globalConnectionField('totalCount', (t) =>
  t.int({ description: 'How many items the whole list holds, over all pages.', resolve: (connection) => connection.totalCount() }),
);

builder.queryType({ description: 'Reads. Every field is safe to repeat and changes nothing.' });

/**
 * Nullable fields that are null for callers who may not see them (`authScopes` plus this): scope-auth builds its
 * error before calling `unauthorizedResolver`, which ignores it, so a shared one is handed over instead of a new
 * GraphQLError (with its stack trace) per field and item — 4 per thing of an anonymous list with full owners.
 */
const NOT_SHOWN = new GraphQLError('Not visible to this caller');
export const nullWhenUnauthorized = { unauthorizedError: () => NOT_SHOWN, unauthorizedResolver: () => null };
