import { describe, expect, it } from 'vitest';
import { routes } from '../rest-facade/routes/index.js';
import type { RestRoute } from '../rest-facade/route.js';
import type { RestRequest } from '../rest-facade/request.js';

/**
 * Issue 17: a route declaration is the single source of a v2 route. Its `parameters` are what its `variables()`
 * reads, and OpenAPI is generated from them (test/openapi.test.ts): a parameter read but not declared would be
 * served and not documented. The reads are found by running `variables()` (and `operation()`) on recording maps.
 */

class RecordingParams<V> extends Map<string, V> {
  readonly asked = new Set<string>();
  override get(name: string): V | undefined {
    this.asked.add(name);
    return super.get(name);
  }
  override has(name: string): boolean {
    this.asked.add(name);
    return super.has(name);
  }
}

/** Values every route accepts, so that the names read after a valid one are read too. */
const PLAUSIBLE: Record<string, string> = { url: 'https://example.org/post', type: 'outgoing', sort: 'relevance', id: '1,2' };
const PATH_VALUES: Record<string, string> = { id: '1', ids: '1,2', username: 'alice', url: 'https%3A%2F%2Fexample.org%2Fpost' };

/**
 * Path, query and body names read: a name asked for and missing is given a plausible value and the route runs
 * again, so that names read after a required one are found too; with a JSON and with a form body.
 */
function parametersRead(route: RestRoute): { path: Set<string>; query: Set<string>; body: Set<string> } {
  const read = { path: new Set<string>(), query: new Set<string>(), body: new Set<string>() };
  const bodyKinds = route.method === 'GET' ? (['none'] as const) : (['json', 'form'] as const);
  for (const bodyKind of bodyKinds) {
    const query = new RecordingParams<string>();
    const body = new RecordingParams<unknown>();
    const params = new Proxy(PATH_VALUES, {
      get(target, name) {
        if (typeof name === 'string') read.path.add(name);
        return Reflect.get(target, name);
      },
    });
    const request = {
      method: route.method,
      params,
      query,
      rawQuery: '',
      body,
      bodyKind,
      rawForm: bodyKind === 'form' ? '' : null,
      format: 'json',
      viewer: null,
      maxPageSize: 100,
      links: { apiUrl: 'http://api.test', siteUrl: 'http://site.test', tagAuthority: 'site.test' },
    } as unknown as RestRequest;
    const plausible = (name: string) => PLAUSIBLE[name] ?? '1';
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        route.variables(request);
        if (route.kind !== 'rate_limit' && typeof route.operation === 'function') route.operation(request);
        break;
      } catch {
        for (const name of query.asked) if (!query.has(name)) query.set(name, plausible(name));
        for (const name of body.asked) if (!body.has(name)) body.set(name, plausible(name));
      }
    }
    for (const name of query.asked) read.query.add(name);
    for (const name of body.asked) read.body.add(name);
  }
  return read;
}

function declared(route: RestRoute, where: 'path' | 'query' | 'body'): string[] {
  return route.parameters.filter((p) => p.in === where).map((p) => p.name);
}

describe('route declarations', () => {
  it('every parameter a route reads is declared (the body ones, D17, from the query string too)', () => {
    for (const route of routes) {
      const read = parametersRead(route);
      const body = declared(route, 'body');
      expect([...read.path].filter((name) => !declared(route, 'path').includes(name)), `${route.name}: undeclared path parameters`).toEqual([]);
      expect([...read.query].filter((name) => !declared(route, 'query').includes(name) && !body.includes(name)), `${route.name}: undeclared query parameters`).toEqual([]);
      expect([...read.body].filter((name) => !body.includes(name)), `${route.name}: undeclared body parameters`).toEqual([]);
    }
  });

  it('every declared parameter is read (but `_method`, which the pipeline reads for the route)', () => {
    for (const route of routes) {
      const read = parametersRead(route);
      for (const p of route.parameters) {
        if (p.name === '_method') continue;
        const where = p.in === 'body' ? new Set([...read.body, ...read.query]) : read[p.in];
        expect(where.has(p.name), `${route.name} declares ${p.in} ${p.name} and does not read it`).toBe(true);
      }
    }
  });

  it('declares each path segment parameter, and only those', () => {
    for (const route of routes) {
      const segments = [...route.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
      expect(declared(route, 'path').sort(), route.name).toEqual(segments.sort());
    }
  });

  it('(the check sees an undeclared read)', () => {
    const route = routes.find((r) => r.name === 'E5 things.show')!;
    const sneaky: RestRoute = { ...route, variables: (req) => ({ ...route.variables(req), extra: req.query.get('sneaky') }) };
    const read = parametersRead(sneaky);
    expect([...read.query].filter((name) => !declared(sneaky, 'query').includes(name))).toEqual(['sneaky']);
  });

  it('names each OpenAPI operation once, and keeps the D98 alias deprecated', () => {
    const ids = routes.map((r) => r.openapi.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(routes.find((r) => r.path === '/things/lookup/q/:url')).toMatchObject({ deprecated: true, restOfPath: true });
  });
});
