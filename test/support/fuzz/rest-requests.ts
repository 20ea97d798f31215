import fc from 'fast-check';
import { routes } from '../../../rest-facade/routes/index.js';
import type { RestRoute } from '../../../rest-facade/route.js';
import {
  acceptHeader,
  contentTypeHeader,
  deepJson,
  duplicateKeyJson,
  encodeValue,
  encoding,
  headerSafe,
  hostileString,
  hugeString,
  invalidUtf8,
  jsonParamValue,
  type Encoding,
} from './arbitraries.js';
import type { RawRequest } from './raw-http.js';

/** Tokens and data the generated requests may use, created by the suite's setup. */
export interface RestFuzzContext {
  /** Alice: means, every scope. */
  aliceAll: string;
  /** Alice: no scope. */
  aliceNone: string;
  /** Bob: scope flattr, no means. */
  bobFlattr: string;
  usernames: string[];
  thingIds: number[];
}

export interface FuzzRequest extends RawRequest {
  /** Route the request was built from (or `random path`), for the figures. */
  routeName: string;
}

const QUERY_NAMES = ['count', 'page', 'full', 'sort', 'type', 'query', 'url', 'tags', 'language', 'category', 'user', 'id', 'jsonp', '_method'];
/** Rarer: a second token place makes most requests a 400 (multiple tokens). */
const RARE_NAMES = ['access_token'];
const BODY_NAMES = ['url', 'title', 'description', 'tags', 'category', 'language', 'hidden', '_method', 'full'];

/** Values that let a request get past the parameter checks, so the deeper steps are reached too. */
function plausibleValues(ctx: RestFuzzContext): Record<string, fc.Arbitrary<string>> {
  const id = fc.constantFrom(...ctx.thingIds.map(String), '999999');
  return {
    count: fc.constantFrom('1', '2', '30', '100', '101', '1000000', ' 5 '),
    page: fc.constantFrom('1', '2', '99999', '2147483648'),
    full: fc.constantFrom('', '1', 'full', 'False', '0'),
    sort: fc.constantFrom('relevance', 'trend', 'flattrs', 'flattrs_month', 'flattrs_week', 'flattrs_day', 'text_rank'),
    type: fc.constantFrom('outgoing', 'incoming'),
    query: fc.constantFrom('post', 'thing', 'a b', 'x'),
    url: fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom('https://example.org/post', 'https://example.org/things/1') },
      { weight: 3, arbitrary: fc.nat({ max: 1_000_000 }).map((n) => `https://example.org/fuzz/${n}`) },
      {
        weight: 1,
        arbitrary: fc
          .nat({ max: 1_000_000 })
          .map((n) => `https://flattr.com/submit/auto?user_id=bob&url=${encodeURIComponent(`https://example.org/auto/${n}`)}&title=Auto&tags=a,b`),
      },
    ),
    tags: fc.constantFrom('blog', 'blog,demo', 'blog & demo', '(blog|music) & !secret', 'a'),
    language: fc.constantFrom('en_GB', 'sv_SE', 'xx'),
    category: fc.constantFrom('text', 'rest', 'software', 'nope'),
    user: fc.constantFrom(...ctx.usernames),
    id: fc.array(id, { minLength: 1, maxLength: 4 }).map((ids) => ids.join(',')),
    jsonp: fc.constantFrom('cb', 'a.b', '$', 'alert(1)', 'cb;', 'x'.repeat(101)),
    access_token: fc.constantFrom(ctx.aliceAll, ctx.aliceNone, 'nope'),
    _method: fc.constantFrom('patch', 'PUT', 'delete', 'get', 'x'),
    title: fc.constantFrom('Fuzzed', '', 'T'.repeat(100)),
    description: fc.constantFrom('', 'desc', 'line<br>two'),
    hidden: fc.constantFrom('1', '0', 'yes', 'maybe', ''),
  };
}

