import { RestError } from '../errors.js';
import { missingToken } from '../access-token.js';
import { LIST_FORMATS, PLAIN_FORMATS, listOf, operationRoute, type OperationData, type OperationRoute, type RestRoute } from '../route.js';
import { LIST_PARAMETERS, THING_ID_PATH, USERNAME_PATH, fullFlag, isThingId, pagination, thingIdVariable } from '../params.js';
import { flattr, nodes, thing, type Connection, type GqlFlattr, type GqlThing } from '../shapes/v2-objects.js';
import { flattrLikeItems, thingPostItems, userFeedId } from '../shapes/feeds.js';
import type { RestRequest } from '../request.js';
import { NO_SUCH_USER, USER_404 } from './users.js';
import { NO_SUCH_THING, THING_404 } from './things.js';

type UserThings = { username: string; things: Connection<GqlThing> } | null;
type UserFlattrs = { username: string; flattrs: Connection<GqlFlattr> } | null;

const listVariables = (req: RestRequest) => ({ ...pagination(req), full: fullFlag(req) });

function found<T>(value: T | null, notFound: () => Error): T {
  if (value === null) throw notFound();
  return value;
}

const noUser = () => new RestError('not_found', NO_SUCH_USER);
const noThing = () => new RestError('not_found', NO_SUCH_THING);

/** Shared by E3/E4: the same list for a named user or the token's user. */
function thingList<Op extends 'UserThings' | 'ViewerThings'>(owner: (data: OperationData<Op>) => UserThings, notFound: () => Error): Pick<OperationRoute<Op>, 'shape' | 'feed'> {
  return {
    shape: (data, req) => nodes(found(owner(data), notFound).things).map((t) => thing(t, fullFlag(req))),
    feed: (data, req) => {
      const user = found(owner(data), notFound);
      return { id: userFeedId(req, user.username, 'things'), title: `Things by ${user.username}`, username: user.username, items: thingPostItems(nodes(user.things), req) };
    },
  };
}

/** Shared by E12/E13. */
function flattrList<Op extends 'UserFlattrs' | 'ViewerFlattrs'>(owner: (data: OperationData<Op>) => UserFlattrs, notFound: () => Error): Pick<OperationRoute<Op>, 'shape' | 'feed'> {
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
  operationRoute({
    ...listRoute,
    name: 'E3 users.things',
    path: '/users/:username/things',
    auth: 'optional',
    family: 'things',
    root: 'things',
    operation: 'UserThings',
    parameters: [USERNAME_PATH, ...LIST_PARAMETERS],
    openapi: {
      operationId: 'listUserThings',
      tag: 'Things',
      summary: "A user's things (E3)",
      description: 'Newest first. Hidden things only for their owner. Also Activity Streams (`.as`) and Atom (`.atom`) by suffix (D24).',
      returns: listOf('Thing'),
      errors: { '404': USER_404 },
    },
    variables: (req) => ({ username: req.params.username, ...listVariables(req) }),
    ...thingList<'UserThings'>((data) => data.user, noUser),
  }),
  operationRoute({
    ...listRoute,
    name: 'E4 user.things',
    path: '/user/things',
    auth: 'required',
    family: 'things',
    root: 'things',
    operation: 'ViewerThings',
    parameters: LIST_PARAMETERS,
    openapi: {
      operationId: 'listAuthenticatedUserThings',
      tag: 'Things',
      summary: "The token's user's things (E4)",
      description: 'As E3, hidden things included.',
      returns: listOf('Thing'),
    },
    variables: listVariables,
    ...thingList<'ViewerThings'>((data) => data.viewer, missingToken),
  }),
  operationRoute({
    ...listRoute,
    name: 'E12 users.flattrs',
    path: '/users/:username/flattrs',
    auth: 'optional',
    family: 'flattrs',
    root: 'flattrs',
    operation: 'UserFlattrs',
    parameters: [USERNAME_PATH, ...LIST_PARAMETERS],
    openapi: {
      operationId: 'listUserFlattrs',
      tag: 'Flattrs',
      summary: 'Flattrs made by a user (E12)',
      description: 'Newest first; empty when the user hides their flattrs and the caller is someone else (§12.5).',
      returns: listOf('Flattr'),
      errors: { '404': USER_404 },
    },
    variables: (req) => ({ username: req.params.username, ...listVariables(req) }),
    ...flattrList<'UserFlattrs'>((data) => data.user, noUser),
  }),
  operationRoute({
    ...listRoute,
    name: 'E13 user.flattrs',
    path: '/user/flattrs',
    auth: 'required',
    family: 'flattrs',
    root: 'flattrs',
    operation: 'ViewerFlattrs',
    parameters: LIST_PARAMETERS,
    openapi: { operationId: 'listAuthenticatedUserFlattrs', tag: 'Flattrs', summary: "The token's user's flattrs (E13)", returns: listOf('Flattr') },
    variables: listVariables,
    ...flattrList<'ViewerFlattrs'>((data) => data.viewer, missingToken),
  }),
  operationRoute({
    ...listRoute,
    name: 'E14 things.flattrs',
    path: '/things/:id/flattrs',
    matches: (params) => isThingId(params.id!),
    auth: 'optional',
    family: 'flattrs',
    root: 'flattrs',
    operation: 'ThingFlattrs',
    parameters: [THING_ID_PATH, ...LIST_PARAMETERS],
    openapi: {
      operationId: 'listThingFlattrs',
      tag: 'Flattrs',
      summary: 'Flattrs on a thing (E14)',
      description: 'Newest first; flattrs of users who hide theirs are left out unless the caller is that user.',
      returns: listOf('Flattr'),
      errors: { '404': THING_404 },
    },
    variables: (req) => ({ ...listVariables(req), id: thingIdVariable(req.params.id!) }),
    shape: (data, req) => nodes(found(data.thing, noThing).flattrs).map((f) => flattr(f, fullFlag(req))),
    feed: (data, req) => {
      const t = found(data.thing, noThing);
      return {
        id: `${req.links.apiUrl}/things/${t.databaseId}/flattrs`,
        title: `Flattrs on "${t.title}"`,
        username: t.owner.username,
        items: flattrLikeItems(nodes(t.flattrs), req),
      };
    },
  }),
];
