import { PLAIN_FORMATS, operationRoute, schemaRef, type OperationData, type ParameterDeclaration, type RestRoute } from '../route.js';
import { THING_ID_PATH, isThingId, thingGlobalId } from '../params.js';
import { INVALID_HIDDEN, METHOD_OVERRIDE, hiddenParam, invalidHidden, stringParam, thingFields, withoutUndefined } from '../write-params.js';
import { createBody, mutationError, succeeded, updateBody } from '../shapes/actions.js';
import type { RestRequest } from '../request.js';
import { THING_404 } from './things.js';

type ProblemData = OperationData<'ThingInputProblem'>;

const bodyText = (name: string, description: string, schema?: ParameterDeclaration['schema']): ParameterDeclaration => ({
  name,
  in: 'body',
  type: 'string',
  description,
  ...(schema ? { schema } : {}),
});
const TAGS: ParameterDeclaration = { name: 'tags', in: 'body', schema: schemaRef('Tags') };
const HIDDEN: ParameterDeclaration = { name: 'hidden', in: 'body', schema: schemaRef('Flag') };

/** E8's parameters (spec §9.2), body or query (D17), read by `thingInput`. */
const CREATE_PARAMETERS: readonly ParameterDeclaration[] = [
  { ...bodyText('url', 'Absolute http/https URL, at most 2048 characters, not an auto-submit URL, not used by another thing.', { maxLength: 2048 }), required: true },
  bodyText('title', 'HTML removed, trimmed, at most 100 characters; default: the url (first 100 characters).'),
  bodyText('description', '`<br>` becomes a newline, other HTML removed, trimmed, at most 1000 characters.'),
  bodyText('category', 'A category id; default `rest`.'),
  bodyText('language', 'A language id; default `en_GB`.'),
  TAGS,
  HIDDEN,
];

/** E9's: those of E8 but `url`, all optional. */
const UPDATE_PARAMETERS: readonly ParameterDeclaration[] = [
  bodyText('title', 'As in E8.'),
  bodyText('description', 'As in E8.'),
  bodyText('category', 'A category id.'),
  bodyText('language', 'A language id.'),
  TAGS,
  HIDDEN,
  bodyText('_method', '`patch` when sent as POST (D4).'),
];

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
  operationRoute<'CreateThing' | 'ThingInputProblem'>({
    ...thingWrite,
    name: 'E8 things.create',
    method: 'POST',
    path: '/things',
    status: 201,
    operation: (req) => (hiddenInvalid(req) ? 'ThingInputProblem' : 'CreateThing'),
    parameters: CREATE_PARAMETERS,
    openapi: {
      operationId: 'createThing',
      tag: 'Things',
      summary: 'Create a thing (E8)',
      description: "The owner is the token's user. 201 with a `Location` header (D52).",
      body: { component: 'ThingCreate', description: 'E8 parameters (spec §9.2), in a JSON or form body (query parameters count too, the body winning; D17).', required: true },
      returns: schemaRef('ThingCreated'),
      errors: {
        '400':
          'validation: "Invalid url", "A thing with that url already exists", "Invalid category", "Invalid language", "Title is too long", "Description is too long", "Invalid value for hidden" (first failure, in parameter order).',
      },
    },
    variables: (req) => (hiddenInvalid(req) ? { id: null, input: thingInput(req, true) } : { input: thingInput(req, true) }),
    shape: (data) => {
      if ('thingInputProblem' in data) reportInputProblem(data);
      return createBody(succeeded(data.createThing).thing);
    },
    // D52. Only after `shape` succeeded: never with ThingInputProblem's data.
    headers: (data): Record<string, string> => ('createThing' in data ? { Location: succeeded(data.createThing).thing.resourceUrl } : {}),
  }),
  operationRoute<'UpdateThing' | 'ThingInputProblem'>({
    ...thingWrite,
    // Also POST /things/:id with _method=patch (D4).
    name: 'E9 things.update',
    method: 'PATCH',
    path: '/things/:id',
    matches: (params) => isThingId(params.id!),
    operation: (req) => (hiddenInvalid(req) ? 'ThingInputProblem' : 'UpdateThing'),
    parameters: [THING_ID_PATH, ...UPDATE_PARAMETERS],
    openapi: {
      operationId: 'updateThing',
      tag: 'Things',
      summary: 'Update a thing (E9)',
      description: 'Also `POST` with `_method=patch` in the body or query, or `X-HTTP-Method-Override: PATCH` (D4).',
      body: {
        component: 'ThingUpdate',
        description:
          'E9 parameters: those of E8 without `url` (ignored, D53), all optional; only those present change. `tags` replaces the list; an empty `title` resets it to the url.',
        required: true,
      },
      returns: schemaRef('ThingUpdated'),
      errors: { '400': 'validation (as E8, first failure).', '403': 'forbidden "You are not allowed to update the thing".', '404': THING_404 },
    },
    variables: (req) => ({ id: thingId(req), patch: thingInput(req, false) }),
    shape: (data) => {
      if ('thingInputProblem' in data) reportInputProblem(data);
      succeeded(data.updateThing);
      return updateBody();
    },
  }),
  operationRoute({
    ...thingWrite,
    // Also POST /things/:id with _method=delete (D4).
    name: 'E10 things.delete',
    method: 'DELETE',
    path: '/things/:id',
    matches: (params) => isThingId(params.id!),
    status: 204,
    operation: 'DeleteThing',
    parameters: [THING_ID_PATH, ...METHOD_OVERRIDE.parameters],
    openapi: {
      operationId: 'deleteThing',
      tag: 'Things',
      summary: 'Delete a thing (E10)',
      description: 'Also `POST` with `_method=delete` (D4).',
      body: METHOD_OVERRIDE.body,
      errors: { '403': 'forbidden "You are not allowed to delete the thing".', '404': THING_404 },
    },
    variables: (req) => ({ id: thingId(req) }),
    shape: (data) => {
      succeeded(data.deleteThing);
      return null;
    },
  }),
];