function value(ctx: RestFuzzContext, name: string): fc.Arbitrary<string> {
  const plausible = plausibleValues(ctx)[name];
  return plausible ? fc.oneof({ weight: 2, arbitrary: plausible }, { weight: 3, arbitrary: hostileString }) : hostileString;
}

/** A query string: known names with plausible or hostile values, unknown names, repeats, broken pairs. */
function queryString(ctx: RestFuzzContext, names: string[]): fc.Arbitrary<string> {
  const pair = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(fc.constantFrom(...names), encoding).chain(([name, enc]) => value(ctx, name).map((v) => `${name}=${encodeValue(v, enc, 'query')}`)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...RARE_NAMES), encoding).chain(([name, enc]) => value(ctx, name).map((v) => `${name}=${encodeValue(v, enc, 'query')}`)) },
    { weight: 2, arbitrary: fc.tuple(hostileString, hostileString, encoding).map(([n, v, enc]) => `${encodeValue(n, enc, 'query')}=${encodeValue(v, enc, 'query')}`) },
    { weight: 2, arbitrary: fc.constantFrom('', '=', '==', '&', 'full', 'jsonp', '%', 'a=%', '=x', 'access_token') },
  );
  return fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&'));
}

function pathParam(ctx: RestFuzzContext, name: string): fc.Arbitrary<string> {
  const plausible =
    name === 'username'
      ? fc.constantFrom(...ctx.usernames, 'ALICE', 'nobody', 'a.json')
      : name === 'ids'
        ? fc.constantFrom('1,2', `${ctx.thingIds[0]},999999`, '1%2C2', ',', '1,,2', Array.from({ length: 101 }, (_, i) => i + 1).join(','))
        : fc.constantFrom(...ctx.thingIds.map(String), '999999', '0', '2147483647', '2147483648', '01');
  return fc.oneof(
    { weight: 4, arbitrary: plausible.map((v) => (name === 'ids' ? v : encodeValue(v, 'component', 'segment'))) },
    { weight: 1, arbitrary: fc.tuple(hostileString, encoding).map(([v, enc]) => encodeValue(v, enc, 'segment') || '%20') },
  );
}

const SUFFIXES = ['', '', '', '', '', '', '', '', '', '', '.json', '.json', '.xml', '.yaml', '.as', '.atom', '.txt', '.JSON', '.exe', '.xml.json', '.'];

