import { RestError } from './errors.js';
import { encodeGlobalId } from '../schema/global-id.js';
import type { RestRequest } from './request.js';
import type { ParameterDeclaration } from './route.js';

/** Spec §4.1 (D14): the first occurrence wins; in GET/HEAD, empty values of these names count as absent. */
const EMPTY_MEANS_ABSENT = new Set(['count', 'page', 'sort', 'type', 'query', 'url', 'tags', 'language', 'category', 'user', 'jsonp']);

export function parseQueryString(raw: string, method: string): Map<string, string> {
  const query = new Map<string, string>();
  const readOnly = method === 'GET' || method === 'HEAD';
  for (const [name, value] of new URLSearchParams(raw)) {
    if (query.has(name)) continue;
    if (readOnly && value === '' && EMPTY_MEANS_ABSENT.has(name)) continue;
    query.set(name, value);
  }
  return query;
}

/** Spec §4.4 (D18): `full` is true when present unless its value is 0/false/no/off. */
export function fullFlag(request: RestRequest): boolean {
  const value = request.query.get('full');
  if (value === undefined) return false;
  return !['0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

export function invalidParameters(description?: string): RestError {
  return new RestError('invalid_parameters', description);
}

/** Spec E6: ids split on commas, trimmed, empties dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** Largest id the database holds (`things.id` is a PostgreSQL integer, a GraphQL Int). */
export const MAX_THING_ID = 2_147_483_647;

/**
 * Spec §9.0: a well-formed thing id is digits with a value of at least 1, however large. One past the database's
 * integer range is well-formed too, and names no thing: it answers like any unknown id (404), not like no route.
 */
export function isThingId(value: string): boolean {
  return /^[0-9]+$/.test(value) && /[1-9]/.test(value);
}

/**
 * A well-formed id (`isThingId`) as an operation variable. An id past the database's range becomes 0, which no
 * thing has (ids start at 1): the operation then answers exactly as for any unknown id, every check before the
 * existence check (authentication, scope, parameters) having run in its usual order.
 */
export function thingIdVariable(value: string): number {
  const id = Number(value);
  return id <= MAX_THING_ID ? id : 0;
}

/** The global id of a well-formed thing id, for the mutations (one past the range names no thing, like 0). */
export function thingGlobalId(value: string): string {
  return encodeGlobalId('Thing', thingIdVariable(value));
}

/** Spec §4.4: optional surrounding whitespace, digits, value >= 1. */
function positiveInteger(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const trimmed = raw.trim();
  if (!/^[0-9]+$/.test(trimmed)) throw invalidParameters();
  const value = Number(trimmed);
  if (value < 1) throw invalidParameters();
  return value;
}

/** No listing holds this many rows; larger pages are simply past the end. The largest GraphQL Int. */
const LAST_PAGE_OFFSET = 2 ** 31 - 1;

/**
 * Spec §4.5: `count` (default 30, lowered to MAX_PAGE_SIZE) and 1-based `page` → connection arguments. Page N is
 * read directly with `offset`, the connections' argument for page-numbered clients, not by walking cursors.
 */
export function pagination(request: RestRequest): { first: number; offset: number } {
  const count = Math.min(positiveInteger(request.query.get('count'), 30), request.maxPageSize);
  const page = positiveInteger(request.query.get('page'), 1);
  const offset = Math.min((page - 1) * count, LAST_PAGE_OFFSET);
  return { first: count, offset };
}

/** §4.5 `count`, read by `pagination`. */
export const COUNT: ParameterDeclaration = {
  name: 'count',
  in: 'query',
  component: 'count',
  type: 'integer',
  schema: { minimum: 1 },
  default: 30,
  description: 'Page size (§4.5): default 30, lowered to MAX_PAGE_SIZE.',
};

/** §4.5 `page`, read by `pagination`. */
export const PAGE: ParameterDeclaration = {
  name: 'page',
  in: 'query',
  component: 'page',
  type: 'integer',
  schema: { minimum: 1 },
  default: 1,
  description: 'Page number, from 1 (§4.5).',
};

/** §4.4 `full`, read by `fullFlag`. */
export const FULL: ParameterDeclaration = {
  name: 'full',
  in: 'query',
  component: 'full',
  type: 'string',
  allowEmptyValue: true,
  description: 'Full nested users and things (§8.5): set when present, unless 0, false, no or off.',
};

/** What `pagination` reads. */
export const PAGINATION: readonly ParameterDeclaration[] = [COUNT, PAGE];

/** The thing lists' parameters (§4.5, §8.5). */
export const LIST_PARAMETERS: readonly ParameterDeclaration[] = [COUNT, PAGE, FULL];

/** `:username` of a path. */
export const USERNAME_PATH: ParameterDeclaration = { name: 'username', in: 'path', type: 'string', description: 'Username (case-insensitive).' };

/** `:id` of a path, a thing id (`isThingId`). */
export const THING_ID_PATH: ParameterDeclaration = {
  name: 'id',
  in: 'path',
  type: 'integer',
  schema: { minimum: 1 },
  description: 'Thing id. One that no thing has, however large, answers 404 not_found.',
};

/**
 * §5.10 `jsonp`, read by the pipeline (negotiation) for every GET route serving JSON, not by a route: OpenAPI lists it
 * after each such route's own parameters.
 */
export const JSONP: ParameterDeclaration = {
  name: 'jsonp',
  in: 'query',
  component: 'jsonp',
  type: 'string',
  schema: { maxLength: 100 },
  description:
    'JSONP callback (§5.10): the JSON body wrapped as `/**/callback(...);`, `application/javascript`. Must match `^[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*$`, at most 100 characters.',
};
