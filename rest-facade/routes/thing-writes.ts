import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { isThingId, thingGlobalId } from '../params.js';
import { INVALID_HIDDEN, hiddenParam, invalidHidden, stringParam, thingFields, withoutUndefined } from '../write-params.js';
import { createBody, mutationError, succeeded, updateBody, type GqlMutationError, type GqlMutationResult } from '../shapes/actions.js';
import type { RestRequest } from '../request.js';

type CreateData = { createThing: GqlMutationResult<{ thing: { databaseId: number; resourceUrl: string } }> };
type UpdateData = { updateThing: GqlMutationResult<{ thing: { databaseId: number } }> };
type ProblemData = { thingInputProblem: Omit<GqlMutationError, '__typename'> | null };

const hiddenInvalid = (req: RestRequest) => hiddenParam(req) === INVALID_HIDDEN;

/**
 * An unreadable `hidden` is the last check of E8/E9 (table order, §9.2). The mutation cannot receive it, so the
 * `thingInputProblem` query runs every earlier check on the rest of the input; only when all pass is `hidden` the
 * failure.
 */
function reportInputProblem(data: ProblemData): never {
  if (data.thingInputProblem) throw mutationError(data.thingInputProblem);
  throw invalidHidden();
}

/** ThingInput / ThingPatch fields; `hidden` only when readable. */
function thingInput(req: RestRequest, withUrl: boolean) {
  const hidden = hiddenParam(req);
  return withoutUndefined({
    // ThingInput.url is required: a missing url is "", which the same first check refuses ("Invalid url").
    ...(withUrl ? { url: stringParam(req, 'url') ?? '' } : {}),
    ...thingFields(req),
    hidden: hidden === INVALID_HIDDEN ? undefined : hidden,
  });
}

const thingWrite = { auth: 'required', scope: 'thing', family: 'things', formats: PLAIN_FORMATS, root: 'response' } as const;
const thingId = (req: RestRequest) => thingGlobalId(req.params.id!);

/** E8, E9, E10: creating, updating and deleting things (spec §9.2); every rule is the mutation's. */
export const thingWriteRoutes: RestRoute[] = [
  {
    ...thingWrite,
    name: 'E8 things.create',
    method: 'POST',
    path: '/things',
    status: 201,
    operation: (req) => (hiddenInvalid(req) ? 'ThingInputProblem' : 'CreateThing'),
    variables: (req) => (hiddenInvalid(req) ? { id: null, input: thingInput(req, true) } : { input: thingInput(req, true) }),
    shape: (data: CreateData | ProblemData) => {
      if ('thingInputProblem' in data) reportInputProblem(data);
      return createBody(succeeded(data.createThing).thing);
    },
    // D52.
    headers: (data: CreateData) => ({ Location: succeeded(data.createThing).thing.resourceUrl }),
  },
  {
    ...thingWrite,
    // Also POST /things/:id with _method=patch (D4).
    name: 'E9 things.update',
    method: 'PATCH',
    path: '/things/:id',
    matches: (params) => isThingId(params.id!),
    operation: (req) => (hiddenInvalid(req) ? 'ThingInputProblem' : 'UpdateThing'),
    variables: (req) => ({ id: thingId(req), patch: thingInput(req, false) }),
    shape: (data: UpdateData | ProblemData) => {
      if ('thingInputProblem' in data) reportInputProblem(data);
      succeeded(data.updateThing);
      return updateBody();
    },
  },
  {
    ...thingWrite,
    // Also POST /things/:id with _method=delete (D4).
    name: 'E10 things.delete',
    method: 'DELETE',
    path: '/things/:id',
    matches: (params) => isThingId(params.id!),
    status: 204,
    operation: 'DeleteThing',
    variables: (req) => ({ id: thingId(req) }),
    shape: (data: { deleteThing: GqlMutationResult<object> }) => {
      succeeded(data.deleteThing);
      return null;
    },
  },
];
