import fs from 'node:fs';
import type { AppConfig } from '../config/config.js';
import { routes as restRoutes } from '../../rest-facade/routes/index.js';
import type { RestRoute } from '../../rest-facade/route.js';
import { FORMATS, type FormatKey } from '../../rest-facade/formats/media-types.js';
import { GRANTABLE_SCOPES, type Scope } from '../services/tokens.js';
import { COMPONENT_SCHEMAS, arrayOf, ref, type Schema } from './openapi-schemas.js';

/**
 * The OpenAPI 3.1 description of REST v2, generated from the route table (rest-facade/routes): every route becomes
 * an operation at its path and method, with its authentication, scope, formats (content types) and status taken
 * from the route itself. What a route declaration does not say in data (its query parameters, body, response
 * schema and own errors) comes from ROUTE_DOCS below, keyed by route name; `buildOpenApi` throws when a route has
 * no entry or an entry has no route, so the two cannot drift (test/openapi.test.ts checks the document too).
 *
 * Two routes can share an OpenAPI operation: `/things/:id` (E5) and `/things/:ids` (E6, comma-separated ids) are
 * one templated path to OpenAPI, so they become one operation whose `x-flattr-routes` names both.
 */

type Tag = 'Users' | 'Things' | 'Flattrs' | 'Subscriptions' | 'Activities' | 'Reference data' | 'Rate limit';

interface RouteDoc {
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** Query parameters, by name in PARAMETERS. */
  query?: string[];
  /** Request body schema name (a JSON or form body). */
  body?: string;
  /** The success body in json, xml and yaml. */
  returns?: Schema;
  /** Endpoint-specific errors (spec §9), by status; the cross-cutting ones are added for every route. */
  errors?: Partial<Record<'400' | '401' | '403' | '404', string>>;
  /** Path parameters whose schema differs from the default one of their name. */
  pathSchemas?: Record<string, { schema: Schema; description: string }>;
}