function authorization(ctx: RestFuzzContext): fc.Arbitrary<string | null> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${ctx.aliceAll}`) },
    { weight: 1, arbitrary: fc.constantFrom(`bearer ${ctx.aliceNone}`, `Bearer ${ctx.bobFlattr}`, `OAuth ${ctx.aliceAll}`) },
    { weight: 3, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `Bearer ${ctx.aliceAll.toUpperCase()}`,
        `Bearer  ${ctx.aliceAll} extra`,
        'Bearer',
        'Bearer ',
        'Basic YWxpY2U6c2VjcmV0',
        'Digest username="x"',
        `Bearer ${'a'.repeat(3000)}`,
      ),
    },
    { weight: 1, arbitrary: hostileString.map((s) => headerSafe(`Bearer ${s}`)) },
  );
}

type BodyKind = 'none' | 'json' | 'form' | 'raw';

/** A request body: JSON objects with known names and awkward values, duplicate keys, deep nesting, invalid UTF-8, ... */
function body(ctx: RestFuzzContext): fc.Arbitrary<{ kind: BodyKind; bytes: Buffer | null }> {
  const jsonObject = fc
    .array(fc.tuple(fc.constantFrom(...BODY_NAMES), fc.oneof({ weight: 2, arbitrary: value(ctx, 'url') }, { weight: 3, arbitrary: jsonParamValue })), { maxLength: 6 })
    .map((pairs) => ({ kind: 'json' as const, bytes: Buffer.from(JSON.stringify(Object.fromEntries(pairs))) }));
  const duplicates = fc
    .array(fc.tuple(fc.constantFrom('title', 'url', 'tags', 'hidden', '_method', 'access_token'), jsonParamValue), { minLength: 2, maxLength: 5 })
    .map((pairs) => ({ kind: 'json' as const, bytes: Buffer.from(duplicateKeyJson([...pairs, ...pairs])) }));
  const topLevel = fc
    .oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'), fc.constantFrom('null', '[]', '"x"', '1', 'true', '{', '{"a":', '{"a":1,}', "{'a':1}", '\ufeff{"title":"bom"}', '  ', '\n\t'))
    .map((text) => ({ kind: 'json' as const, bytes: Buffer.from(text) }));
  const form = fc
    .array(
      fc.tuple(fc.constantFrom(...BODY_NAMES, 'a[b]', 'tags[]', '', 'access_token'), value(ctx, 'title'), encoding).map(([n, v, enc]) => `${n}=${encodeValue(v, enc, 'query')}`),
      { maxLength: 6 },
    )
    .map((pairs) => ({ kind: 'form' as const, bytes: Buffer.from(pairs.join('&'), 'latin1') }));
  const raw = fc.oneof(
    deepJson.map((text) => ({ kind: 'json' as const, bytes: Buffer.from(text) })),
    invalidUtf8.map((bytes) => ({ kind: 'raw' as const, bytes })),
    hugeString.map((s) => ({ kind: 'json' as const, bytes: Buffer.from(JSON.stringify({ url: 'https://example.org/huge', title: s, description: s, tags: s })) })),
    fc.constantFrom(1024 * 1024 + 1, 2 * 1024 * 1024).map((size) => ({ kind: 'raw' as const, bytes: Buffer.alloc(size, 0x61) })),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'raw' as const, bytes: Buffer.from(bytes) })),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const, bytes: null }) },
    { weight: 4, arbitrary: jsonObject },
    { weight: 1, arbitrary: duplicates },
    { weight: 1, arbitrary: topLevel },
    { weight: 2, arbitrary: form },
    { weight: 1, arbitrary: raw },
  );
}

const OTHER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'get', 'FOO'];

/** Writes are weighted up: they are where refused input must leave the database as it was. */
const WEIGHTED_ROUTES: { weight: number; arbitrary: fc.Arbitrary<RestRoute> }[] = routes.map((route) => ({
  weight: route.method === 'GET' ? 2 : 5,
  arbitrary: fc.constant(route),
}));
const WRITE_ROUTES = routes.filter((route) => route.method !== 'GET');

export type Focus = 'broad' | 'writes';

function assemblePath(route: RestRoute, params: Record<string, string>): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => params[name] ?? 'x');
}

/**
 * One request to a route of the table: path, method (or override), query, headers and body all generated.
 * `writes` keeps the request well-formed around the body (the route's own method, a valid token, plausible ids, the
 * right Content-Type) so that the hostile values reach the mutations and their validation.
 */
export function routeRequest(ctx: RestFuzzContext, focus: Focus = 'broad'): fc.Arbitrary<FuzzRequest> {
  const writes = focus === 'writes';
  const route = writes ? fc.constantFrom(...WRITE_ROUTES) : fc.oneof(...WEIGHTED_ROUTES);
  return route.chain((route) => {
    const paramNames = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
    const params = fc.record(
      Object.fromEntries(
        paramNames.map((n) => [n, writes ? fc.constantFrom(...ctx.thingIds.map(String), '999999') : pathParam(ctx, n)]),
      ) as Record<string, fc.Arbitrary<string>>,
    );
    const nullOr = <T>(arbitrary: fc.Arbitrary<T>, weight: number) =>
      fc.oneof({ weight, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arbitrary as fc.Arbitrary<T | null> });
    return fc
      .record({
        params,
        suffix: writes ? fc.constant('') : fc.constantFrom(...SUFFIXES),
        trailingSlash: writes ? fc.constant(false) : fc.boolean(),
        method: writes
          ? fc.oneof({ weight: 5, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constant('override') })
          : fc.oneof(
              { weight: 12, arbitrary: fc.constant(route.method) },
              { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) },
              { weight: 2, arbitrary: fc.constant('override') },
            ),
        override: fc.constantFrom('body', 'query', 'header'),
        query: writes ? fc.oneof(fc.constant(''), queryString(ctx, BODY_NAMES)) : queryString(ctx, QUERY_NAMES),
        accept: writes ? nullOr(fc.constantFrom('application/json', 'text/xml', 'application/yaml', '*/*'), 3) : nullOr(acceptHeader, 3),
        contentType: writes ? fc.constant(null) : contentTypeHeader,
        authorization: writes
          ? fc.oneof({ weight: 8, arbitrary: fc.constant(`Bearer ${ctx.aliceAll}`) }, { weight: 1, arbitrary: fc.constant(`Bearer ${ctx.bobFlattr}`) })
          : authorization(ctx),
        ifNoneMatch: nullOr(fc.constantFrom('*', '"x"', 'W/"x"', '"', 'junk,,,'), 8),
        requestId: nullOr(hostileString.map(headerSafe), 8),
        methodOverride: writes ? fc.constant(null) : nullOr(fc.constantFrom('PATCH', 'DELETE', 'PUT', 'GET', 'x'), 10),
        body: writes ? writeBody(ctx) : body(ctx),
      })
      .map((r): FuzzRequest => {
        let path = `/rest/v2${assemblePath(route, r.params)}${r.suffix}${r.trailingSlash ? '/' : ''}`;
        let method = r.method === 'override' ? 'POST' : r.method;
        let query = r.query;
        const headers: [string, string][] = [];
        let bodyBytes = r.body.bytes;
        let bodyKind = r.body.kind;
        if (r.method === 'override' && route.method !== 'POST' && route.method !== 'GET') {
          const name = route.method.toLowerCase();
          if (r.override === 'query') query = query ? `${query}&_method=${name}` : `_method=${name}`;
          else if (r.override === 'header') headers.push(['X-HTTP-Method-Override', route.method]);
          else {
            bodyBytes = Buffer.concat([Buffer.from(`_method=${name}${bodyBytes && bodyKind === 'form' ? '&' : ''}`), bodyKind === 'form' && bodyBytes ? bodyBytes : Buffer.alloc(0)]);
            bodyKind = 'form';
          }
        }
        if (query) path += `?${query}`;
        if (r.accept !== null) headers.push(['Accept', headerSafe(r.accept)]);
        if (r.contentType !== null && bodyBytes) headers.push(['Content-Type', r.contentType]);
        else if (bodyBytes && bodyKind === 'json') headers.push(['Content-Type', 'application/json']);
        else if (bodyBytes && bodyKind === 'form' && writes) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
        if (r.authorization !== null) headers.push(['Authorization', r.authorization]);
        if (r.ifNoneMatch !== null) headers.push(['If-None-Match', r.ifNoneMatch]);
        if (r.requestId !== null) headers.push(['X-Request-Id', r.requestId]);
        if (r.methodOverride !== null) headers.push(['X-HTTP-Method-Override', r.methodOverride]);
        if (method === 'GET' || method === 'HEAD') bodyBytes = bodyBytes && bodyBytes.length < 4096 ? bodyBytes : null;
        method = method === 'override' ? 'POST' : method;
        return { routeName: route.name, method, target: path, headers, body: bodyBytes ?? undefined };
      });
  });
}

/** Bodies for the `writes` focus: mostly JSON objects and forms of the thing and flattr parameters. */
function writeBody(ctx: RestFuzzContext): fc.Arbitrary<{ kind: BodyKind; bytes: Buffer | null }> {
  const field = (name: string) => fc.oneof({ weight: 3, arbitrary: value(ctx, name) as fc.Arbitrary<unknown> }, { weight: 2, arbitrary: jsonParamValue });
  const fields = fc.record(
    {
      url: fc.oneof({ weight: 4, arbitrary: plausibleValues(ctx).url as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: field('url') }),
      title: field('title'),
      description: field('description'),
      tags: fc.oneof(field('tags'), fc.array(hostileString, { maxLength: 6 })),
      category: field('category'),
      language: field('language'),
      hidden: fc.oneof(field('hidden'), fc.constantFrom(true, false, 1, 0, 2, 'TRUE', ' on ')),
    },
    { requiredKeys: ['url'] },
  );
  // A valid body with exactly one field made hostile: the classic single-mutation case, which reaches the deepest checks.
  const plausible = plausibleValues(ctx);
  const validFields = fc.record(
    {
      url: plausible.url!,
      title: plausible.title!,
      description: plausible.description!,
      tags: plausible.tags!,
      category: fc.constantFrom('text', 'rest', 'software'),
      language: fc.constantFrom('en_GB', 'sv_SE'),
      hidden: fc.constantFrom('0', '1'),
    },
    { requiredKeys: ['url'] },
  );
  const oneMutated = fc
    .tuple(validFields, fc.constantFrom('none', 'url', 'title', 'description', 'tags', 'category', 'language', 'hidden'), jsonParamValue)
    .map(([f, name, hostile]) => (name === 'none' ? f : { ...f, [name]: hostile }));
  const asJson = (f: object) => ({ kind: 'json' as const, bytes: Buffer.from(JSON.stringify(f)) });
  const asForm = ([f, enc]: [object, Encoding]) => ({
    kind: 'form' as const,
    bytes: Buffer.from(
      Object.entries(f)
        .map(([k, v]) => `${k}=${encodeValue(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''), enc, 'query')}`)
        .join('&'),
      'latin1',
    ),
  });
  return fc.oneof(
    { weight: 4, arbitrary: oneMutated.map(asJson) },
    { weight: 2, arbitrary: fc.tuple(oneMutated, encoding).map(asForm) },
    { weight: 2, arbitrary: fields.map(asJson) },
    { weight: 1, arbitrary: fc.tuple(fields, encoding).map(asForm) },
    { weight: 1, arbitrary: body(ctx) },
  );
}

/** Any path under /rest/v2 (mostly nothing the route table knows), any method. */
export function randomPathRequest(ctx: RestFuzzContext): fc.Arbitrary<FuzzRequest> {
  const segment = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('users', 'user', 'things', 'flattr', 'flattrs', 'search', 'lookup', 'subscriptions', 'activities', 'categories', 'languages', 'rate_limit', ...ctx.usernames, ...ctx.thingIds.map(String)) },
    { weight: 2, arbitrary: fc.tuple(hostileString, encoding).map(([s, enc]: [string, Encoding]) => encodeValue(s, enc, 'segment')) },
    { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '%2e%2e', '%2F', 'categories.xml', 'languages.txt', 'things;x', 'a%00') },
  );
  return fc
    .record({
      segments: fc.array(segment, { minLength: 0, maxLength: 5 }),
      method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      query: queryString(ctx, QUERY_NAMES),
      accept: fc.option(acceptHeader, { freq: 2 }),
      authorization: authorization(ctx),
      preflightHeaders: fc.option(hostileString.map(headerSafe), { freq: 3 }),
      body: body(ctx),
    })
    .map((r): FuzzRequest => {
      const headers: [string, string][] = [];
      if (r.accept !== null) headers.push(['Accept', headerSafe(r.accept)]);
      if (r.authorization !== null) headers.push(['Authorization', r.authorization]);
      if (r.method === 'OPTIONS' && r.preflightHeaders !== null) headers.push(['Access-Control-Request-Headers', r.preflightHeaders]);
      const body = r.method === 'GET' || r.method === 'HEAD' ? undefined : (r.body.bytes ?? undefined);
      if (body && r.body.kind === 'json') headers.push(['Content-Type', 'application/json']);
      const target = `/rest/v2/${r.segments.join('/')}${r.query ? `?${r.query}` : ''}`;
      return { routeName: 'random path', method: r.method, target, headers, body };
    });
}
