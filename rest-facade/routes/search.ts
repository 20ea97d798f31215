import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { fullFlag, invalidParameters, pagination, splitList } from '../params.js';
import { reassembleUrl } from '../write-params.js';
import type { RestRequest } from '../request.js';
import { lookupFoundBody, lookupNotFound, searchEnvelope, type GqlSearchResult } from '../shapes/search.js';

/** The v2 description of a malformed `tags` expression (the resolver's message adds the position, which REST leaves out). */
const INVALID_TAGS_EXPRESSION = 'Invalid tags expression';

/** REST `sort` values (§10.4) → the GraphQL enum; `text_rank` is GraphQL only. */
const SORTS: Record<string, string> = {
  relevance: 'RELEVANCE',
  trend: 'TREND',
  flattrs: 'FLATTRS',
  flattrs_month: 'FLATTRS_MONTH',
  flattrs_week: 'FLATTRS_WEEK',
  flattrs_day: 'FLATTRS_DAY',
};

/** §4.5: the page returned, already validated by `pagination`. */
function pageNumber(req: RestRequest): number {
  const raw = req.query.get('page');
  return raw === undefined ? 1 : Number(raw.trim());
}

/** §4.4 comma list; a list with no element left filters nothing (like an absent one). */
function commaList(req: RestRequest, name: string): string[] | null {
  const raw = req.query.get(name);
  if (raw === undefined) return null;
  const list = splitList(raw);
  return list.length > 0 ? list : null;
}

function searchVariables(req: RestRequest) {
  const page = pagination(req);
  const sort = req.query.get('sort') ?? 'relevance';
  if (!Object.hasOwn(SORTS, sort)) throw invalidParameters();
  return {
    query: req.query.get('query') ?? null,
    url: req.query.get('url') ?? null,
    tags: req.query.get('tags') ?? null,
    languages: commaList(req, 'language'),
    categories: commaList(req, 'category'),
    user: req.query.get('user') ?? null,
    sort: SORTS[sort],
    ...page,
    full: fullFlag(req),
  };
}

/**
 * E7 `url`: required; reassembled from the raw query string when unknown parameters came with it (§11.4, D71),
 * then trimmed. Missing or empty → 400 invalid_parameters.
 */
function lookupUrl(req: RestRequest): string {
  const url = req.query.get('url');
  if (url === undefined) throw invalidParameters();
  const effective = reassembleUrl(url, req.rawQuery).trim();
  if (effective === '') throw invalidParameters();
  return effective;
}

/**
 * D98: `/things/lookup/q/{url}`, the url being the whole rest of the path as PHP's `urlencode` writes it. It is
 * decoded once, exactly as a `url=` query value is (§4.1: `+` is a space, then percent-decoding), so the alias
 * answers as `/things/lookup?url=` with the same value. A literal `&` in the path is part of the url, not a
 * separator. Nothing is reassembled (§11.4 concerns unknown parameters beside `url` in the same query string).
 */
function lookupPathUrl(req: RestRequest): string {
  const raw = req.params.url ?? '';
  const decoded = new URLSearchParams(`url=${raw.replaceAll('&', '%26')}`).get('url') ?? '';
  const effective = decoded.trim();
  if (effective === '') throw invalidParameters();
  return effective;
}

type LookupData = { lookupThing: { resourceUrl: string } | null };

const lookupRoute = {
  method: 'GET',
  auth: 'optional',
  family: 'things',
  formats: PLAIN_FORMATS,
  root: 'response',
  operation: 'LookupThing',
  status: 302,
  shape: (data: LookupData) => {
    if (!data.lookupThing) throw lookupNotFound();
    return lookupFoundBody(data.lookupThing);
  },
  headers: (data: LookupData) => ({ Location: data.lookupThing!.resourceUrl }),
} as const;

/** E7, E11: literal segments under /things/, listed before `/things/:id` (spec §9.0). */
export const searchRoutes: RestRoute[] = [
  {
    ...lookupRoute,
    name: 'E7 things.lookup',
    path: '/things/lookup',
    variables: (req) => ({ url: lookupUrl(req) }),
  },
  {
    // D98: the beta-era path form, served exactly like E7; deprecated, and without a format suffix.
    ...lookupRoute,
    name: 'E7 things.lookup (path form, D98)',
    path: '/things/lookup/q/:url',
    restOfPath: true,
    deprecated: true,
    variables: (req) => ({ url: lookupPathUrl(req) }),
  },
  {
    name: 'E11 things.search',
    method: 'GET',
    path: '/things/search',
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'search',
    operation: 'SearchThings',
    variables: searchVariables,
    // §10.3: the resolver refuses a malformed expression (BAD_USER_INPUT on `tags`, reason INVALID_PARAMETERS, with
    // its position); REST answers it with the canonical text alone.
    argumentErrors: { tags: INVALID_TAGS_EXPRESSION },
    shape: (data: { searchThings: GqlSearchResult }, req) => searchEnvelope(data.searchThings, pageNumber(req), fullFlag(req)),
  },
];
