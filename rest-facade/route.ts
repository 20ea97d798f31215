import type { FormatKey } from './formats/media-types.js';
import type { ErrorFamily } from './errors.js';
import type { Scope } from '../src/http/viewer.js';
import type { BucketState } from '../src/rate-limit/state.js';
import type { RestRequest } from './request.js';
import type { Feed } from './shapes/feeds.js';

export type AuthLevel = 'none' | 'optional' | 'required';

/**
 * What serves a route (pipeline.ts dispatches on it):
 * - `operation`: parameters → variables → execute the named GraphQL operation → errors to statuses → shape → render;
 * - `rate_limit`: E25, the caller's bucket from the rate limiter (read, not counted), shaped and rendered; no
 *   operation, no ETag, no rate-limit headers (routes/rate-limit.ts says why it is not a GraphQL field).
 */
export type RouteKind = 'operation' | 'rate_limit';

/** What every REST v2 endpoint declares, whatever serves it. */
interface RouteBase {
  /** Spec endpoint number and a short name, e.g. "E5 things.show". */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below /rest/v2 in @koa/router syntax. */
  path: string;
  /**
   * The path ends in one parameter (`/things/lookup/q/:url`, D98) that takes the whole rest of the path as sent:
   * slashes, dots and a trailing `/` included, not percent-decoded (the route decodes it), no format suffix. Such a
   * route is matched on its literal prefix before any other route.
   */
  restOfPath?: boolean;
  /** A deprecated alias, marked so in OpenAPI (D98). */
  deprecated?: boolean;
  /** Extra constraint on the path parameters; false means "no route" (spec §9.0 precedence). */
  matches?: (params: Record<string, string>) => boolean;
  auth: AuthLevel;
  scope?: Scope;
  /** Resource family for `error_uri` (spec D33). */
  family: ErrorFamily;
  /** Supported formats, default first (spec §5.2). */
  formats: FormatKey[];
  /** Formats `Accept` may select; defaults to `formats` (spec D24). */
  acceptFormats?: FormatKey[];
  /** XML root element (spec D27). */
  root: string;
  /** Success status; 200 by default. A 204 has no body, no Content-Type and no Vary (spec §5.5). */
  status?: number;
  /**
   * Request parameters → operation variables. Throws RestError for invalid parameters (step 11). A route of
   * another kind has no operation and takes no parameters: `() => ({})`, never called by the pipeline.
   */
  variables: (request: RestRequest) => Record<string, unknown>;
}

/** One REST v2 endpoint served by a GraphQL operation, declared as data (`kind` absent means `operation`). */
export interface OperationRoute<Data = any> extends RouteBase {
  kind?: 'operation';
  /**
   * Name of the GraphQL operation in operations.ts. A function when the parameters choose between operations
   * (E8/E9 run the `thingInputProblem` query instead of the mutation when `hidden` cannot be read); it is called
   * after `variables`, with the same request.
   */
  operation: string | ((request: RestRequest) => string);
  /**
   * Descriptions of the answer to a `BAD_USER_INPUT` error on one of the operation's arguments, by argument, when
   * REST words it differently from GraphQL (spec §10.3: a malformed `tags` expression is "Invalid tags
   * expression", without GraphQL's position). The error's code (`reason`, else invalid_parameters) is kept.
   */
  argumentErrors?: Record<string, string>;
  /**
   * Operation data → v2 body. Throws RestError for missing resources (step 12) and for the endpoint's own
   * failures reported by the operation (step 13, a `MutationError`). Ignored when `status` is 204.
   */
  shape: (data: Data, request: RestRequest) => unknown;
  /** Operation data → Activity Streams feed, for the `as` and `atom` formats (spec §13, D24). */
  feed?: (data: Data, request: RestRequest) => Feed;
  /** Extra headers of a successful answer, from the operation data (e.g. E8's `Location`, D52). */
  headers?: (data: Data, request: RestRequest) => Record<string, string>;
}

/** E25: answered from the caller's rate-limit bucket (§7.6), which the admission step only reads for it. */
export interface RateLimitRoute extends RouteBase {
  kind: 'rate_limit';
  /** The bucket → v2 body. */
  shape: (state: BucketState, request: RestRequest) => unknown;
}

/** One REST v2 endpoint, declared as data; `kind` says what serves it. */
export type RestRoute<Data = any> = OperationRoute<Data> | RateLimitRoute;

/** What serves `route` (an operation unless it says otherwise). */
export function routeKind(route: RestRoute): RouteKind {
  return route.kind ?? 'operation';
}

export const PLAIN_FORMATS: FormatKey[] = ['json', 'xml', 'yaml'];
/** Thing and flattr lists: Activity Streams only by suffix (spec D24). */
export const LIST_FORMATS: FormatKey[] = ['json', 'xml', 'yaml', 'as', 'atom'];
/** Activities (spec §5.2, D23). */
export const ACTIVITY_FORMATS: FormatKey[] = ['as', 'atom', 'json'];
