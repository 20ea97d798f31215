import fs from 'node:fs';
import type { AppConfig } from '../config/config.js';
import { routes as restRoutes } from '../../rest-facade/routes/index.js';
import type { OpenApiTag, ParameterDeclaration, RestRoute } from '../../rest-facade/route.js';
import { JSONP } from '../../rest-facade/params.js';
import { FORMATS, type FormatKey } from '../../rest-facade/formats/media-types.js';
import { GRANTABLE_SCOPES, type Scope } from '../services/tokens.js';
import { COMPONENT_SCHEMAS, ref, type Schema } from './openapi-schemas.js';

/**
 * The OpenAPI 3.1 description of REST v2, generated from the route declarations (rest-facade/routes): every route
 * becomes an operation at its path and method, with its authentication, scope, formats (content types) and status,
 * its declared parameters (path and query ones as parameters, body ones as the properties of its request body's
 * object schema) and its OpenAPI text (`openapi`: summary, description, success body, own errors), all taken from
 * the declaration itself. What is the same for every route (rate-limit headers, the cross-cutting errors, `jsonp`,
 * security) is added here. Shared object schemas are in openapi-schemas.ts.
 *
 * Two routes can share an OpenAPI operation: `/things/:id` (E5) and `/things/:ids` (E6, comma-separated ids) are
 * one templated path to OpenAPI, so they become one operation whose `x-flattr-routes` names both.
 */

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

const TAGS: { name: OpenApiTag; description: string }[] = [
  { name: 'Users', description: 'Spec §9.1.' },
  { name: 'Things', description: 'Spec §9.2: reading, looking up, searching and writing things.' },
  { name: 'Flattrs', description: 'Spec §9.3.' },
  { name: 'Subscriptions', description: 'Spec §9.4; every call needs scope `flattr`.' },
  { name: 'Activities', description: 'Spec §9.5, §13: Activity Streams JSON and Atom.' },
  { name: 'Reference data', description: 'Spec §9.6, §15.' },
  { name: 'Rate limit', description: 'Spec §7.' },
];

const mediaType = (format: FormatKey) => FORMATS[format].contentType.split(';')[0]!;

/** The route's declared path parameter `:name`; every one must be declared. */
function pathParameter(route: Pick<RestRoute, 'name' | 'parameters'>, name: string): ParameterDeclaration {
  const declared = route.parameters.find((p) => p.in === 'path' && p.name === name);
  if (!declared) throw new Error(`OpenAPI: path parameter :${name} of ${route.name} is not declared`);
  return declared;
}

/** `/users/:username/things` → `/users/{username}/things` (`/things/:ids` → `/things/{id}`: its `openApiName`). */
export function openApiPath(route: Pick<RestRoute, 'name' | 'path' | 'parameters'>): string {
  return route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => `{${openApiName(pathParameter(route, name))}}`);
}

