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
  /** Name of the GraphQL operation in operations.ts. */
  operation: string;
  /** Request parameters → operation variables. Throws RestError for invalid parameters (step 11). */
  variables: (request: RestRequest) => Record<string, unknown>;
  /** Operation data → v2 body. Throws RestError for missing resources (step 12). */
  shape: (data: Data, request: RestRequest) => unknown;
  /** Operation data → Activity Streams feed, for the `as` and `atom` formats (spec §13, D24). */
  feed?: (data: Data, request: RestRequest) => Feed;
  status?: number;
}

export const PLAIN_FORMATS: FormatKey[] = ['json', 'xml', 'yaml'];
/** Thing and flattr lists: Activity Streams only by suffix (spec D24). */
export const LIST_FORMATS: FormatKey[] = ['json', 'xml', 'yaml', 'as', 'atom'];
/** Activities (spec §5.2, D23). */
export const ACTIVITY_FORMATS: FormatKey[] = ['as', 'atom', 'json'];
