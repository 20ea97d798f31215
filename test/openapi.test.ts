import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { routes } from '../rest-facade/routes/index.js';
import type { RestRoute } from '../rest-facade/route.js';
import { FORMATS } from '../rest-facade/formats/media-types.js';
import { buildOpenApi, openApiPath, type OpenApiDocument } from '../src/ops/openapi.js';
import { COMPONENT_SCHEMAS } from '../src/ops/openapi-schemas.js';

/** OpenAPI 3.1 at /rest/v2/openapi.json and the /docs page (issue 8, item 5). */

let app: TestApp;
let doc: OpenApiDocument;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '1', API_URL: 'https://api.example.org/rest/v2', SITE_URL: 'https://example.org' });
  const res = await request(app.baseUrl, '/rest/v2/openapi.json');
  expect(res.status).toBe(200);
  doc = res.json();
});
afterAll(() => app?.close());

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
type Operation = Record<string, any>;

function operations(document: OpenApiDocument): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ path, method, operation: operation as Operation })),
  );
}

/** Every `$ref` anywhere in the document, with where it is. */
function refs(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refs(v, `${at}/${k}`)));
  }
  return [];
}

function resolvePointer(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), document);
}

/** Structural checks of OpenAPI 3.1 (the parts this document uses); returns the problems found. */
function validate(document: OpenApiDocument): string[] {
  const problems: string[] = [];
  const d = document as Record<string, any>;
  if (!/^3\.1\.\d+$/.test(d.openapi)) problems.push(`openapi is ${d.openapi}`);
  if (typeof d.info?.title !== 'string' || typeof d.info?.version !== 'string') problems.push('info.title and info.version are required strings');
  if (!d.paths || typeof d.paths !== 'object') problems.push('paths is required');
  for (const key of Object.keys(d)) {
    if (!['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'].includes(key) && !key.startsWith('x-')) {
      problems.push(`unknown top-level field ${key}`);
    }
  }
  for (const server of d.servers ?? []) if (typeof server.url !== 'string') problems.push('server without url');
  const templates = new Map<string, string>();
  for (const path of Object.keys(d.paths)) {
    if (!path.startsWith('/')) problems.push(`path ${path} does not start with /`);
    const shape = path.replace(/\{[^}]+\}/g, '{}');
    if (templates.has(shape)) problems.push(`paths ${templates.get(shape)} and ${path} are the same template`);
    templates.set(shape, path);
  }
  const operationIds = new Set<string>();
  const tagNames = new Set((d.tags ?? []).map((t: { name: string }) => t.name));
  const schemes = d.components?.securitySchemes ?? {};
  for (const { path, method, operation } of operations(document)) {
    const where = `${method.toUpperCase()} ${path}`;
    if (typeof operation.operationId !== 'string') problems.push(`${where}: no operationId`);
    else if (operationIds.has(operation.operationId)) problems.push(`${where}: duplicate operationId ${operation.operationId}`);
    operationIds.add(operation.operationId);
    for (const tag of operation.tags ?? []) if (!tagNames.has(tag)) problems.push(`${where}: undeclared tag ${tag}`);
    const responses = operation.responses ?? {};
    if (Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
    for (const [status, response] of Object.entries<any>(responses)) {
      if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) problems.push(`${where}: bad status ${status}`);
      const resolved = response.$ref ? resolvePointer(document, response.$ref) : response;
      if (typeof (resolved as any)?.description !== 'string') problems.push(`${where} ${status}: no description`);
      for (const type of Object.keys((resolved as any)?.content ?? {})) if (!/^[a-z]+\/[a-z0-9.+-]+$/.test(type)) problems.push(`${where} ${status}: bad media type ${type}`);
    }
    const seen = new Set<string>();
    const pathParams = new Set<string>();
    for (const raw of operation.parameters ?? []) {
      const p: any = raw.$ref ? resolvePointer(document, raw.$ref) : raw;
      if (!p) continue; // reported with the refs
      if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in)) problems.push(`${where}: bad parameter ${JSON.stringify(p)}`);
      if (!p.schema && !p.content) problems.push(`${where}: parameter ${p.name} has neither schema nor content`);
      const key = `${p.in}:${p.name}`;
      if (seen.has(key)) problems.push(`${where}: parameter ${key} twice`);
      seen.add(key);
      if (p.in === 'path') {
        pathParams.add(p.name);
        if (p.required !== true) problems.push(`${where}: path parameter ${p.name} must be required`);
      }
    }
    const templated = new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
    for (const name of templated) if (!pathParams.has(name)) problems.push(`${where}: {${name}} has no path parameter`);
    for (const name of pathParams) if (!templated.has(name)) problems.push(`${where}: path parameter ${name} is not in the path`);
    if (operation.requestBody && !operation.requestBody.content) problems.push(`${where}: requestBody without content`);
    for (const requirement of operation.security ?? []) {
      for (const [scheme, scopes] of Object.entries<string[]>(requirement)) {
        if (!schemes[scheme]) problems.push(`${where}: unknown security scheme ${scheme}`);
        if (schemes[scheme]?.type === 'oauth2') {
          const known = Object.keys(schemes[scheme].flows.authorizationCode.scopes);
          for (const scope of scopes) if (!known.includes(scope)) problems.push(`${where}: unknown oauth2 scope ${scope}`);
        }
      }
    }
  }
  for (const [name, scheme] of Object.entries<any>(schemes)) {
    if (!['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(scheme.type)) problems.push(`security scheme ${name}: bad type`);
    if (scheme.type === 'http' && typeof scheme.scheme !== 'string') problems.push(`security scheme ${name}: no scheme`);
    if (scheme.type === 'apiKey' && (!scheme.name || !['query', 'header', 'cookie'].includes(scheme.in))) problems.push(`security scheme ${name}: bad apiKey`);
  }
  for (const { ref, at } of refs(document)) if (resolvePointer(document, ref) === undefined) problems.push(`${at}: $ref ${ref} does not resolve`);
  return problems;
}

describe('GET /rest/v2/openapi.json', () => {
  it('is a structurally valid OpenAPI 3.1 document for this deployment', () => {
    expect(validate(doc)).toEqual([]);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'https://api.example.org/rest/v2', description: expect.any(String) }]);
    expect((doc.components as any).securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect((doc.components as any).securitySchemes.oauth2.flows.authorizationCode).toMatchObject({
      authorizationUrl: 'https://example.org/oauth/authorize',
      tokenUrl: 'https://example.org/oauth/token',
    });
    // `stats` is internal: never offered through OAuth.
    expect(Object.keys((doc.components as any).securitySchemes.oauth2.flows.authorizationCode.scopes)).toEqual(['flattr', 'thing', 'email', 'extendedread']);
  });

  it('(the structural check catches broken documents)', () => {
    const broken = JSON.parse(JSON.stringify(doc));
    broken.openapi = '3.0.3';
    broken.paths['/things/{ids}'] = broken.paths['/things/{id}'];
    broken.paths['/user'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nope' };
    broken.paths['/user'].get.security = [{ nope: [] }];
    delete broken.paths['/users/{username}'].get.parameters;
    expect(validate(broken)).toEqual(
      expect.arrayContaining([
        'openapi is 3.0.3',
        'paths /things/{id} and /things/{ids} are the same template',
        expect.stringContaining('duplicate operationId'),
        expect.stringContaining('$ref #/components/schemas/Nope does not resolve'),
        'GET /user: unknown security scheme nope',
        'GET /users/{username}: {username} has no path parameter',
      ]),
    );
  });

  it('describes every route of the route table, and nothing else', () => {
    const described = new Map<string, string>();
    for (const { path, method, operation } of operations(doc)) {
      for (const name of operation['x-flattr-routes']) described.set(name, `${method.toUpperCase()} ${path}`);
    }
    const expected = new Map(routes.map((route) => [route.name, `${route.method} ${openApiPath(route)}`]));
    expect(Object.fromEntries(described)).toEqual(Object.fromEntries(expected));
  });

  it("lists exactly each route's declared parameters, and its body ones as its request body's properties", () => {
    for (const route of routes) {
      const single = buildOpenApi(app.config, [route]);
      const operation = operations(single)[0]!.operation;
      const listed = (operation.parameters as any[]).map((p) => (p.$ref ? resolvePointer(single, p.$ref) : p) as any).map((p) => `${p.in} ${p.name}`);
      const jsonp = route.method === 'GET' && route.formats.includes('json') ? ['query jsonp'] : [];
      const declared = route.parameters.filter((p) => p.in !== 'body').map((p) => `${p.in} ${p.openApiName ?? p.name}`);
      expect(listed.sort(), route.name).toEqual([...declared, ...jsonp].sort());
      const body = route.parameters.filter((p) => p.in === 'body').map((p) => p.name);
      const schema = operation.requestBody ? (resolvePointer(single, operation.requestBody.content['application/json'].schema.$ref) as any) : undefined;
      expect(Object.keys(schema?.properties ?? {}), route.name).toEqual(body);
    }
  });

  it('keeps the D98 path form marked deprecated, and only it', () => {
    const deprecated = operations(doc).filter((o) => o.operation.deprecated).map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(deprecated).toEqual(['GET /things/lookup/q/{url}']);
  });

  it('takes auth, scope, formats and success status from each route', () => {
    const byName = new Map(operations(doc).flatMap((o) => (o.operation['x-flattr-routes'] as string[]).map((name) => [name, o.operation] as const)));
    for (const route of routes) {
      const operation = byName.get(route.name)!;
      expect(operation['x-flattr-auth'], route.name).toBe(route.auth);
      expect(operation['x-flattr-scope'], route.name).toBe(route.scope);
      expect(operation['x-flattr-formats'], route.name).toEqual(route.formats);
      const status = route.name === 'E7 things.lookup' ? '302' : String(route.status ?? 200);
      const success = operation.responses[status];
      expect(success, `${route.name} ${status}`).toBeDefined();
      if (status !== '204') expect(Object.keys(success.content).sort(), route.name).toEqual(route.formats.map((f) => FORMATS[f].contentType.split(';')[0]).sort());
      if (route.auth === 'required') expect(operation.security.some((s: object) => Object.keys(s).length === 0), route.name).toBe(false);
      else expect(operation.security, route.name).toContainEqual({});
      if (route.scope) expect(operation.security, route.name).toContainEqual({ bearerAuth: [route.scope] });
      for (const code of ['400', '401', '406', '500']) expect(operation.responses[code], `${route.name} ${code}`).toBeDefined();
      expect(operation.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it('has a parameter for every path segment and the documented query parameters', () => {
    const search = doc.paths['/things/search']!.get!;
    const names = (search.parameters as any[]).map((p) => (p.$ref ? resolvePointer(doc, p.$ref) : p)).map((p: any) => p.name);
    expect(names).toEqual(['query', 'url', 'tags', 'language', 'category', 'user', 'sort', 'count', 'page', 'full', 'jsonp']);
    const show = doc.paths['/things/{id}']!.get!;
    expect(show['x-flattr-routes']).toEqual(['E5 things.show', 'E6 things.many']);
    const id = (show.parameters as any[]).find((p) => p.in === 'path');
    expect(id.schema.anyOf).toHaveLength(2);
    expect((doc.paths['/things/{id}']!.patch as any).requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ThingUpdate' });
    expect((doc.paths['/things']!.post as any).responses['201'].headers.Location).toEqual({ $ref: '#/components/headers/Location' });
  });

  it('has a schema for every v2 object', () => {
    for (const name of ['User', 'MiniUser', 'Thing', 'MiniThing', 'Flattr', 'Subscription', 'SearchResult', 'Category', 'Language', 'RateLimit', 'Error', 'ActivityStream', 'ThingCreated', 'ThingUpdated', 'Flattred', 'Subscribed', 'SubscriptionToggled', 'LookupFound', 'LookupNotFound']) {
      expect(COMPONENT_SCHEMAS[name], name).toBeDefined();
    }
    // The write bodies: objects of the routes' declared body parameters.
    for (const name of ['ThingCreate', 'ThingUpdate', 'FlattrUrl', 'MethodOverride']) expect((doc.components as any).schemas[name], name).toMatchObject({ type: 'object' });
  });

  it('matches what the server really answers (a sample of bodies checked against their schemas)', async () => {
    const res = await request(app.baseUrl, '/rest/v2/categories', { headers: { 'X-Forwarded-For': '192.0.2.1' } });
    const category = COMPONENT_SCHEMAS.Category as { required: string[] };
    for (const entry of res.json()) expect(Object.keys(entry)).toEqual(category.required);
    const error = await request(app.baseUrl, '/rest/v2/categories');
    expect(Object.keys(error.json())).toEqual((COMPONENT_SCHEMAS.Error as { required: string[] }).required);
  });

  it('is served before the REST pipeline: not rate limited, not counted, CORS open', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await request(app.baseUrl, '/rest/v2/openapi.json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    expect(JSON.parse(JSON.stringify(buildOpenApi(app.config)))).toEqual(doc);
  });

  it('refuses declarations it cannot describe', () => {
    const show = routes.find((r) => r.name === 'E5 things.show')!;
    const undeclared: RestRoute = { ...show, name: 'E99 undeclared', parameters: show.parameters.filter((p) => p.in !== 'path') };
    expect(() => buildOpenApi(app.config, [undeclared])).toThrow('OpenAPI: path parameter :id of E99 undeclared is not declared');
    const stray: RestRoute = { ...show, name: 'E99 stray', parameters: [...show.parameters, { name: 'nope', in: 'path', type: 'string' }] };
    expect(() => buildOpenApi(app.config, [stray])).toThrow('OpenAPI: E99 stray declares path parameter nope, not in /things/:id');
    const full = show.parameters.find((p) => p.name === 'full')!;
    const unlike: RestRoute = { ...show, name: 'E99 unlike', parameters: [...show.parameters.filter((p) => p !== full), { ...full, description: 'Other.' }] };
    expect(() => buildOpenApi(app.config, [show, unlike])).toThrow('OpenAPI: E99 unlike declares parameters full unlike another route');
    const create = routes.find((r) => r.name === 'E8 things.create')!;
    expect(() => buildOpenApi(app.config, [{ ...create, openapi: { ...create.openapi, body: undefined } }])).toThrow('declares body parameters but no request body');
  });
});

describe('GET /docs', () => {
  it('is a server-rendered reference of every operation and object, without any script', async () => {
    const res = await request(app.baseUrl, '/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = res.headers['content-security-policy']!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(res.text).not.toMatch(/<script/i);
    for (const { path, method, operation } of operations(doc)) {
      expect(res.text).toContain(`id="${operation.operationId}"`);
      expect(res.text).toContain(`<span class="method ${method}">${method.toUpperCase()}</span> <code class="path">${path}</code>`);
    }
    for (const name of Object.keys(COMPONENT_SCHEMAS)) expect(res.text).toContain(`id="schema-${name}"`);
    // Descriptions are escaped: `<br>` in E8's description text stays text.
    expect(res.text).toContain('<code>&lt;br&gt;</code>');
  });
});
