import { RestError } from '../errors.js';
import { missingToken } from '../access-token.js';
import { PLAIN_FORMATS, operationRoute, schemaRef, type RestRoute } from '../route.js';
import { USERNAME_PATH } from '../params.js';
import { fullUser } from '../shapes/v2-objects.js';

export const NO_SUCH_USER = 'The requested user could not be found';
/** OpenAPI text of the 404 of routes naming a user. */
export const USER_404 = `not_found "${NO_SUCH_USER}".`;

export const userRoutes: RestRoute[] = [
  operationRoute({
    name: 'E1 users.show',
    method: 'GET',
    path: '/users/:username',
    auth: 'optional',
    family: 'users',
    formats: PLAIN_FORMATS,
    root: 'user',
    operation: 'UserByUsername',
    parameters: [USERNAME_PATH],
    openapi: { operationId: 'getUser', tag: 'Users', summary: 'A user (E1)', returns: schemaRef('User'), errors: { '404': USER_404 } },
    variables: (req) => ({ username: req.params.username }),
    shape: (data) => {
      if (!data.user) throw new RestError('not_found', NO_SUCH_USER);
      return fullUser(data.user);
    },
  }),
  operationRoute({
    name: 'E2 user.show',
    method: 'GET',
    path: '/user',
    auth: 'required',
    family: 'users',
    formats: PLAIN_FORMATS,
    root: 'user',
    operation: 'Viewer',
    parameters: [],
    openapi: {
      operationId: 'getAuthenticatedUser',
      tag: 'Users',
      summary: "The token's user (E2)",
      description: '`email` and `registered_at` as D40 allows.',
      returns: schemaRef('User'),
    },
    variables: () => ({}),
    shape: (data) => {
      if (!data.viewer) throw missingToken();
      return fullUser(data.viewer);
    },
  }),
];
