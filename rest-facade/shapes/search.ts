import { RestError } from '../errors.js';
import { nodes, thing, type Connection, type GqlThing } from './v2-objects.js';

/** The `searchThings` connection as the search operation selects it. */
export interface GqlSearchResult extends Connection<GqlThing> {
  totalCount: number;
}

/** Spec §8.8: keys in table order; `things` are full thing objects for the caller, `full` honoured. */
export function searchEnvelope(result: GqlSearchResult, page: number, full: boolean) {
  const things = nodes(result).map((t) => thing(t, full));
  return { total_items: result.totalCount, items: things.length, page, things };
}

/** E7 found, 302 (§8.11); `location` is `{api}/things/{id}`, with no suffix or query string (D51). */
export const lookupFoundBody = (t: { resourceUrl: string }) => ({ message: 'found', location: t.resourceUrl });

export const NO_THING_FOUND = 'No thing was found';

/** E7 not found, 404: the documented `message` and `description`, then the standard error fields (§8.11, D46). */
export const lookupNotFound = () =>
  new RestError('not_found', NO_THING_FOUND, { leadingFields: { message: 'not_found', description: NO_THING_FOUND } });
