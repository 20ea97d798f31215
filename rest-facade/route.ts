import type { FormatKey } from './formats/media-types.js';
import type { ErrorFamily } from './errors.js';
import type { Scope } from '../src/http/viewer.js';
import type { BucketState } from '../src/rate-limit/state.js';
import type { RestRequest } from './request.js';
import type { Feed } from './shapes/feeds.js';
import type { OperationResults } from './operation-types.js';

export type AuthLevel = 'none' | 'optional' | 'required';

/**
 * What serves a route (pipeline.ts dispatches on it):
 * - `operation`: parameters → variables → execute the named GraphQL operation → errors to statuses → shape → render;
 * - `rate_limit`: E25, the caller's bucket from the rate limiter (read, not counted), shaped and rendered; no
 *   operation, no ETag, no rate-limit headers (routes/rate-limit.ts says why it is not a GraphQL field).
 */
export type RouteKind = 'operation' | 'rate_limit';

/** A JSON Schema (2020-12) object as OpenAPI 3.1 has it, as data. */
export type JsonSchema = Record<string, unknown>;

/**
 * One parameter a route reads, with its OpenAPI text. A route's `variables` reads only the parameters its
 * `parameters` declare (test/rest-route-declarations.test.ts records the reads of every route); the OpenAPI document
 * describes exactly these (src/ops/openapi.ts).
 */
export interface ParameterDeclaration {
  /** The name read: a `:name` of the route's path, or a query-string or body name (spec §4.1, §4.2). */
  name: string;
  /**
   * `body`: a parameter of POST, PUT, PATCH and DELETE, from the body or else the query string (D17), described
   * as a property of the route's request body (`openapi.body`). `path` parameters are always required.
   */
  in: 'path' | 'query' | 'body';
  /** The JSON Schema type; absent when `schema` is a `$ref`. */
  type?: 'string' | 'integer' | 'boolean';
  required?: boolean;
  /** The value an absent parameter stands for. */
  default?: unknown;
  description?: string;
  /** More of the schema: `enum`, `minimum`, `maxLength`, `pattern`, or a `$ref` alone. */
  schema?: JsonSchema;
  /** A query parameter: the set when present, even empty (`full`). */
  allowEmptyValue?: boolean;
  /** Its name in OpenAPI when it differs: `/things/:ids` is the same templated path as `/things/{id}`. */
  openApiName?: string;
  /** A query parameter: its key in OpenAPI's `components.parameters`, which operations refer to. */
  component?: string;
}

/** OpenAPI operation tags (each with a description in src/ops/openapi.ts). */
export type OpenApiTag = 'Users' | 'Things' | 'Flattrs' | 'Subscriptions' | 'Activities' | 'Reference data' | 'Rate limit';

/**
 * A route's OpenAPI text. Everything else in its OpenAPI operation (path, method, parameters, formats,
 * authentication, scope, status, the cross-cutting answers) comes from the rest of the declaration.
 */
export interface RouteDocs {
  operationId: string;
  tag: OpenApiTag;
  summary: string;
  description?: string;
  /** The success body in json, xml and yaml (a schema, usually a `$ref` to components.schemas). */
  returns?: JsonSchema;
  /** Endpoint-specific errors (spec §9), by status; the cross-cutting ones are added for every route. */
  errors?: Partial<Record<'400' | '401' | '403' | '404', string>>;
  /**
   * The request body: a component schema of that name, an object of the route's `body` parameters (`required` is
   * whether a body must be sent at all).
   */
  body?: { component: string; description: string; required: boolean };
  /** Answers that replace the generic success one (E7: 302 found, 404 not found), each in every format. */
  responses?: Record<string, { description: string; schema: string; location?: boolean }>;
}

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
   * The parameters the route reads, each with its OpenAPI text (path ones included). The pipeline's own (`jsonp`,
   * `access_token`, `_method`) are not the route's.
   */
  parameters: readonly ParameterDeclaration[];
  /** Its OpenAPI text (src/ops/openapi.ts generates the document from the declarations). */
  openapi: RouteDocs;
  /**
   * Declared parameters → operation variables. Throws RestError for invalid parameters (step 11). A route of
   * another kind has no operation and takes no parameters: `() => ({})`, never called by the pipeline.
   */
  variables: (request: RestRequest) => Record<string, unknown>;
}

/** The name of a GraphQL operation of operations.ts. */
export type OperationName = keyof OperationResults;

/** The result (`data`) of operation `Op`, typed by graphql-codegen (rest-facade/operation-types.ts). */
export type OperationData<Op extends OperationName> = OperationResults[Op];

/**
 * One REST v2 endpoint served by a GraphQL operation, declared as data (`kind` absent means `operation`). `Op` is
 * its operation (a union when the parameters choose between operations): `shape`, `feed` and `headers` receive that
 * operation's result type. They are methods, so that a route of any operation is a `RestRoute`.
 */
export interface OperationRoute<Op extends OperationName = OperationName> extends RouteBase {
  kind?: 'operation';
  /**
   * Name of the GraphQL operation in operations.ts. A function when the parameters choose between operations
   * (E8/E9 run the `thingInputProblem` query instead of the mutation when `hidden` cannot be read); it is called
   * after `variables`, with the same request.
   */
  operation: Op | ((request: RestRequest) => Op);
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
  shape(data: OperationData<Op>, request: RestRequest): unknown;
  /** Operation data → Activity Streams feed, for the `as` and `atom` formats (spec §13, D24). */
  feed?(data: OperationData<Op>, request: RestRequest): Feed;
  /** Extra headers of a successful answer, from the operation data (e.g. E8's `Location`, D52). */
  headers?(data: OperationData<Op>, request: RestRequest): Record<string, string>;
}

/**
 * Declares a route of operation `Op`, inferred from `operation` (or given: `operationRoute<'A' | 'B'>({...})`), so
 * that `shape`, `feed` and `headers` are checked against that operation's result.
 */
export function operationRoute<Op extends OperationName>(route: OperationRoute<Op>): OperationRoute<Op> {
  return route;
}

/** E25: answered from the caller's rate-limit bucket (§7.6), which the admission step only reads for it. */
export interface RateLimitRoute extends RouteBase {
  kind: 'rate_limit';
  /** The bucket → v2 body. */
  shape: (state: BucketState, request: RestRequest) => unknown;
}

/** One REST v2 endpoint, declared as data; `kind` says what serves it. */
export type RestRoute<Op extends OperationName = OperationName> = OperationRoute<Op> | RateLimitRoute;

/** What serves `route` (an operation unless it says otherwise). */
export function routeKind(route: RestRoute): RouteKind {
  return route.kind ?? 'operation';
}

export const PLAIN_FORMATS: FormatKey[] = ['json', 'xml', 'yaml'];
/** Thing and flattr lists: Activity Streams only by suffix (spec D24). */
export const LIST_FORMATS: FormatKey[] = ['json', 'xml', 'yaml', 'as', 'atom'];
/** Activities (spec §5.2, D23). */
export const ACTIVITY_FORMATS: FormatKey[] = ['as', 'atom', 'json'];

/** A `$ref` to an object schema of OpenAPI's components.schemas (src/ops/openapi-schemas.ts). */
export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
/** A list of such objects. */
export const listOf = (name: string): JsonSchema => ({ type: 'array', items: schemaRef(name) });