const LIST = ['count', 'page', 'full'];
const USER_404 = 'not_found "The requested user could not be found".';
const THING_404 = 'not_found "The requested thing(s) could not be found" (no thing with that id).';
const THINGS_404 = 'not_found "The requested thing(s) could not be found" (no thing with that id, or none of the ids).';
const FLATTR_403 = 'flattr_owner (your own thing), flattr_once (already flattred this period).';

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'E23 categories.list': { operationId: 'listCategories', tag: 'Reference data', summary: 'Every category (E23)', returns: arrayOf('Category') },
  'E24 languages.list': { operationId: 'listLanguages', tag: 'Reference data', summary: 'Every language (E24)', returns: arrayOf('Language') },
  'E25 rate_limit.show': {
    operationId: 'showRateLimit',
    tag: 'Rate limit',
    summary: "The caller's rate-limit bucket (E25)",
    description: 'Not counted or limited, and carries no rate-limit headers (spec §7.6).',
    returns: ref('RateLimit'),
  },
  'E1 users.show': { operationId: 'getUser', tag: 'Users', summary: 'A user (E1)', returns: ref('User'), errors: { '404': USER_404 } },
  'E2 user.show': { operationId: 'getAuthenticatedUser', tag: 'Users', summary: "The token's user (E2)", description: '`email` and `registered_at` as D40 allows.', returns: ref('User') },
  'E3 users.things': {
    operationId: 'listUserThings',
    tag: 'Things',
    summary: "A user's things (E3)",
    description: 'Newest first. Hidden things only for their owner. Also Activity Streams (`.as`) and Atom (`.atom`) by suffix (D24).',
    query: LIST,
    returns: arrayOf('Thing'),
    errors: { '404': USER_404 },
  },
  'E4 user.things': { operationId: 'listAuthenticatedUserThings', tag: 'Things', summary: "The token's user's things (E4)", description: 'As E3, hidden things included.', query: LIST, returns: arrayOf('Thing') },
  'E12 users.flattrs': {
    operationId: 'listUserFlattrs',
    tag: 'Flattrs',
    summary: 'Flattrs made by a user (E12)',
    description: 'Newest first; empty when the user hides their flattrs and the caller is someone else (§12.5).',
    query: LIST,
    returns: arrayOf('Flattr'),
    errors: { '404': USER_404 },
  },
  'E13 user.flattrs': { operationId: 'listAuthenticatedUserFlattrs', tag: 'Flattrs', summary: "The token's user's flattrs (E13)", query: LIST, returns: arrayOf('Flattr') },
  'E14 things.flattrs': {
    operationId: 'listThingFlattrs',
    tag: 'Flattrs',
    summary: 'Flattrs on a thing (E14)',
    description: 'Newest first; flattrs of users who hide theirs are left out unless the caller is that user.',
    query: LIST,
    returns: arrayOf('Flattr'),
    errors: { '404': THING_404 },
  },
  'E21 users.activities': {
    operationId: 'listUserActivities',
    tag: 'Activities',
    summary: "A user's activities (E21)",
    description: 'Activity Streams JSON (default, and `.json`) or Atom (`.atom`), spec §13.',
    query: ['type', 'count', 'page'],
    returns: ref('ActivityStream'),
    errors: { '400': 'invalid_parameters (a `type` other than outgoing or incoming).', '404': USER_404 },
  },
  'E22 user.activities': {
    operationId: 'listAuthenticatedUserActivities',
    tag: 'Activities',
    summary: "The token's user's activities (E22)",
    query: ['type', 'count', 'page'],
    returns: ref('ActivityStream'),
    errors: { '400': 'invalid_parameters (a `type` other than outgoing or incoming).' },
  },
  'E17 user.subscriptions': {
    operationId: 'listSubscriptions',
    tag: 'Subscriptions',
    summary: "The token's user's subscriptions (E17)",
    description: 'The whole list, newest first; `count` and `page` are ignored (D59).',
    query: ['full'],
    returns: arrayOf('Subscription'),
  },
  'E18 things.subscribe': {
    operationId: 'subscribe',
    tag: 'Subscriptions',
    summary: 'Subscribe to a thing (E18)',
    returns: ref('Subscribed'),
    errors: { '403': 'thing_owner (your own thing), subscribed (already subscribed, running or paused).', '404': THING_404 },
  },
  'E19 things.subscriptions.toggle': {
    operationId: 'toggleSubscription',
    tag: 'Subscriptions',
    summary: 'Pause or resume a subscription (E19)',
    description: 'Also `POST` with `_method=put` (D4). Any body is ignored.',
    body: 'MethodOverride',
    returns: ref('SubscriptionToggled'),
    errors: { '404': `${THING_404} not_found "No subscription was found".` },
  },
  'E20 things.unsubscribe': {
    operationId: 'unsubscribe',
    tag: 'Subscriptions',
    summary: 'Remove a subscription (E20)',
    description: 'Also `POST` with `_method=delete` (D4).',
    body: 'MethodOverride',
    errors: { '404': `${THING_404} not_found "No subscription was found".` },
  },
  'E15 things.flattr': {
    operationId: 'flattrThing',
    tag: 'Flattrs',
    summary: 'Flattr a thing (E15)',
    description: 'No parameters; a body is ignored once it parses.',
    returns: ref('Flattred'),
    errors: { '401': 'no_means (no money to flattr with; `WWW-Authenticate: Bearer realm="flattr"`).', '403': FLATTR_403, '404': THING_404 },
  },
  'E16 flattr.url': {
    operationId: 'flattrUrl',
    tag: 'Flattrs',
    summary: 'Flattr a URL (E16)',
    description: 'A registered URL or an auto-submit URL (§11.6). `url` from the body, else from the query string (D57); unencoded auto-submit URLs are reassembled (§11.4).',
    query: ['flattrUrl'],
    body: 'FlattrUrl',
    returns: ref('Flattred'),
    errors: {
      '400': 'invalid_parameters (url missing or not an absolute http/https URL); validation (owner mismatch, bad inner url, unsupported owner identifier).',
      '401': 'no_means.',
      '403': FLATTR_403,
      '404': 'not_found "No thing was found".',
    },
  },
  'E7 things.lookup': {
    operationId: 'lookupThing',
    tag: 'Things',
    summary: 'Find the thing of a URL (E7)',
    description: '302 to the thing when found (a `Location` header and the found body), 404 with the lookup not-found body otherwise (§11.5). Hidden things are found too.',
    query: ['lookupUrl'],
    errors: { '400': 'invalid_parameters (no url); validation "Owner mismatch. Current thing owned by other account."' },
  },
  'E7 things.lookup (path form, D98)': {
    operationId: 'lookupThingByPath',
    tag: 'Things',
    summary: 'Find the thing of a URL, path form (E7 alias, D98; deprecated)',
    description:
      'Deprecated alias of `GET /things/lookup?url=`, kept for the beta-era PHP sample client: `{url}` is the whole rest of the path, ' +
      'encoded as PHP `urlencode` does (`+` or `%20` for a space, `%2F` for `/`), decoded once. The answer is exactly that of the query form with the same value and `Accept` header.',
    errors: { '400': 'invalid_parameters (no url); validation "Owner mismatch. Current thing owned by other account."' },
  },
  'E11 things.search': {
    operationId: 'searchThings',
    tag: 'Things',
    summary: 'Search things (E11)',
    description: 'Things that are not hidden matching every filter given (§10). An unknown user, language or category matches nothing (D55).',
    query: ['query', 'searchUrl', 'tags', 'language', 'category', 'user', 'sort', 'count', 'page', 'full'],
    returns: ref('SearchResult'),
    errors: { '400': 'invalid_parameters (unknown sort, malformed tags expression "Invalid tags expression", bad count or page).' },
  },
  'E5 things.show': {
    operationId: 'getThing',
    tag: 'Things',
    summary: 'A thing (E5), or several (E6: ids separated by commas)',
    description: 'One id: the thing (E5). Ids separated by `,` (or `%2C`, D49): the things found, in the order asked, duplicates once (E6, at most 100 ids, D50). Hidden things too (D47).',
    query: ['full'],
    returns: ref('Thing'),
    errors: { '404': THINGS_404 },
  },
  'E6 things.many': {
    operationId: 'getThings',
    tag: 'Things',
    summary: 'Several things (E6)',
    query: ['full'],
    returns: arrayOf('Thing'),
    errors: { '400': 'invalid_parameters (no id, or more than 100 ids).', '404': THINGS_404 },
    pathSchemas: {
      id: { schema: { type: 'string', pattern: ',' }, description: 'Thing ids separated by commas (E6).' },
    },
  },
  'E6 things.many (query form, D48)': {
    operationId: 'getThingsByQuery',
    tag: 'Things',
    summary: 'Several things, ids in the query (E6, D48)',
    query: ['ids', 'full'],
    returns: arrayOf('Thing'),
    errors: { '400': 'invalid_parameters (no id, or more than 100 ids).', '404': THINGS_404 },
  },
  'E8 things.create': {
    operationId: 'createThing',
    tag: 'Things',
    summary: 'Create a thing (E8)',
    description: 'The owner is the token\'s user. 201 with a `Location` header (D52).',
    body: 'ThingCreate',
    returns: ref('ThingCreated'),
    errors: {
      '400': 'validation: "Invalid url", "A thing with that url already exists", "Invalid category", "Invalid language", "Title is too long", "Description is too long", "Invalid value for hidden" (first failure, in parameter order).',
    },
  },
  'E9 things.update': {
    operationId: 'updateThing',
    tag: 'Things',
    summary: 'Update a thing (E9)',
    description: 'Also `POST` with `_method=patch` in the body or query, or `X-HTTP-Method-Override: PATCH` (D4).',
    body: 'ThingUpdate',
    returns: ref('ThingUpdated'),
    errors: { '400': 'validation (as E8, first failure).', '403': 'forbidden "You are not allowed to update the thing".', '404': THING_404 },
  },
  'E10 things.delete': {
    operationId: 'deleteThing',
    tag: 'Things',
    summary: 'Delete a thing (E10)',
    description: 'Also `POST` with `_method=delete` (D4).',
    body: 'MethodOverride',
    errors: { '403': 'forbidden "You are not allowed to delete the thing".', '404': THING_404 },
  },
};

