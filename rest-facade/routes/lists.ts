import { RestError } from '../errors.js';
import { missingToken } from '../access-token.js';
import { LIST_FORMATS, PLAIN_FORMATS, type OperationRoute, type RestRoute } from '../route.js';
import { fullFlag, isThingId, pagination, thingIdVariable } from '../params.js';
import { flattr, nodes, thing, type Connection, type GqlFlattr, type GqlThing } from '../shapes/v2-objects.js';
import { flattrLikeItems, thingPostItems, userFeedId } from '../shapes/feeds.js';
import type { RestRequest } from '../request.js';
import { NO_SUCH_USER } from './users.js';
import { NO_SUCH_THING } from './things.js';

type UserThings = { username: string; things: Connection<GqlThing> } | null;
type UserFlattrs = { username: string; flattrs: Connection<GqlFlattr> } | null;
type ThingFlattrs = { databaseId: number; title: string; owner: { username: string }; flattrs: Connection<GqlFlattr> } | null;

const listVariables = (req: RestRequest) => ({ ...pagination(req), full: fullFlag(req) });

function found<T>(value: T | null, notFound: () => Error): T {
  if (value === null) throw notFound();
  return value;
}

const noUser = () => new RestError('not_found', NO_SUCH_USER);
const noThing = () => new RestError('not_found', NO_SUCH_THING);

/** Shared by E3/E4: the same list for a named user or the token's user. */
function thingList(owner: (data: any) => UserThings, notFound: () => Error): Pick<OperationRoute, 'shape' | 'feed'> {
  return {
    shape: (data, req) => nodes(found(owner(data), notFound).things).map((t) => thing(t, fullFlag(req))),
    feed: (data, req) => {
      const user = found(owner(data), notFound);
      return { id: userFeedId(req, user.username, 'things'), title: `Things by ${user.username}`, username: user.username, items: thingPostItems(nodes(user.things), req) };
    },
  };
}

/** Shared by E12/E13. */
function flattrList(owner: (data: any) => UserFlattrs, notFound: () => Error): Pick<OperationRoute, 'shape' | 'feed'> {
  return {
    shape: (data, req) => nodes(found(owner(data), notFound).flattrs).map((f) => flattr(f, fullFlag(req))),
    feed: (data, req) => {
      const user = found(owner(data), notFound);
      return { id: userFeedId(req, user.username, 'flattrs'), title: `Flattrs by ${user.username}`, username: user.username, items: flattrLikeItems(nodes(user.flattrs), req) };
    },
  };
}

const listRoute = { method: 'GET', formats: LIST_FORMATS, acceptFormats: PLAIN_FORMATS } as const;

/** E3, E4, E12, E13, E14: paginated lists (spec §4.5), also as Activity Streams by suffix (D24). */
export const listRoutes: RestRoute[] = [
  {
    ...listRoute,
    name: 'E3 users.things',
    path: '/users/:username/things',
    auth: 'optional',
    family: 'things',
    root: 'things',
    operation: 'UserThings',
    variables: (req) => ({ username: req.params.username, ...listVariables(req) }),
    ...thingList((data: { user: UserThings }) => data.user, noUser),
  },
  {
    ...listRoute,
    name: 'E4 user.things',
    path: '/user/things',
    auth: 'required',
    family: 'things',
    root: 'things',
    operation: 'ViewerThings',
    variables: listVariables,
    ...thingList((data: { viewer: UserThings }) => data.viewer, missingToken),
  },
  {
    ...listRoute,
    name: 'E12 users.flattrs',
    path: '/users/:username/flattrs',
    auth: 'optional',
    family: 'flattrs',
    root: 'flattrs',
    operation: 'UserFlattrs',
    variables: (req) => ({ username: req.params.username, ...listVariables(req) }),
    ...flattrList((data: { user: UserFlattrs }) => data.user, noUser),
  },
  {
    ...listRoute,
    name: 'E13 user.flattrs',
    path: '/user/flattrs',
    auth: 'required',
    family: 'flattrs',
    root: 'flattrs',
    operation: 'ViewerFlattrs',
    variables: listVariables,
    ...flattrList((data: { viewer: UserFlattrs }) => data.viewer, missingToken),
  },
  {
    ...listRoute,
    name: 'E14 things.flattrs',
    path: '/things/:id/flattrs',
    matches: (params) => isThingId(params.id!),
    auth: 'optional',
    family: 'flattrs',
    root: 'flattrs',
    operation: 'ThingFlattrs',
    variables: (req) => ({ ...listVariables(req), id: thingIdVariable(req.params.id!) }),
    shape: (data: { thing: ThingFlattrs }, req) => nodes(found(data.thing, noThing).flattrs).map((f) => flattr(f, fullFlag(req))),
    feed: (data: { thing: ThingFlattrs }, req) => {
      const t = found(data.thing, noThing);
      return {
        id: `${req.links.apiUrl}/things/${t.databaseId}/flattrs`,
        title: `Flattrs on "${t.title}"`,
        username: t.owner.username,
        items: flattrLikeItems(nodes(t.flattrs), req),
      };
    },
  },
];
