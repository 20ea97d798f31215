import { RestError } from './errors.js';
import { invalidParameters, splitList } from './params.js';
import type { RestRequest } from './request.js';
import type { ParameterDeclaration, RouteDocs } from './route.js';

/**
 * Parameters of POST, PUT, PATCH and DELETE: value parsing only (spec §4.2, §4.4). Whether a value is acceptable
 * for the domain (a known category, a free url, ...) is the mutation's business, not the facade's.
 */

/** D17: the union of the query string and the body, the body winning. JSON `null` was already dropped (= absent). */
export function writeParam(request: RestRequest, name: string): unknown {
  return request.body.has(name) ? request.body.get(name) : request.query.get(name);
}

/** §4.2: a number or boolean given for a string parameter becomes its JSON text; any nested value is invalid. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  throw invalidParameters();
}

/** A string parameter, or undefined when absent. Arrays and objects give 400 invalid_parameters (§4.2). */
export function stringParam(request: RestRequest, name: string): string | undefined {
  const value = writeParam(request, name);
  return value === undefined ? undefined : scalarText(value);
}

/**
 * §4.4 tags: a comma-separated string (elements trimmed, empties dropped) or, D19, a JSON array of strings.
 * An array holding anything else gives 400 invalid_parameters. Duplicates are the domain's (§12.2).
 */
export function tagsParam(request: RestRequest): string[] | undefined {
  const value = writeParam(request, 'tags');
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (!value.every((tag): tag is string => typeof tag === 'string')) throw invalidParameters();
    return value.map((tag) => tag.trim()).filter((tag) => tag !== '');
  }
  return splitList(scalarText(value));
}

/** Marks a `hidden` value that §4.4 cannot read; reported as a validation failure in the endpoint's order. */
export const INVALID_HIDDEN = Symbol('invalid hidden');

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

/**
 * §4.4 boolean: JSON true/false, JSON numbers 1/0, or a string (trimmed, any case) 1/true/yes/on or
 * 0/false/no/off/empty. Anything else is INVALID_HIDDEN; an array or object is a nested value (§4.2, step 11).
 */
export function hiddenParam(request: RestRequest): boolean | undefined | typeof INVALID_HIDDEN {
  const value = writeParam(request, 'hidden');
  if (value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : INVALID_HIDDEN;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : INVALID_HIDDEN;
  }
  throw invalidParameters();
}

export const invalidHidden = () => new RestError('validation', 'Invalid value for hidden');

/** Thing fields shared by E8 and E9 (ThingInput / ThingPatch of the contract); absent parameters are left out. */
export function thingFields(request: RestRequest) {
  const fields = {
    title: stringParam(request, 'title'),
    description: stringParam(request, 'description'),
    category: stringParam(request, 'category'),
    language: stringParam(request, 'language'),
    tags: tagsParam(request),
  };
  return withoutUndefined(fields);
}

export function withoutUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** §11.4 (D71): the parameters lookup and flattr-a-URL know; any other one is part of an unencoded `url`. */
const REASSEMBLY_KNOWN = new Set(['url', 'full', 'jsonp', 'access_token', '_method']);

/**
 * §11.4: the decoded `url` value, then `&` and the raw (still encoded) `name=value` text of every unknown
 * parameter of the same source, in their original order. With no unknown parameter the url is unchanged.
 */
export function reassembleUrl(url: string, rawSource: string): string {
  const unknown = rawSource.split('&').filter((pair) => {
    if (pair === '') return false;
    const [name] = new URLSearchParams(pair).keys();
    return !REASSEMBLY_KNOWN.has(name ?? '');
  });
  return unknown.length === 0 ? url : [url, ...unknown].join('&');
}

/**
 * E16 `url` (D57): from the body, else from the query string, reassembled (§11.4) unless it came from a JSON body.
 * Missing, empty or not an absolute http/https URL → 400 invalid_parameters (§11.6 step 1). The result is trimmed.
 */
export function flattrUrlParam(request: RestRequest): string {
  let url: string | undefined;
  if (request.body.has('url')) {
    url = scalarText(request.body.get('url'));
    if (request.bodyKind === 'form') url = reassembleUrl(url, request.rawForm ?? '');
  } else if (request.query.has('url')) {
    url = reassembleUrl(request.query.get('url')!, request.rawQuery);
  }
  url = url?.trim();
  if (!url || !isAbsoluteHttpUrl(url)) throw invalidParameters();
  return url;
}

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A POST standing for PATCH, PUT or DELETE (D4): what E10, E19 and E20 declare (the pipeline reads `_method`, and
 * any other body is ignored once it parses).
 */
export const METHOD_OVERRIDE: { parameters: readonly ParameterDeclaration[]; body: NonNullable<RouteDocs['body']> } = {
  parameters: [{ name: '_method', in: 'body', type: 'string', schema: { enum: ['patch', 'put', 'delete', 'PATCH', 'PUT', 'DELETE'] } }],
  body: {
    component: 'MethodOverride',
    description: 'A POST standing for PATCH, PUT or DELETE (D4): `_method` in the body or the query, or `X-HTTP-Method-Override`. Any other body is ignored (it must still parse).',
    required: false,
  },
};