/** Query parameters (components.parameters), by name in ROUTE_DOCS. */
const PARAMETERS: Record<string, Schema> = {
  count: { name: 'count', in: 'query', description: 'Page size (§4.5): default 30, lowered to MAX_PAGE_SIZE.', schema: { type: 'integer', minimum: 1, default: 30 } },
  page: { name: 'page', in: 'query', description: 'Page number, from 1 (§4.5).', schema: { type: 'integer', minimum: 1, default: 1 } },
  full: {
    name: 'full',
    in: 'query',
    description: 'Full nested users and things (§8.5): set when present, unless 0, false, no or off.',
    schema: { type: 'string' },
    allowEmptyValue: true,
  },
  ids: { name: 'id', in: 'query', required: true, description: 'Thing ids separated by commas (at most 100).', schema: { type: 'string' } },
  lookupUrl: { name: 'url', in: 'query', required: true, description: 'The URL to look up (an auto-submit URL too); reassembled when unencoded (§11.4).', schema: { type: 'string' } },
  flattrUrl: { name: 'url', in: 'query', description: 'The URL to flattr, when the body has none (D57).', schema: { type: 'string' } },
  type: { name: 'type', in: 'query', description: 'Which activities: by the user (outgoing) or on their things (incoming).', schema: { type: 'string', enum: ['outgoing', 'incoming'], default: 'outgoing' } },
  query: { name: 'query', in: 'query', description: 'Free-text terms (§10.2).', schema: { type: 'string' } },
  searchUrl: { name: 'url', in: 'query', description: 'Keeps things whose url starts with this value.', schema: { type: 'string' } },
  tags: { name: 'tags', in: 'query', description: 'Tag expression (§10.3), e.g. `music & (rock | jazz) & !live`.', schema: { type: 'string' } },
  language: { name: 'language', in: 'query', description: 'Language ids, separated by commas.', schema: { type: 'string' } },
  category: { name: 'category', in: 'query', description: 'Category ids, separated by commas.', schema: { type: 'string' } },
  user: { name: 'user', in: 'query', description: 'Owner username (case-insensitive).', schema: { type: 'string' } },
  sort: {
    name: 'sort',
    in: 'query',
    description: 'Order (§10.4).',
    schema: { type: 'string', enum: ['relevance', 'trend', 'flattrs', 'flattrs_month', 'flattrs_week', 'flattrs_day'], default: 'relevance' },
  },
  jsonp: {
    name: 'jsonp',
    in: 'query',
    description: 'JSONP callback (§5.10): the JSON body wrapped as `/**/callback(...);`, `application/javascript`. Must match `^[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*$`, at most 100 characters.',
    schema: { type: 'string', maxLength: 100 },
  },
};

