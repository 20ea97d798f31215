import { PLAIN_FORMATS, operationRoute, schemaRef, type OperationRoute, type ParameterDeclaration, type RestRoute } from '../route.js';
import { FULL, PAGINATION, fullFlag, invalidParameters, pagination, splitList } from '../params.js';
import { reassembleUrl } from '../write-params.js';
import type { RestRequest } from '../request.js';
import { lookupFoundBody, lookupNotFound, searchEnvelope } from '../shapes/search.js';

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

const text = (name: string, description: string, component = name): ParameterDeclaration => ({ name, in: 'query', component, type: 'string', description });

/** E11's parameters, in the order OpenAPI lists them. */
const SEARCH_PARAMETERS: readonly ParameterDeclaration[] = [
  text('query', 'Free-text terms (§10.2).'),
  text('url', 'Keeps things whose url starts with this value.', 'searchUrl'),
  text('tags', 'Tag expression (§10.3), e.g. `music & (rock | jazz) & !live`.'),
  text('language', 'Language ids, separated by commas.'),
  text('category', 'Category ids, separated by commas.'),
  text('user', 'Owner username (case-insensitive).'),
  {
    name: 'sort',
    in: 'query',
    component: 'sort',
    type: 'string',
    schema: { enum: ['relevance', 'trend', 'flattrs', 'flattrs_month', 'flattrs_week', 'flattrs_day'] },
    default: 'relevance',
    description: 'Order (§10.4).',
  },
  ...PAGINATION,
  FULL,
];

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

const LOOKUP_400 = 'invalid_parameters (no url); validation "Owner mismatch. Current thing owned by other account."';

const lookupRoute = {
  method: 'GET',
  auth: 'optional',
  family: 'things',
  formats: PLAIN_FORMATS,
  root: 'response',
  operation: 'LookupThing',
  status: 302,
  shape: (data) => {
    if (!data.lookupThing) throw lookupNotFound();
    return lookupFoundBody(data.lookupThing);
  },
  headers: (data) => ({ Location: data.lookupThing!.resourceUrl }),
} satisfies Partial<OperationRoute<'LookupThing'>>;

/** E7, E11: literal segments under /things/, listed before `/things/:id` (spec §9.0). */
export const searchRoutes: RestRoute[] = [
  operationRoute({
    ...lookupRoute,
    name: 'E7 things.lookup',
    path: '/things/lookup',
    parameters: [
      {
        name: 'url',
        in: 'query',
        component: 'lookupUrl',
        type: 'string',
        required: true,
        description: 'The URL to look up (an auto-submit URL too); reassembled when unencoded (§11.4).',
      },
    ],
    openapi: {
      operationId: 'lookupThing',
      tag: 'Things',
      summary: 'Find the thing of a URL (E7)',
      description:
        '302 to the thing when found (a `Location` header and the found body), 404 with the lookup not-found body otherwise (§11.5). Hidden things are found too.',
      errors: { '400': LOOKUP_400 },
      responses: {
        '302': { description: "Found: `Location` is the thing's API URL (D51).", schema: 'LookupFound', location: true },
        '404': { description: 'No thing has this URL: the lookup not-found body (D46).', schema: 'LookupNotFound' },
      },
    },
    variables: (req) => ({ url: lookupUrl(req) }),
  }),
  operationRoute({
    // D98: the beta-era path form, served exactly like E7; deprecated, and without a format suffix.
    ...lookupRoute,
    name: 'E7 things.lookup (path form, D98)',
    path: '/things/lookup/q/:url',
    restOfPath: true,
    deprecated: true,
    parameters: [
      {
        name: 'url',
        in: 'path',
        type: 'string',
        description: 'The URL to look up, `urlencode`d as one segment (`+` for a space, `%2F` for `/`), decoded once; no format suffix.',
      },
    ],
    openapi: {
      operationId: 'lookupThingByPath',
      tag: 'Things',
      summary: 'Find the thing of a URL, path form (E7 alias, D98; deprecated)',
      description:
        'Deprecated alias of `GET /things/lookup?url=`, kept for the beta-era PHP sample client: `{url}` is the whole rest of the path, ' +
        'encoded as PHP `urlencode` does (`+` or `%20` for a space, `%2F` for `/`), decoded once. The answer is exactly that of the query form with the same value and `Accept` header.',
      errors: { '400': LOOKUP_400 },
    },
    variables: (req) => ({ url: lookupPathUrl(req) }),
  }),
  operationRoute({
    name: 'E11 things.search',
    method: 'GET',
    path: '/things/search',
    auth: 'optional',
    family: 'things',
    formats: PLAIN_FORMATS,
    root: 'search',
    operation: 'SearchThings',
    parameters: SEARCH_PARAMETERS,
    openapi: {
      operationId: 'searchThings',
      tag: 'Things',
      summary: 'Search things (E11)',
      description: 'Things that are not hidden matching every filter given (§10). An unknown user, language or category matches nothing (D55).',
      returns: schemaRef('SearchResult'),
      errors: { '400': 'invalid_parameters (unknown sort, malformed tags expression "Invalid tags expression", bad count or page).' },
    },
    variables: searchVariables,
    // §10.3: the resolver refuses a malformed expression (BAD_USER_INPUT on `tags`, reason INVALID_PARAMETERS, with
    // its position); REST answers it with the canonical text alone.
    argumentErrors: { tags: INVALID_TAGS_EXPRESSION },
    shape: (data, req) => searchEnvelope(data.searchThings, pageNumber(req), fullFlag(req)),
  }),
];
