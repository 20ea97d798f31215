import { resolveAccessToken } from '../services/tokens.js';
import type { Authenticate } from './viewer.js';

/**
 * The authentication of REST and /graphql alike (spec §3.2): a database lookup on the request's own entity manager,
 * never cached, so a revoked token is refused on its next request. Injected into the REST facade and the GraphQL
 * endpoint (src/server/app.ts); tests may inject another.
 */
export const authenticateAccessToken: Authenticate = (token, em) => resolveAccessToken(em, token);
