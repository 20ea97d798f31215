import { offsetToCursor } from '@pothos/plugin-relay';
import { RestError } from './errors.js';
import type { RestRequest } from './request.js';

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

export function isThingId(value: string): boolean {
  return /^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= 2_147_483_647;
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

/** No listing holds this many rows; larger pages are simply past the end. */
const LAST_PAGE_OFFSET = 2 ** 31;

/** Spec §4.5: `count` (default 30, lowered to MAX_PAGE_SIZE) and 1-based `page` → connection arguments. */
export function pagination(request: RestRequest): { first: number; after: string | null } {
  const count = Math.min(positiveInteger(request.query.get('count'), 30), request.maxPageSize);
  const page = positiveInteger(request.query.get('page'), 1);
  const offset = Math.min((page - 1) * count, LAST_PAGE_OFFSET);
  return { first: count, after: offset > 0 ? offsetToCursor(offset - 1) : null };
}
