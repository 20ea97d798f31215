import { RestError } from '../errors.js';
import { missingToken } from '../access-token.js';
import { ACTIVITY_FORMATS, type OperationRoute, type RestRoute } from '../route.js';
import { invalidParameters, pagination } from '../params.js';
import { activityItems, userFeedId, type Feed, type GqlActivity } from '../shapes/feeds.js';
import { nodes, type Connection } from '../shapes/v2-objects.js';
import { activityStreamsDocument } from '../formats/activity-streams.js';
import type { RestRequest } from '../request.js';
import { NO_SUCH_USER } from './users.js';

type UserActivities = { username: string; activities: Connection<GqlActivity> } | null;

/** E21 `type`: outgoing (default) or incoming; anything else is invalid. */
function direction(req: RestRequest): 'OUTGOING' | 'INCOMING' {
  const type = req.query.get('type') ?? 'outgoing';
  if (type === 'outgoing') return 'OUTGOING';
  if (type === 'incoming') return 'INCOMING';
  throw invalidParameters();
}

function activityFeed(owner: (data: any) => UserActivities, notFound: () => Error): Pick<OperationRoute, 'shape' | 'feed'> {
  const feed = (data: unknown, req: RestRequest): Feed => {
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
  {
    ...activityRoute,
    name: 'E21 users.activities',
    path: '/users/:username/activities',
    auth: 'optional',
    operation: 'UserActivities',
    variables: (req) => ({ username: req.params.username, direction: direction(req), ...pagination(req) }),
    ...activityFeed((data: { user: UserActivities }) => data.user, () => new RestError('not_found', NO_SUCH_USER)),
  },
  {
    ...activityRoute,
    name: 'E22 user.activities',
    path: '/user/activities',
    auth: 'required',
    operation: 'ViewerActivities',
    variables: (req) => ({ direction: direction(req), ...pagination(req) }),
    ...activityFeed((data: { viewer: UserActivities }) => data.viewer, missingToken),
  },
];
