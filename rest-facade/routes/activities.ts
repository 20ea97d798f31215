import { RestError } from '../errors.js';
import { missingToken } from '../access-token.js';
import { ACTIVITY_FORMATS, operationRoute, schemaRef, type OperationData, type OperationRoute, type ParameterDeclaration, type RestRoute } from '../route.js';
import { PAGINATION, USERNAME_PATH, invalidParameters, pagination } from '../params.js';
import { activityItems, userFeedId, type Feed, type GqlActivity } from '../shapes/feeds.js';
import { nodes, type Connection } from '../shapes/v2-objects.js';
import { activityStreamsDocument } from '../formats/activity-streams.js';
import type { RestRequest } from '../request.js';
import { NO_SUCH_USER, USER_404 } from './users.js';

type UserActivities = { username: string; activities: Connection<GqlActivity> } | null;

/** E21, E22 `type`, read by `direction`. */
const TYPE: ParameterDeclaration = {
  name: 'type',
  in: 'query',
  component: 'type',
  type: 'string',
  schema: { enum: ['outgoing', 'incoming'] },
  default: 'outgoing',
  description: 'Which activities: by the user (outgoing) or on their things (incoming).',
};
const TYPE_400 = 'invalid_parameters (a `type` other than outgoing or incoming).';

/** E21 `type`: outgoing (default) or incoming; anything else is invalid. */
function direction(req: RestRequest): 'OUTGOING' | 'INCOMING' {
  const type = req.query.get('type') ?? 'outgoing';
  if (type === 'outgoing') return 'OUTGOING';
  if (type === 'incoming') return 'INCOMING';
  throw invalidParameters();
}

function activityFeed<Op extends 'UserActivities' | 'ViewerActivities'>(
  owner: (data: OperationData<Op>) => UserActivities,
  notFound: () => Error,
): Pick<OperationRoute<Op>, 'shape' | 'feed'> {
  const feed = (data: OperationData<Op>, req: RestRequest): Feed => {
    const user = owner(data);
    if (!user) throw notFound();
    const incoming = direction(req) === 'INCOMING';
    return {
      id: userFeedId(req, user.username, incoming ? 'activities?type=incoming' : 'activities'),
      title: incoming ? `Activities on things by ${user.username}` : `Activities by ${user.username}`,
      username: user.username,
      items: activityItems(nodes(user.activities), req),
    };
  };
  return { feed, shape: (data, req) => activityStreamsDocument(feed(data, req).items) };
}

const activityRoute = { method: 'GET', formats: ACTIVITY_FORMATS, family: 'activities', root: 'activities' } as const;

/** E21, E22: derived activities (spec §12.7) as Activity Streams JSON or Atom (§13). */
export const activityRoutes: RestRoute[] = [
  operationRoute({
    ...activityRoute,
    name: 'E21 users.activities',
    path: '/users/:username/activities',
    auth: 'optional',
    operation: 'UserActivities',
    parameters: [USERNAME_PATH, TYPE, ...PAGINATION],
    openapi: {
      operationId: 'listUserActivities',
      tag: 'Activities',
      summary: "A user's activities (E21)",
      description: 'Activity Streams JSON (default, and `.json`) or Atom (`.atom`), spec §13.',
      returns: schemaRef('ActivityStream'),
      errors: { '400': TYPE_400, '404': USER_404 },
    },
    variables: (req) => ({ username: req.params.username, direction: direction(req), ...pagination(req) }),
    ...activityFeed<'UserActivities'>((data) => data.user, () => new RestError('not_found', NO_SUCH_USER)),
  }),
  operationRoute({
    ...activityRoute,
    name: 'E22 user.activities',
    path: '/user/activities',
    auth: 'required',
    operation: 'ViewerActivities',
    parameters: [TYPE, ...PAGINATION],
    openapi: {
      operationId: 'listAuthenticatedUserActivities',
      tag: 'Activities',
      summary: "The token's user's activities (E22)",
      returns: schemaRef('ActivityStream'),
      errors: { '400': TYPE_400 },
    },
    variables: (req) => ({ direction: direction(req), ...pagination(req) }),
    ...activityFeed<'ViewerActivities'>((data) => data.viewer, missingToken),
  }),
];
