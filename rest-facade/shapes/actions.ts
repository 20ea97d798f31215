import { RestError, isErrorCode } from '../errors.js';
import { miniThing, type GqlMiniThing } from './v2-objects.js';

/**
 * Action bodies (spec §8.11) and the `MutationError` member of the write operations' results. Pure reshaping:
 * which rule failed, and its message, were decided by the mutation.
 */

export interface GqlMutationError {
  __typename: 'MutationError';
  code: string;
  message: string;
}

/** A mutation's result: the success member (its `__typename` is the success type) or a MutationError. */
export type GqlMutationResult<Success> = GqlMutationError | ({ __typename: string } & Success);

/** The mini thing of the flattr and subscribe bodies: no `owner` (spec §8.4). */
export type GqlActionThing = Omit<GqlMiniThing, 'owner'>;

/**
 * A MutationError as the REST error of the same code; the status is the catalogue's (spec §6.2). GraphQL answers
 * the code as an UPPER_SNAKE enum value (`FLATTR_ONCE`); the v2 code is its lower-case form (`flattr_once`).
 */
export function mutationError(error: { code: string; message: string }): RestError {
  const code = error.code.toLowerCase();
  if (!isErrorCode(code)) throw new Error(`Mutation error code ${error.code} is not in the REST catalogue`);
  // D34: a 401 no_means carries the bare Bearer challenge.
  const headers: Record<string, string> | undefined = code === 'no_means' ? { 'WWW-Authenticate': 'Bearer realm="flattr"' } : undefined;
  return new RestError(code, error.message, { headers });
}

/** The success member, or the REST error of the MutationError (step 12 or 13 of §6.5). */
export function succeeded<Success>(result: GqlMutationResult<Success>): Success {
  if (result.__typename === 'MutationError') throw mutationError(result as GqlMutationError);
  return result as Success;
}

const actionThing = (t: GqlActionThing) => miniThing(t, false);

/** E8, 201 (§8.11). `link` is an API URL despite its name (§1.3). */
export const createBody = (t: { databaseId: number; resourceUrl: string }) => ({
  id: t.databaseId,
  link: t.resourceUrl,
  message: 'ok',
  description: 'Thing was created successfully',
});

/** E9. */
export const updateBody = () => ({ message: 'ok', description: 'Thing was updated correctly' });

/** E15, E16: the thing without owner, and the deprecated `location` key (D45). */
export const flattrBody = (t: GqlActionThing) => ({
  message: 'ok',
  description: 'Thing was successfully flattred',
  thing: actionThing(t),
  location: t.resourceUrl,
});

/** E18. */
export const subscribeBody = (t: GqlActionThing) => ({ message: 'ok', description: 'Successfully subscribed to Thing', thing: actionThing(t) });

/** E19: the state the subscription is in now. */
export const toggleBody = (active: boolean) =>
  active ? { message: 'started', description: 'Subscription started' } : { message: 'paused', description: 'Subscription paused' };
