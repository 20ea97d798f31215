import { GraphQLError } from 'graphql';
import type { GraphQLErrorCode } from './error-codes.js';
import { DomainError, type DomainErrorCode } from '../src/services/domain-error.js';

/**
 * Errors thrown by resolvers, each with an `extensions.code` of schema/error-codes.ts. `reason` keeps the domain's
 * finer code (UPPER_SNAKE, the values of MutationErrorCode) so that the REST facade can answer a v2 code that
 * GraphQL folds into BAD_USER_INPUT (`validation` and `invalid_parameters` both are).
 */

export function codedError(code: GraphQLErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

/** An argument value the operation cannot use; `argument` names it (the top-level argument). */
export function badUserInput(message: string, argument: string | null, extensions: Record<string, unknown> = {}): GraphQLError {
  return codedError('BAD_USER_INPUT', message, { ...(argument === null ? {} : { argument }), ...extensions });
}

/** The GraphQL error code a domain refusal becomes when it is raised as an error rather than returned as data. */
const CODE_OF_DOMAIN: Record<DomainErrorCode, GraphQLErrorCode> = {
  not_found: 'NOT_FOUND',
  validation: 'BAD_USER_INPUT',
  invalid_parameters: 'BAD_USER_INPUT',
  forbidden: 'FORBIDDEN',
  flattr_once: 'FORBIDDEN',
  flattr_owner: 'FORBIDDEN',
  thing_owner: 'FORBIDDEN',
  subscribed: 'FORBIDDEN',
  no_means: 'FORBIDDEN',
};

/** A DomainError of a query field as a coded GraphQL error, naming the argument it is about. */
export function domainGraphQLError(error: DomainError, argument: string | null): GraphQLError {
  const code = CODE_OF_DOMAIN[error.code];
  return codedError(code, error.message, {
    reason: error.code.toUpperCase(),
    ...(argument !== null && code === 'BAD_USER_INPUT' ? { argument } : {}),
  });
}
