import type { FormatKey } from './formats/media-types.js';
import type { ErrorFamily } from './errors.js';
import type { Scope } from '../src/services/tokens.js';
import type { RestRequest } from './request.js';
import type { Feed } from './shapes/feeds.js';

export type AuthLevel = 'none' | 'optional' | 'required';

/**
 * One REST v2 endpoint, declared as data. The pipeline (pipeline.ts) serves every route the same way:
 * parameters → variables → execute the named GraphQL operation → errors to statuses → shape → render.
 */
export interface RestRoute<Data = any> {
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
  /**
   * Name of the GraphQL operation in operations.ts. A function when the parameters choose between operations
   * (E8/E9 run the `thingInputProblem` query instead of the mutation when `hidden` cannot be read); it is called
   * after `variables`, with the same request.
   */
  operation: string | ((request: RestRequest) => string);
  /** Request parameters → operation variables. Throws RestError for invalid parameters (step 11). */
  variables: (request: RestRequest) => Record<string, unknown>;
  /**
   * Operation data → v2 body. Throws RestError for missing resources (step 12) and for the endpoint's own
   * failures reported by the operation (step 13, a `MutationError`). Ignored when `status` is 204.
   */
  shape: (data: Data, request: RestRequest) => unknown;
  /** Operation data → Activity Streams feed, for the `as` and `atom` formats (spec §13, D24). */
  feed?: (data: Data, request: RestRequest) => Feed;
  /** Success status; 200 by default. A 204 has no body, no Content-Type and no Vary (spec §5.5). */
  status?: number;
  /** Extra headers of a successful answer, from the operation data (e.g. E8's `Location`, D52). */
  headers?: (data: Data, request: RestRequest) => Record<string, string>;
}

export const PLAIN_FORMATS: FormatKey[] = ['json', 'xml', 'yaml'];
/** Thing and flattr lists: Activity Streams only by suffix (spec D24). */
export const LIST_FORMATS: FormatKey[] = ['json', 'xml', 'yaml', 'as', 'atom'];
/** Activities (spec §5.2, D23). */
export const ACTIVITY_FORMATS: FormatKey[] = ['as', 'atom', 'json'];
