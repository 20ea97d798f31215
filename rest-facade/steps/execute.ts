import type { GraphQLError } from 'graphql';
import type { GraphQLContext } from '../../schema/context.js';
import type { RestObservation } from '../../src/http/observation.js';
import { insufficientScope, missingToken } from '../access-token.js';
import { RestError, isErrorCode } from '../errors.js';
import type { CompiledOperations } from '../operations.js';
import type { OperationData, OperationName, OperationRoute } from '../route.js';
import type { OperationCall } from './parse.js';

/**
 * A GraphQL error of an operation as the REST answer (schema/error-codes.ts → the v2 catalogue). The schema enforces
 * scopes too (scope-auth): UNAUTHENTICATED is 401 unauthorized, FORBIDDEN with `requiredScope` 403 insufficient_scope
 * (spec §3). `reason` carries the domain code where GraphQL folds several into one (BAD_USER_INPUT is `validation`
 * or `invalid_parameters`); without one, BAD_USER_INPUT is invalid_parameters, FORBIDDEN forbidden and NOT_FOUND
 * not_found, each with the error's message, or for a BAD_USER_INPUT on an argument the route words itself
 * (`argumentErrors`), with the route's description. Anything else is a fault of the server.
 */
export function restErrorOf(error: GraphQLError, route?: Pick<OperationRoute, 'argumentErrors'>): unknown {
  const extensions = error.extensions ?? {};
  const code = extensions.code;
  if (code === 'UNAUTHENTICATED') return missingToken();
  if (code === 'FORBIDDEN' && extensions.requiredScope !== undefined) return insufficientScope(String(extensions.requiredScope));
  const argument = typeof extensions.argument === 'string' ? extensions.argument : null;
  const routeDescription = code === 'BAD_USER_INPUT' && argument !== null && route?.argumentErrors && Object.hasOwn(route.argumentErrors, argument)
    ? route.argumentErrors[argument]
    : undefined;
  const description = routeDescription ?? error.message;
  const reason = typeof extensions.reason === 'string' ? extensions.reason.toLowerCase() : null;
  if (reason !== null && isErrorCode(reason)) return new RestError(reason, description);
  if (code === 'BAD_USER_INPUT') return new RestError('invalid_parameters', description);
  if (code === 'FORBIDDEN') return new RestError('forbidden', error.message);
  if (code === 'NOT_FOUND') return new RestError('not_found', error.message);
  return error.originalError ?? error;
}

/**
 * Step "execute" (spec §6.5 step 12): runs the route's operation in-process, with the same context as /graphql,
 * and reports it on the observation. The first GraphQL error is thrown as the REST answer (`restErrorOf`). Without
 * errors, `data` is the result of the route's operation, typed by rest-facade/operation-types.ts (generated from the
 * same operation documents, validated against the served schema at start-up).
 */
export async function execute<Op extends OperationName>(
  operations: Pick<CompiledOperations, 'execute'>,
  route: Pick<OperationRoute<Op>, 'argumentErrors'>,
  call: OperationCall,
  context: GraphQLContext,
  observation?: Pick<RestObservation, 'operation'>,
): Promise<OperationData<Op>> {
  const started = performance.now();
  const result = await operations.execute(call.name, call.variables, context);
  if (observation) observation.operation = { name: call.name, ms: performance.now() - started, ok: !result.errors?.length };
  if (result.errors?.length) throw restErrorOf(result.errors[0]!, route);
  return result.data as OperationData<Op>;
}
