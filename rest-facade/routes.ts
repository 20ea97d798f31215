import { RestError } from './errors.js';
import { missingToken } from './access-token.js';
import { PLAIN_FORMATS, type RestRoute } from './route.js';
import { fullFlag, invalidParameters, isThingId, splitList } from './params.js';
import { fullUser, thing, type GqlThing, type GqlUser } from './shapes/v2-objects.js';

/** Spec E6 (D50). */
const MAX_IDS = 100;

function thingIdList(raw: string | undefined): number[] {
  if (raw === undefined) throw invalidParameters();
  const ids = splitList(raw);
  if (ids.length === 0) throw invalidParameters();
  if (ids.length > MAX_IDS) throw invalidParameters(`At most ${MAX_IDS} ids are allowed`);
  return [...new Set(ids.filter(isThingId).map(Number))];
}

function thingsOrNotFound(data: { things: GqlThing[] }, full: boolean) {
  if (data.things.length === 0) throw new RestError('not_found', 'The requested thing(s) could not be found');
  return data.things.map((t) => thing(t, full));
}

/** Every REST v2 route, in precedence order (literal segments before `:id`). */
export const routes: RestRoute[] = [
  {
    name: 'E23 categories.list',
    method: 'GET',
    path: '/categories',
    auth: 'none',
    family: 'categories',
    formats: ['json', 'xml', 'yaml', 'txt'],
    root: 'categories',
    operation: 'Categories',
    variables: () => ({}),
    shape: (data: { categories: { id: string; text: string }[] }) => data.categories,
  },
  {
    name: 'E24 languages.list',
    method: 'GET',
    path: '/languages',
    auth: 'none',
    family: 'languages',
    formats: ['json', 'xml', 'yaml', 'txt'],
    root: 'languages',
    operation: 'Languages',
    variables: () => ({}),
    shape: (data: { languages: { id: string; text: string }[] }) => data.languages,
  },
  {
    name: 'E1 users.show',
    method: 'GET',
    path: '/users/:username',
    auth: 'optional',
    family: 'users',
    formats: PLAIN_FORMATS,
    root: 'user',
    operation: 'UserByUsername',
    variables: (req) => ({ username: req.params.username }),
    shape: (data: { user: GqlUser | null }) => {
      if (!data.user) throw new RestError('not_found', 'The requested user could not be found');
      return fullUser(data.user);
    },
  },
  {
    name: 'E2 user.show',
    method: 'GET',
    path: '/user',
    auth: 'required',
    family: 'users',
    formats: PLAIN_FORMATS,
    root: 'user',
    operation: 'Viewer',
    variables: () => ({}),
    shape: (data: { viewer: GqlUser | null }) => {
      if (!data.viewer) throw missingToken();
      return fullUser(data.viewer);
    },
  },
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
      if (!data.thing) throw new RestError('not_found', 'The requested thing(s) could not be found');
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