function pathParameterNames(routePath: string): string[] {
  return [...routePath.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

const openApiName = (p: ParameterDeclaration) => p.openApiName ?? p.name;

/** A declared parameter's schema: its type, the rest of its schema, its default. */
function parameterSchema(p: ParameterDeclaration): Schema {
  return { ...(p.type ? { type: p.type } : {}), ...p.schema, ...(p.default !== undefined ? { default: p.default } : {}) };
}

/** A path or query parameter as an OpenAPI Parameter Object. */
function parameterObject(p: ParameterDeclaration): Schema {
  const required = p.in === 'path' || p.required === true;
  return {
    name: openApiName(p),
    in: p.in,
    ...(required ? { required: true } : {}),
    description: p.description,
    schema: parameterSchema(p),
    ...(p.allowEmptyValue ? { allowEmptyValue: true } : {}),
  };
}

/** A body parameter as a property of the request body's object schema. */
function propertySchema(p: ParameterDeclaration): Schema {
  return {
    ...(p.type ? { type: p.type } : {}),
    ...(p.description !== undefined ? { description: p.description } : {}),
    ...p.schema,
    ...(p.default !== undefined ? { default: p.default } : {}),
  };
}

/**
 * Where the generated components come in the document: the order they had when they were a hand-written table, so
 * that the document stays byte-identical for whoever diffs it. Presentation only: a name not listed comes after
 * these, in the order of the routes declaring it, and a listed name no route declares is not emitted.
 */
const COMPONENT_ORDER = {
  parameters: ['count', 'page', 'full', 'ids', 'lookupUrl', 'flattrUrl', 'type', 'query', 'searchUrl', 'tags', 'language', 'category', 'user', 'sort', 'jsonp'],
  schemas: ['ThingCreate', 'ThingUpdate', 'FlattrUrl', 'MethodOverride'],
};

function inOrder(components: Record<string, Schema>, order: string[]): Record<string, Schema> {
  const listed = order.filter((name) => Object.hasOwn(components, name));
  const rest = Object.keys(components).filter((name) => !order.includes(name));
  return Object.fromEntries([...listed, ...rest].map((name) => [name, components[name]!]));
}

/** Components built from the declarations; one name, one content (two routes declaring it differently fail). */
class Components {
  readonly parameters: Record<string, Schema> = {};
  readonly schemas: Record<string, Schema> = {};

  add(kind: 'parameters' | 'schemas', name: string, value: Schema, owner: string): void {
    const existing = this[kind][name];
    if (kind === 'schemas' && Object.hasOwn(COMPONENT_SCHEMAS, name)) throw new Error(`OpenAPI: ${owner} declares ${name}, a schema of openapi-schemas.ts`);
    if (existing && JSON.stringify(existing) !== JSON.stringify(value)) throw new Error(`OpenAPI: ${owner} declares ${kind} ${name} unlike another route`);
    this[kind][name] = value;
  }
}

function successContent(route: RestRoute): Record<string, { schema: Schema }> {
  const content: Record<string, { schema: Schema }> = {};
  for (const format of route.formats) {
    let schema: Schema;
    if (format === 'as') schema = ref('ActivityStream');
    else if (format === 'atom') schema = ref('AtomFeed');
    else if (format === 'txt') schema = ref('ReferenceText');
    else schema = route.openapi.returns ?? {};
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

function responses(route: RestRoute): Record<string, Schema> {
  const doc = route.openapi;
  const counted = route.kind !== 'rate_limit';
  const isRead = route.method === 'GET';
  const status = String(route.status ?? 200);
  const out: Record<string, Schema> = {};
  const rateHeaders = counted ? Object.fromEntries(RATE_LIMIT_HEADERS.map((h) => [h, headerRef(h)])) : {};
  const common = { 'X-Request-Id': headerRef('X-Request-Id'), ...rateHeaders };
  if (doc.responses) {
    for (const [code, response] of Object.entries(doc.responses)) {
      out[code] = {
        description: response.description,
        headers: { ...common, ...(response.location ? { Location: headerRef('Location') } : {}) },
        content: Object.fromEntries(route.formats.map((f) => [mediaType(f), { schema: ref(response.schema) }])),
      };
    }
  } else if (status === '204') {
    out['204'] = { description: 'Done; no body.', headers: { 'X-Request-Id': headerRef('X-Request-Id') } };
  } else {
    out[status] = {
      description: status === '201' ? 'Created.' : 'OK.',
      headers: { ...common, ...(isRead ? { ETag: headerRef('ETag') } : {}), ...(status === '201' ? { Location: headerRef('Location') } : {}) },
      content: successContent(route),
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

/** Path parameters in path order, then the declared query ones, then `jsonp` (GET routes serving JSON). */
function parameters(route: RestRoute, components: Components): Schema[] {
  for (const p of route.parameters) {
    if (p.in === 'path' && !pathParameterNames(route.path).includes(p.name)) throw new Error(`OpenAPI: ${route.name} declares path parameter ${p.name}, not in ${route.path}`);
  }
  const out: Schema[] = pathParameterNames(route.path).map((name) => parameterObject(pathParameter(route, name)));
  const query = route.parameters.filter((p) => p.in === 'query');
  if (route.method === 'GET' && route.formats.includes('json')) query.push(JSONP);
  for (const p of query) {
    if (!p.component) {
      out.push(parameterObject(p));
      continue;
    }
    // `jsonp` is the pipeline's, added once (buildOpenApi).
    if (p !== JSONP) components.add('parameters', p.component, parameterObject(p), route.name);
    out.push({ $ref: `#/components/parameters/${p.component}` });
  }
  return out;
}

const REQUEST_BODY_TEXT = 'JSON or form-encoded (§4.2); query parameters count too, the body winning (D17).';

/** The request body: an object schema of the declared body parameters, as the component the route names. */
function requestBody(route: RestRoute, components: Components): Schema | undefined {
  const declared = route.parameters.filter((p) => p.in === 'body');
  const body = route.openapi.body;
  if (!body) {
    if (declared.length) throw new Error(`OpenAPI: ${route.name} declares body parameters but no request body`);
    return undefined;
  }
  const required = declared.filter((p) => p.required).map((p) => p.name);
  const object: Schema = {
    type: 'object',
    description: body.description,
    properties: Object.fromEntries(declared.map((p) => [p.name, propertySchema(p)])),
    ...(required.length ? { required } : {}),
  };
  components.add('schemas', body.component, object, route.name);
  const schema = ref(body.component);
  return {
    required: body.required,
    description: REQUEST_BODY_TEXT,
    content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } },
  };
}

function describeFormats(route: RestRoute): string {
  if (route.restOfPath) return `Formats: ${route.formats.join(', ')} (default ${route.formats[0]}); choose with \`Accept\` (§5.3): this path takes no suffix.`;
  const suffixes = route.formats.map((f) => `\`${FORMATS[f].suffix}\``).join(', ');
  return `Formats: ${route.formats.join(', ')} (default ${route.formats[0]}); choose with a suffix on the last path segment (${suffixes}) or \`Accept\` (§5.3).`;
}

function operationFor(route: RestRoute, components: Components): Schema {
  const doc = route.openapi;
  const auth =
    route.auth === 'required' ? `Needs a token${route.scope ? ` with scope \`${route.scope}\`` : ''}.` : route.auth === 'optional' ? 'Token optional.' : 'No token needed (one presented is still validated, D12).';
  const body = requestBody(route, components);
  return {
    operationId: doc.operationId,
    tags: [doc.tag],
    summary: doc.summary,
    description: [doc.description, auth, describeFormats(route)].filter(Boolean).join('\n\n'),
    parameters: parameters(route, components),
    ...(body ? { requestBody: body } : {}),
    responses: responses(route),
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
  const components = new Components();
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const path = openApiPath(route);
    const method = route.method.toLowerCase();
    const item = (paths[path] ??= {});
    const operation = operationFor(route, components);
    item[method] = item[method] ? merge(item[method]!, operation) : operation;
  }
  if (routes.some((route) => route.method === 'GET' && route.formats.includes('json'))) components.add('parameters', JSONP.component!, parameterObject(JSONP), 'the pipeline');

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
      schemas: { ...COMPONENT_SCHEMAS, ...inOrder(components.schemas, COMPONENT_ORDER.schemas) },
      parameters: inOrder(components.parameters, COMPONENT_ORDER.parameters),
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