/** Path parameters by template name. */
const PATH_PARAMETERS: Record<string, { name: string; schema: Schema; description: string }> = {
  username: { name: 'username', schema: { type: 'string' }, description: 'Username (case-insensitive).' },
  id: { name: 'id', schema: { type: 'integer', minimum: 1 }, description: 'Thing id. One that no thing has, however large, answers 404 not_found.' },
  // D98: the rest of the path, not one decoded segment.
  url: { name: 'url', schema: { type: 'string' }, description: 'The URL to look up, `urlencode`d as one segment (`+` for a space, `%2F` for `/`), decoded once; no format suffix.' },
  // `/things/:ids` is `/things/{id}` to OpenAPI (the same templated path as E5).
  ids: { name: 'id', schema: { type: 'string' }, description: 'Thing ids separated by commas.' },
};

const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Current', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit'];

const HEADERS: Record<string, Schema> = {
  'X-RateLimit-Limit': { description: 'Requests allowed per window (§7.4).', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left in the window.', schema: { type: 'integer' } },
  'X-RateLimit-Current': { description: 'Requests counted in the window.', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'End of the window (unixtime).', schema: { type: 'integer' } },
  'RateLimit-Policy': { description: 'IETF draft policy, e.g. `"hourly";q=5000;w=3600` (D96).', schema: { type: 'string' } },
  RateLimit: { description: 'IETF draft state, e.g. `"hourly";r=4986;t=1234` (D96).', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds until the window ends (at least 1), on rate-limit refusals.', schema: { type: 'integer' } },
  'X-Request-Id': { description: 'The request id (the request\'s own when well-formed, else generated); also in the access log.', schema: { type: 'string' } },
  ETag: { description: 'Strong validator of successful reads; send it back in `If-None-Match` for a 304 (D95).', schema: { type: 'string' } },
  Location: { description: 'The thing\'s API URL.', schema: { type: 'string', format: 'uri' } },
  'WWW-Authenticate': { description: 'Bearer challenge (§6.4).', schema: { type: 'string' } },
};

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

const TAGS: { name: Tag; description: string }[] = [
  { name: 'Users', description: 'Spec §9.1.' },
  { name: 'Things', description: 'Spec §9.2: reading, looking up, searching and writing things.' },
  { name: 'Flattrs', description: 'Spec §9.3.' },
  { name: 'Subscriptions', description: 'Spec §9.4; every call needs scope `flattr`.' },
  { name: 'Activities', description: 'Spec §9.5, §13: Activity Streams JSON and Atom.' },
  { name: 'Reference data', description: 'Spec §9.6, §15.' },
  { name: 'Rate limit', description: 'Spec §7.' },
];

const mediaType = (format: FormatKey) => FORMATS[format].contentType.split(';')[0]!;

/** `/users/:username/things` → `/users/{username}/things`. */
export function openApiPath(routePath: string): string {
  return routePath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => `{${PATH_PARAMETERS[name]?.name ?? name}}`);
}

function pathParameterNames(routePath: string): string[] {
  return [...routePath.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

function successContent(route: RestRoute, doc: RouteDoc): Record<string, { schema: Schema }> {
  const content: Record<string, { schema: Schema }> = {};
  for (const format of route.formats) {
    let schema: Schema;
    if (format === 'as') schema = ref('ActivityStream');
    else if (format === 'atom') schema = ref('AtomFeed');
    else if (format === 'txt') schema = ref('ReferenceText');
    else schema = doc.returns ?? {};
    if (format === 'xml') schema = { ...schema, xml: { name: route.root, ...(schema.type === 'array' ? { wrapped: true } : {}) } };
    content[mediaType(format)] = { schema };
  }
  return content;
}

function errorContent(formats: FormatKey[]): Record<string, { schema: Schema }> {
  const errorFormats = formats.filter((f) => f === 'json' || f === 'xml' || f === 'yaml');
  if (!errorFormats.includes('json')) errorFormats.unshift('json');
  return Object.fromEntries(errorFormats.map((f) => [mediaType(f), { schema: ref('Error') }]));
}

function responses(route: RestRoute, doc: RouteDoc): Record<string, Schema> {
  const counted = route.name !== 'E25 rate_limit.show';
  const isRead = route.method === 'GET';
  const status = String(route.status ?? 200);
  const out: Record<string, Schema> = {};
  const rateHeaders = counted ? Object.fromEntries(RATE_LIMIT_HEADERS.map((h) => [h, headerRef(h)])) : {};
  const common = { 'X-Request-Id': headerRef('X-Request-Id'), ...rateHeaders };
  if (route.name === 'E7 things.lookup') {
    out['302'] = {
      description: 'Found: `Location` is the thing\'s API URL (D51).',
      headers: { ...common, Location: headerRef('Location') },
      content: Object.fromEntries(route.formats.map((f) => [mediaType(f), { schema: ref('LookupFound') }])),
    };
    out['404'] = {
      description: 'No thing has this URL: the lookup not-found body (D46).',
      headers: common,
      content: Object.fromEntries(route.formats.map((f) => [mediaType(f), { schema: ref('LookupNotFound') }])),
    };
  } else if (status === '204') {
    out['204'] = { description: 'Done; no body.', headers: { 'X-Request-Id': headerRef('X-Request-Id') } };
  } else {
    out[status] = {
      description: status === '201' ? 'Created.' : 'OK.',
      headers: { ...common, ...(isRead ? { ETag: headerRef('ETag') } : {}), ...(status === '201' ? { Location: headerRef('Location') } : {}) },
      content: successContent(route, doc),
    };
  }
  if (isRead) out['304'] = { description: 'Not modified (`If-None-Match` matched the ETag); the request is not counted (D95).' };
  const errors = errorContent(route.formats);
  const own = doc.errors ?? {};
  const join = (...parts: (string | undefined | false)[]) => parts.filter(Boolean).join(' ').replace(/;$/, '.');
  out['400'] = {
    description: join(
      'Bad request:',
      route.method === 'GET' ? 'invalid_parameters "Invalid jsonp callback";' : 'invalid_request (a body that cannot be read);',
      own['400'] ?? '',
    ),
    content: errors,
  };
  out['401'] = {
    description: join('unauthorized: the token is invalid', route.auth === 'required' ? 'or missing.' : '(a presented token is always validated).', own['401']),
    headers: { 'WWW-Authenticate': headerRef('WWW-Authenticate') },
    content: errors,
  };
  const forbidden = join(
    counted && 'rate_limit_exceeded (with `Retry-After`);',
    route.scope && `insufficient_scope (the token lacks scope \`${route.scope}\`);`,
    own['403'],
  );
  if (forbidden) out['403'] = { description: `Forbidden: ${forbidden}`, headers: counted ? { 'Retry-After': headerRef('Retry-After') } : {}, content: errors };
  if (own['404'] && !out['404']) out['404'] = { description: own['404'], content: errors };
  out['406'] = { description: 'not_acceptable: no format this route serves matches the suffix or `Accept` (§5.4).', content: errorContent([]) };
  out['500'] = { description: 'server_error.', content: errors };
  return out;
}

function security(route: RestRoute): Schema[] {
  const scopes = route.scope ? [route.scope] : [];
  const token = [{ bearerAuth: scopes }, { oauth2: scopes }, { accessTokenQuery: scopes }];
  return route.auth === 'required' ? token : [{}, ...token];
}

function parameters(route: RestRoute, doc: RouteDoc): Schema[] {
  const out: Schema[] = pathParameterNames(route.path).map((name) => {
    const base = PATH_PARAMETERS[name];
    if (!base) throw new Error(`OpenAPI: no description for path parameter :${name} of ${route.name}`);
    const override = doc.pathSchemas?.[base.name];
    return { name: base.name, in: 'path', required: true, description: override?.description ?? base.description, schema: override?.schema ?? base.schema };
  });
  const query = [...(doc.query ?? [])];
  if (route.method === 'GET' && route.formats.includes('json')) query.push('jsonp');
  for (const name of query) {
    if (!PARAMETERS[name]) throw new Error(`OpenAPI: unknown query parameter "${name}" in ${route.name}`);
    out.push({ $ref: `#/components/parameters/${name}` });
  }
  return out;
}

function requestBody(doc: RouteDoc): Schema | undefined {
  if (!doc.body) return undefined;
  const schema = ref(doc.body);
  return {
    required: doc.body !== 'MethodOverride' && doc.body !== 'FlattrUrl',
    description: 'JSON or form-encoded (§4.2); query parameters count too, the body winning (D17).',
    content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } },
  };
}

function describeFormats(route: RestRoute): string {
  if (route.restOfPath) return `Formats: ${route.formats.join(', ')} (default ${route.formats[0]}); choose with \`Accept\` (§5.3): this path takes no suffix.`;
  const suffixes = route.formats.map((f) => `\`${FORMATS[f].suffix}\``).join(', ');
  return `Formats: ${route.formats.join(', ')} (default ${route.formats[0]}); choose with a suffix on the last path segment (${suffixes}) or \`Accept\` (§5.3).`;
}

function operationFor(route: RestRoute, doc: RouteDoc): Schema {
  const auth =
    route.auth === 'required' ? `Needs a token${route.scope ? ` with scope \`${route.scope}\`` : ''}.` : route.auth === 'optional' ? 'Token optional.' : 'No token needed (one presented is still validated, D12).';
  const body = requestBody(doc);
  return {
    operationId: doc.operationId,
    tags: [doc.tag],
    summary: doc.summary,
    description: [doc.description, auth, describeFormats(route)].filter(Boolean).join('\n\n'),
    parameters: parameters(route, doc),
    ...(body ? { requestBody: body } : {}),
    responses: responses(route, doc),
    security: security(route),
    ...(route.deprecated ? { deprecated: true } : {}),
    'x-flattr-routes': [route.name],
    'x-flattr-auth': route.auth,
    ...(route.scope ? { 'x-flattr-scope': route.scope } : {}),
    'x-flattr-formats': route.formats,
  };
}

function anyOf(a: Schema, b: Schema): Schema {
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  const list = (s: Schema) => (Array.isArray(s.anyOf) && Object.keys(s).length === 1 ? (s.anyOf as Schema[]) : [s]);
  return { anyOf: [...list(a), ...list(b)] };
}

/** Two descriptions as one: the longer when one extends the other, else both. */
function mergeText(a: string, b: string): string {
  const stem = (text: string) => text.replace(/[.;]$/, '');
  if (b.startsWith(stem(a))) return b;
  if (a.startsWith(stem(b))) return a;
  return `${a} ${b}`;
}

/** Two routes on one OpenAPI operation (E5 + E6): one operation naming both, schemas combined with anyOf. */
function merge(a: Schema, b: Schema): Schema {
  const params = [...(a.parameters as Schema[])];
  for (const p of b.parameters as Schema[]) {
    const same = params.findIndex((q) => (q.$ref && q.$ref === p.$ref) || (q.name && q.name === p.name && q.in === p.in));
    if (same < 0) params.push(p);
    else if (!p.$ref) params[same] = { ...params[same], description: `${params[same]!.description} Or: ${p.description}`, schema: anyOf(params[same]!.schema as Schema, p.schema as Schema) };
  }
  const responsesA = a.responses as Record<string, Schema>;
  const responsesB = b.responses as Record<string, Schema>;
  const mergedResponses: Record<string, Schema> = { ...responsesA };
  for (const [status, response] of Object.entries(responsesB)) {
    const existing = mergedResponses[status];
    if (!existing) {
      mergedResponses[status] = response;
      continue;
    }
    const content = { ...((existing.content as Record<string, { schema: Schema }>) ?? {}) };
    for (const [type, media] of Object.entries((response.content as Record<string, { schema: Schema }>) ?? {})) {
      content[type] = content[type] ? { schema: anyOf(content[type]!.schema, media.schema) } : media;
    }
    const description = mergeText(String(existing.description), String(response.description));
    mergedResponses[status] = { ...existing, description, ...(Object.keys(content).length ? { content } : {}) };
  }
  return {
    ...a,
    operationId: `${a.operationId}Or${String(b.operationId).replace(/^./, (c) => c.toUpperCase())}`,
    parameters: params,
    responses: mergedResponses,
    'x-flattr-routes': [...(a['x-flattr-routes'] as string[]), ...(b['x-flattr-routes'] as string[])],
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const SCOPE_HELP: Record<Scope, string> = {
  flattr: 'Flattr things and manage subscriptions.',
  thing: 'Create, update and delete your things.',
  email: 'Read your e-mail address.',
  extendedread: 'Read your e-mail address, registration time and hidden things in search.',
  stats: 'Internal dashboards (admin CLI only).',
};

export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, Schema>> };

/** The document for this deployment (server URL and OAuth endpoints from the configuration). */
export function buildOpenApi(config: Pick<AppConfig, 'apiUrl' | 'siteUrl'>, routes: readonly RestRoute[] = restRoutes): OpenApiDocument {
  const documented = new Set<string>();
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const doc = ROUTE_DOCS[route.name];
    if (!doc) throw new Error(`OpenAPI: route "${route.name}" has no entry in ROUTE_DOCS (src/ops/openapi.ts)`);
    documented.add(route.name);
    const path = openApiPath(route.path);
    const method = route.method.toLowerCase();
    const item = (paths[path] ??= {});
    const operation = operationFor(route, doc);
    item[method] = item[method] ? merge(item[method]!, operation) : operation;
  }
  const orphans = Object.keys(ROUTE_DOCS).filter((name) => !documented.has(name));
  if (orphans.length) throw new Error(`OpenAPI: ROUTE_DOCS entries without a route: ${orphans.join(', ')}`);

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'Flattr REST API v2',
      version: `2 (server ${packageVersion()})`,
      summary: 'The Flattr REST API v2, as old Flattr clients expect it, on a GraphQL core.',
      description: [
        'Generated from the server\'s route table, so it lists exactly the routes that exist.',
        '**Formats**: every route names its formats; pick one with a suffix on the last path segment (`.json`, `.xml`, `.yaml`, `.as`, `.atom`, `.txt`) or with `Accept`; `jsonp=callback` wraps JSON (GET).',
        '**Tokens**: `Authorization: Bearer <token>` (or the draft `OAuth <token>` scheme), the `access_token` query parameter, or an `access_token` body parameter; only one at a time.',
        '**Method override**: a POST with `_method=patch|put|delete` (body or query) or `X-HTTP-Method-Override` stands for that method (D4).',
        '**Rate limit**: every counted response carries `X-RateLimit-*` and IETF `RateLimit` headers; over the limit: 403 rate_limit_exceeded with `Retry-After`.',
        '**CORS**: every response allows any origin; OPTIONS answers preflights for every path.',
        '**Errors**: `{error, error_description, error_uri}` in the negotiated format (JSON for as, atom, txt and 406).',
      ].join('\n\n'),
    },
    servers: [{ url: config.apiUrl, description: 'This deployment (API_URL).' }],
    tags: TAGS,
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      parameters: PARAMETERS,
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An access token: `Authorization: Bearer <token>` (spec §3.1).' },
        accessTokenQuery: { type: 'apiKey', in: 'query', name: 'access_token', description: 'The same token as a query parameter (needed for JSONP).' },
        oauth2: {
          type: 'oauth2',
          description: 'OAuth 2 authorization code flow (spec §14), with PKCE.',
          flows: {
            authorizationCode: {
              authorizationUrl: `${config.siteUrl}/oauth/authorize`,
              tokenUrl: `${config.siteUrl}/oauth/token`,
              scopes: Object.fromEntries(GRANTABLE_SCOPES.map((s) => [s, SCOPE_HELP[s]])),
            },
          },
        },
      },
    },
  };
}
