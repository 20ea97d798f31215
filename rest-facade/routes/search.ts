import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { fullFlag, invalidParameters, pagination, splitList } from '../params.js';
import { reassembleUrl } from '../write-params.js';
import type { RestRequest } from '../request.js';
import { lookupFoundBody, lookupNotFound, searchEnvelope, type GqlSearchResult } from '../shapes/search.js';
import { INVALID_TAGS_EXPRESSION, TagExpressionError, parseTagExpression } from '../../src/services/search/tag-expression.js';

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

/**
 * §10.3: a malformed expression is `invalid_parameters` with the canonical text "Invalid tags expression"
 * (step 11). The same parser runs again in the resolver, whose GraphQL error carries the position.
 */
function tagsExpression(req: RestRequest): string | null {
  const tags = req.query.get('tags');
  if (tags === undefined) return null;
  try {
    parseTagExpression(tags);
  } catch (error) {
    if (error instanceof TagExpressionError) throw invalidParameters(INVALID_TAGS_EXPRESSION);
    throw error;
  }
  return tags;
}

function searchVariables(req: RestRequest) {
  const page = pagination(req);
  const sort = req.query.get('sort') ?? 'relevance';
  if (!Object.hasOwn(SORTS, sort)) throw invalidParameters();
  return {
    query: req.query.get('query') ?? null,
    url: req.query.get('url') ?? null,
    tags: tagsExpression(req),
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

type LookupData = { lookupThing: { resourceUrl: string } | null };

/** E7, E11: literal segments under /things/, listed before `/things/:id` (spec §9.0). */
export const searchRoutes: RestRoute[] = [
  {
    name: 'E7 things.lookup',
    method: 'GET',
    path: '/things/lookup',
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'response',
    operation: 'LookupThing',
    status: 302,
    variables: (req) => ({ url: lookupUrl(req) }),
    shape: (data: LookupData) => {
      if (!data.lookupThing) throw lookupNotFound();
      return lookupFoundBody(data.lookupThing);
    },
    headers: (data: LookupData) => ({ Location: data.lookupThing!.resourceUrl }),
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
    shape: (data: { searchThings: GqlSearchResult }, req) => searchEnvelope(data.searchThings, pageNumber(req), fullFlag(req)),
  },
];
