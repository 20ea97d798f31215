import { RestError } from '../errors.js';
import { missingToken } from '../access-token.js';
import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { fullUser, type GqlUser } from '../shapes/v2-objects.js';

export const NO_SUCH_USER = 'The requested user could not be found';

export const userRoutes: RestRoute[] = [
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
      if (!data.user) throw new RestError('not_found', NO_SUCH_USER);
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
];
