import type { GraphQLContext } from '../../schema/context.js';

/**
 * Who is calling, as every request path sees it: the viewer of the GraphQL context the operations run with
 * (schema/context.ts). Named here so that the REST facade and /graphql need nothing from the token service: how a
 * token becomes a viewer is injected (`Authenticate`, src/http/authenticate.ts builds the real one).
 */
export type Viewer = NonNullable<GraphQLContext['viewer']>;

/** An OAuth scope a viewer may hold (spec §3). */
export type Scope = Viewer['scopes'] extends ReadonlySet<infer S> ? S : never;

/** A presented access token → its viewer, or null when it is not valid; `em` is the request's entity manager. */
export type Authenticate = (token: string, em: GraphQLContext['em']) => Promise<Viewer | null>;
