import { RestError } from '../errors.js';
import { PLAIN_FORMATS, listOf, operationRoute, schemaRef, type ParameterDeclaration, type RestRoute } from '../route.js';
import { FULL, MAX_THING_ID, THING_ID_PATH, fullFlag, invalidParameters, isThingId, splitList, thingIdVariable } from '../params.js';
import { thing, type GqlThing } from '../shapes/v2-objects.js';

/** Spec E6 (D50). */
const MAX_IDS = 100;

function thingIdList(raw: string | undefined): number[] {
  if (raw === undefined) throw invalidParameters();
  const ids = splitList(raw);
  if (ids.length === 0) throw invalidParameters();
  // The catalogue's text (§6.2): the spec names no specific one for this case.
  if (ids.length > MAX_IDS) throw invalidParameters();
  // Malformed ids are skipped; so are well-formed ones past the database's range, which no thing has.
  return [...new Set(ids.filter(isThingId).map(Number).filter((id) => id <= MAX_THING_ID))];
}

export const NO_SUCH_THING = 'The requested thing(s) could not be found';
/** OpenAPI text of the 404 of routes naming one thing. */
export const THING_404 = `not_found "${NO_SUCH_THING}" (no thing with that id).`;
const THINGS_404 = `not_found "${NO_SUCH_THING}" (no thing with that id, or none of the ids).`;
const IDS_400 = 'invalid_parameters (no id, or more than 100 ids).';

function thingsOrNotFound(data: { things: GqlThing[] }, full: boolean) {
  if (data.things.length === 0) throw new RestError('not_found', NO_SUCH_THING);
  return data.things.map((t) => thing(t, full));
}

/** E6 `/things/:ids`: `/things/{id}` to OpenAPI, the same templated path as E5. */
const IDS_PATH: ParameterDeclaration = {
  name: 'ids',
  in: 'path',
  openApiName: 'id',
  type: 'string',
  schema: { pattern: ',' },
  description: 'Thing ids separated by commas (E6).',
};

/** E6 query form `?id=` (D48). */
const IDS_QUERY: ParameterDeclaration = {
  name: 'id',
  in: 'query',
  component: 'ids',
  type: 'string',
  required: true,
  description: 'Thing ids separated by commas (at most 100).',
};

/** E5, E6: things by id (spec §9.2). */
export const thingRoutes: RestRoute[] = [
  operationRoute({
    name: 'E5 things.show',
    method: 'GET',
    path: '/things/:id',
    matches: (params) => isThingId(params.id!),
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'thing',
    operation: 'ThingById',
    parameters: [THING_ID_PATH, FULL],
    openapi: {
      operationId: 'getThing',
      tag: 'Things',
      summary: 'A thing (E5), or several (E6: ids separated by commas)',
      description:
        'One id: the thing (E5). Ids separated by `,` (or `%2C`, D49): the things found, in the order asked, duplicates once (E6, at most 100 ids, D50). Hidden things too (D47).',
      returns: schemaRef('Thing'),
      errors: { '404': THINGS_404 },
    },
    variables: (req) => ({ id: thingIdVariable(req.params.id!), full: fullFlag(req) }),
    shape: (data, req) => {
      if (!data.thing) throw new RestError('not_found', NO_SUCH_THING);
      return thing(data.thing, fullFlag(req));
    },
  }),
  operationRoute({
    name: 'E6 things.many',
    method: 'GET',
    path: '/things/:ids',
    // The path form is used as soon as the id segment holds a separator (a literal comma or %2C, D49).
    matches: (params) => params.ids!.includes(','),
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'things',
    operation: 'ThingsByIds',
    parameters: [IDS_PATH, FULL],
    openapi: { operationId: 'getThings', tag: 'Things', summary: 'Several things (E6)', returns: listOf('Thing'), errors: { '400': IDS_400, '404': THINGS_404 } },
    variables: (req) => ({ ids: thingIdList(req.params.ids), full: fullFlag(req) }),
    shape: (data, req) => thingsOrNotFound(data, fullFlag(req)),
  }),
  operationRoute({
    name: 'E6 things.many (query form, D48)',
    method: 'GET',
    path: '/things',
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'things',
    operation: 'ThingsByIds',
    parameters: [IDS_QUERY, FULL],
    openapi: {
      operationId: 'getThingsByQuery',
      tag: 'Things',
      summary: 'Several things, ids in the query (E6, D48)',
      returns: listOf('Thing'),
      errors: { '400': IDS_400, '404': THINGS_404 },
    },
    variables: (req) => ({ ids: thingIdList(req.query.get('id')), full: fullFlag(req) }),
    shape: (data, req) => thingsOrNotFound(data, fullFlag(req)),
  }),
];
