import { Router } from '@koa/router';
import type { RestRoute } from '../route.js';

export interface MatchedRoute {
  route: RestRoute;
  params: Record<string, string>;
}

/** The routes, ready to match a method and path (spec §9.0 precedence: the order of `routes`). */
export interface RouteTable {
  /** The path is under the prefix of a rest-of-path route (D98), which then alone can match it. */
  isRestOfPath(rawPath: string): boolean;
  /** The route serving `method` (HEAD as GET) at `path`, with its parameters; null: no route (404). */
  match(path: string, method: string, restOfPath: boolean): MatchedRoute | null;
}

export function createRouteTable(routes: readonly RestRoute[]): RouteTable {
  // @koa/router matches paths; the route entries (not router middleware) say what each match does.
  const router = new Router({ sensitive: true });
  const routesByName = new Map<string, RestRoute>();
  /** Routes whose last parameter is the rest of the path (D98), by the literal prefix before it. */
  const restOfPathRoutes: { prefix: string; name: string; route: RestRoute }[] = [];
  for (const route of routes) {
    if (route.restOfPath) {
      const found = /^(.*\/):([A-Za-z_]+)$/.exec(route.path);
      if (!found) throw new Error(`REST route ${route.name}: restOfPath needs a path ending in one parameter`);
      restOfPathRoutes.push({ prefix: found[1]!, name: found[2]!, route });
      continue;
    }
    router.register(route.path, [route.method], () => undefined, { name: route.name });
    routesByName.set(route.name, route);
  }

  /**
   * A path under the prefix of a rest-of-path route (D98) belongs to that route alone: with the method it serves
   * it matches, its parameter being everything after the prefix as sent; with any other method no route does.
   */
  function matchRestOfPath(rawPath: string, lookupMethod: string): MatchedRoute | null {
    for (const { prefix, name, route } of restOfPathRoutes) {
      if (rawPath.startsWith(prefix) && route.method === lookupMethod) return { route, params: { [name]: rawPath.slice(prefix.length) } };
    }
    return null;
  }

  function matchRouter(path: string, lookupMethod: string): MatchedRoute | null {
    for (const layer of router.match(path, lookupMethod).pathAndMethod) {
      const route = layer.name ? routesByName.get(layer.name) : undefined;
      if (!route) continue;
      let params: Record<string, string>;
      try {
        params = layer.params(path, layer.captures(path));
      } catch {
        return null; // malformed percent-encoding: no route can match it
      }
      if (!route.matches || route.matches(params)) return { route, params };
    }
    return null;
  }

  return {
    isRestOfPath: (rawPath) => restOfPathRoutes.some(({ prefix }) => rawPath.startsWith(prefix)),
    match(path, method, restOfPath) {
      const lookupMethod = method === 'HEAD' ? 'GET' : method;
      return restOfPath ? matchRestOfPath(path, lookupMethod) : matchRouter(path, lookupMethod);
    },
  };
}

const OVERRIDABLE = new Set(['PATCH', 'PUT', 'DELETE']);

/**
 * Spec D4: only POST is overridden; body `_method`, then query `_method`, then the header. A `_method` that has
 * been used is removed from the parameters (both places), so no route reads it as a parameter.
 */
export function effectiveMethod(method: string, body: Map<string, unknown>, query: Map<string, string>, header: string | undefined): string {
  if (method !== 'POST') return method;
  for (const candidate of [body.get('_method'), query.get('_method'), header]) {
    if (typeof candidate === 'string' && OVERRIDABLE.has(candidate.toUpperCase())) {
      body.delete('_method');
      query.delete('_method');
      return candidate.toUpperCase();
    }
  }
  return 'POST';
}
