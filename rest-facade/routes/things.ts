import { RestError } from '../errors.js';
import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { MAX_THING_ID, fullFlag, invalidParameters, isThingId, splitList, thingIdVariable } from '../params.js';
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

function thingsOrNotFound(data: { things: GqlThing[] }, full: boolean) {
  if (data.things.length === 0) throw new RestError('not_found', NO_SUCH_THING);
  return data.things.map((t) => thing(t, full));
}

/** E5, E6: things by id (spec §9.2). */
export const thingRoutes: RestRoute[] = [
  {
    name: 'E5 things.show',
    method: 'GET',
    path: '/things/:id',
    matches: (params) => isThingId(params.id!),
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'thing',
    operation: 'ThingById',
    variables: (req) => ({ id: thingIdVariable(req.params.id!), full: fullFlag(req) }),
    shape: (data: { thing: GqlThing | null }, req) => {
      if (!data.thing) throw new RestError('not_found', NO_SUCH_THING);
      return thing(data.thing, fullFlag(req));
    },
  },
  {
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
    variables: (req) => ({ ids: thingIdList(req.params.ids), full: fullFlag(req) }),
    shape: (data: { things: GqlThing[] }, req) => thingsOrNotFound(data, fullFlag(req)),
  },
  {
    name: 'E6 things.many (query form, D48)',
    method: 'GET',
    path: '/things',
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'things',
    operation: 'ThingsByIds',
    variables: (req) => ({ ids: thingIdList(req.query.get('id')), full: fullFlag(req) }),
    shape: (data: { things: GqlThing[] }, req) => thingsOrNotFound(data, fullFlag(req)),
  },
];
