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
 * Auth failures carry the spec's codes (§6.2), so GraphQL clients can branch on them and the REST facade
 * can map them to 401 unauthorized / 403 insufficient_scope with the right WWW-Authenticate header.
 */
function unauthorizedError(failure: AuthFailure, hasViewer: boolean): GraphQLError {
  const scopeFailure = firstScopeFailure(failure);
  if (!hasViewer) {
    return new GraphQLError('You are unauthorized to access the resource', { extensions: { code: 'unauthorized' } });
  }
  if (scopeFailure?.scope === 'scope') {
    return new GraphQLError("You don't have sufficient access rights to access this resource", {
      extensions: { code: 'insufficient_scope', scope: String(scopeFailure.parameter) },
    });
  }
  return new GraphQLError('You are not allowed to access this resource', { extensions: { code: 'forbidden' } });
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: AuthScopes;
  Scalars: { DateTime: { Input: Date; Output: Date } };
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
    unauthorizedError: (_parent, ctx, _info, result) => unauthorizedError(result.failure, ctx.viewer !== null),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
});

builder.queryType({});

/**
 * Nullable fields that are null for callers who may not see them (`authScopes` plus this): scope-auth builds its
 * error before calling `unauthorizedResolver`, which ignores it, so a shared one is handed over instead of a new
 * GraphQLError (with its stack trace) per field and item — 4 per thing of an anonymous list with full owners.
 */
const NOT_SHOWN = new GraphQLError('Not visible to this caller');
export const nullWhenUnauthorized = { unauthorizedError: () => NOT_SHOWN, unauthorizedResolver: () => null };
