import { RestError } from '../errors.js';
import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { fullFlag, invalidParameters, isThingId, splitList } from '../params.js';
import { thing, type GqlThing } from '../shapes/v2-objects.js';

/** Spec E6 (D50). */
const MAX_IDS = 100;

function thingIdList(raw: string | undefined): number[] {
  if (raw === undefined) throw invalidParameters();
  const ids = splitList(raw);
  if (ids.length === 0) throw invalidParameters();
  if (ids.length > MAX_IDS) throw invalidParameters(`At most ${MAX_IDS} ids are allowed`);
  return [...new Set(ids.filter(isThingId).map(Number))];
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
    variables: (req) => ({ id: Number(req.params.id), full: fullFlag(req) }),
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
