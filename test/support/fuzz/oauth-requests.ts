import fc from 'fast-check';
import { encodeValue, encoding, headerSafe, hostileString, jsonParamValue, type Encoding } from './arbitraries.js';
import type { RawRequest } from './raw-http.js';

/** Clients and users the OAuth fuzz requests may name, created by the suite's setup. */
export interface OAuthFuzzContext {
  clientId: string;
  clientSecret: string;
  /** Registered callbacks of `clientId` (one). */
  callback: string;
  /** A client with two callbacks (redirect_uri required). */
  multiClientId: string;
  multiCallbacks: string[];
  disabledClientId: string;
  username: string;
  password: string;
}

export interface OAuthFuzzRequest extends RawRequest {
  endpoint: string;
  /** The `state` the server decodes from this request (first occurrence), or null when absent or empty. */
  state: string | null;
  /** A fresh authorization code must be minted and put where `FRESHCODEMARKER` stands. */
  needsCode: boolean;
  /** X-Forwarded-For address, so brute-force counting starts afresh for each case. */
  address: string;
}

/** Variants of a registered redirect URI: only the D86 normalisations may match, nothing else may. */
export function redirectUriVariants(callback: string): string[] {
  const url = new URL(callback);
  const host = url.host;
  const path = url.pathname;
  return [
    callback,
    callback.toUpperCase(),
    callback.replace(host, host.toUpperCase()),
    `${callback}/`,
    `${callback}x`,
    `${callback}?`,
    `${callback}?a=b`,
    `${callback}#frag`,
    `${callback}%2F..%2Fevil`,
    `${callback}/../evil`,
    callback.replace(path, `${path}/../..${path}`),
    callback.replace(path, path.slice(0, -1)),
    callback.replace(path, path.replace('/', '/%2F')),
    callback.replace(path, path.toUpperCase()),
    callback.replace('//', '//evil.example@'),
    callback.replace('//', '//user:pass@'),
    callback.replace(host, `${host}.evil.example`),
    callback.replace(host, `evil.example/${host}`),
    callback.replace(host, `${host}:8443`),
    callback.replace(host, `${host}:443`),
    callback.replace(host, `${host}:80`),
    callback.replace(/^https?/, (s) => (s === 'https' ? 'http' : 'https')),
    callback.replace(/^https?:/, 'javascript:'),
    callback.replace(/^https?:/, 'data:'),
    `//${host}${path}`,
    `${host}${path}`,
    path,
    callback.replace(path, `${path}\\evil`),
    callback.replace(path, `${path}%00`),
    callback.replace(path, `${path}%0d%0aSet-Cookie:x=1`),
    callback.replace(path, `${path}\t`),
    ` ${callback}`,
    `${callback} `,
    callback.replace(host, 'xn--e1awd7f.example'),
    'https://evil.example/callback',
    'http://localhost/callback',
  ];
}

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

function param(name: string, ctx: OAuthFuzzContext): fc.Arbitrary<string> {
  const plausible: Record<string, fc.Arbitrary<string>> = {
    response_type: fc.constantFrom('code', 'token', 'access_token', 'CODE', 'code token', 'id_token'),
    client_id: fc.oneof(
      { weight: 8, arbitrary: fc.constant(ctx.clientId) },
      { weight: 1, arbitrary: fc.constantFrom(ctx.multiClientId, ctx.disabledClientId, 'unknown-client', ` ${ctx.clientId}`) },
    ),
    redirect_uri: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(ctx.callback, '') },
      { weight: 3, arbitrary: fc.constantFrom(...redirectUriVariants(ctx.callback), ...ctx.multiCallbacks) },
    ),
    scope: fc.constantFrom('flattr thing', 'flattr,thing', 'FLATTR', 'email extendedread', 'stats', 'flattr bogus', ''),
    state: fc.constantFrom('xyz', 'a b+c&d=e#f', 'ü€😀', '%41', 'x'.repeat(2000)),
    code_challenge: fc.constantFrom(CHALLENGE, 'short', `${CHALLENGE}!`),
    code_challenge_method: fc.constantFrom('S256', 'plain', 's256'),
    decision: fc.constantFrom('allow', 'deny', 'ALLOW'),
    username: fc.constantFrom(ctx.username, ctx.username.toUpperCase(), 'nobody'),
    password: fc.constantFrom(ctx.password, 'wrong password'),
    grant_type: fc.oneof(
      { weight: 6, arbitrary: fc.constant('authorization_code') },
      { weight: 1, arbitrary: fc.constantFrom('password', 'refresh_token', 'client_credentials', 'AUTHORIZATION_CODE') },
    ),
    code: fc.constantFrom('FRESHCODEMARKER', 'FRESHCODEMARKER', 'un8Vzv7pNMXNuAQY3uRgjYfM4V3Feirz', ''),
    code_verifier: fc.constantFrom('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'x'.repeat(43), 'short'),
    client_secret: fc.constantFrom(ctx.clientSecret, ctx.clientSecret, 'wrong-secret'),
    token: fc.constantFrom('8843d7f92416211de9ebb963ff4ce28125932878', ''),
    token_type_hint: fc.constantFrom('access_token', 'refresh_token'),
    csrf_token: fc.constantFrom('forged'),
  };
  const known = plausible[name];
  const hostileWeight = ['client_id', 'redirect_uri', 'response_type', 'grant_type', 'client_secret', 'code'].includes(name) ? 1 : 2;
  return known ? fc.oneof({ weight: 4, arbitrary: known }, { weight: hostileWeight, arbitrary: hostileString }) : hostileString;
}

const AUTHORIZE_NAMES = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'];
const CONSENT_NAMES = [...AUTHORIZE_NAMES, 'decision', 'csrf_token'];
const TOKEN_NAMES = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id', 'client_secret', 'scope'];
const REVOKE_NAMES = ['token', 'token_type_hint', 'client_id', 'client_secret'];

type Pair = [string, string | unknown];

/**
 * A set of parameters: usually each known name once (plausible or hostile), sometimes a name twice (the first
 * occurrence wins, D14), sometimes unknown names.
 */
function pairs(names: string[], ctx: OAuthFuzzContext, required: string[] = [], rare: string[] = []): fc.Arbitrary<Pair[]> {
  const entries = names.map((name) =>
    fc.oneof(
      { weight: required.includes(name) ? 1 : rare.includes(name) ? 5 : 1, arbitrary: fc.constant(null) },
      { weight: required.includes(name) ? 19 : 2, arbitrary: param(name, ctx).map((v): Pair => [name, v]) },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...entries),
      fc.array(fc.tuple(fc.constantFrom(...names), hostileString), { maxLength: 2 }),
      fc.array(fc.tuple(hostileString, hostileString), { maxLength: 2 }),
    )
    .map(([known, repeated, unknown]) => [...known.filter((p): p is Pair => p !== null), ...repeated, ...unknown]);
}

function encodePairs(list: Pair[], enc: Encoding): string {
  return list.map(([n, v]) => `${encodeValue(n, 'component', 'query')}=${encodeValue(typeof v === 'string' ? v : JSON.stringify(v) ?? '', enc, 'query')}`).join('&');
}

/** The `state` the server will read: the first `state` of the query (and, for a POST, of the body, which wins, D17). */
function expectedState(query: Pair[], body: Pair[] | null, bodyKind: 'form' | 'json' | null, enc: Encoding): string | null {
  const decodeFirst = (list: Pair[]) => {
    const text = encodePairs(list, enc);
    return new URLSearchParams(text).get('state');
  };
  let state = decodeFirst(query);
  if (body && bodyKind === 'form') {
    const fromBody = decodeFirst(body);
    if (fromBody !== null) state = fromBody;
  } else if (body && bodyKind === 'json') {
    const object = Object.fromEntries(body);
    if (typeof object.state === 'string') state = object.state.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
    else if (typeof object.state === 'number' || typeof object.state === 'boolean') state = JSON.stringify(object.state);
  }
  return state === '' ? null : state;
}

/** `arbitrary` with probability 1/`oneIn`, else null (fc.option's `freq` is the other way round: null is 1 in freq). */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arbitrary as fc.Arbitrary<T | null> });
}

const address = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`);

export function authorizeRequest(ctx: OAuthFuzzContext): fc.Arbitrary<OAuthFuzzRequest> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'HEAD'),
      query: pairs(AUTHORIZE_NAMES, ctx, ['client_id', 'response_type'], ['code_challenge_method']),
      body: pairs(CONSENT_NAMES, ctx, ['client_id', 'response_type', 'decision'], ['code_challenge_method', 'csrf_token']),
      credentials: sometimes(fc.tuple(param('username', ctx), param('password', ctx)), 4),
      bodyKind: fc.constantFrom('form', 'form', 'json', 'none'),
      jsonOddity: sometimes(fc.tuple(fc.constantFrom(...CONSENT_NAMES), jsonParamValue), 3),
      enc: encoding,
      contentType: sometimes(fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'application/x-www-form-urlencoded; charset=latin1'), 6),
      cookie: sometimes(fc.constantFrom('flattr_session=forged', 'flattr_session=eyJhbGciOiJub25lIn0.e30.', 'flattr_session='), 5),
      address,
    })
    .map((r): OAuthFuzzRequest => {
      const isPost = r.method === 'POST';
      // GET carries the request in the query; the consent POST in its form (the query is usually empty then).
      const query = isPost ? r.query.slice(0, 1) : r.query;
      let body: Pair[] | null = null;
      let bodyBytes: Buffer | undefined;
      const headers: [string, string][] = [['X-Forwarded-For', r.address]];
      let bodyKind: 'form' | 'json' | null = null;
      if (isPost && r.bodyKind !== 'none') {
        body = [...r.body, ...(r.credentials ? ([['username', r.credentials[0]], ['password', r.credentials[1]]] as Pair[]) : [])];
        if (r.bodyKind === 'json') {
          const object: Record<string, unknown> = Object.fromEntries(body);
          if (r.jsonOddity) object[r.jsonOddity[0]] = r.jsonOddity[1];
          body = Object.entries(object);
          bodyBytes = Buffer.from(JSON.stringify(object));
          headers.push(['Content-Type', 'application/json']);
          bodyKind = 'json';
        } else {
          bodyBytes = Buffer.from(encodePairs(body, r.enc), 'latin1');
          headers.push(['Content-Type', r.contentType ?? 'application/x-www-form-urlencoded']);
          bodyKind = r.contentType === null || r.contentType.startsWith('application/x-www-form-urlencoded') ? 'form' : null;
        }
      }
      if (r.cookie !== null) headers.push(['Cookie', r.cookie]);
      const qs = encodePairs(query, r.enc);
      const state = r.method === 'GET' || isPost ? expectedState(query, bodyKind ? body : null, bodyKind, r.enc) : null;
      return {
        endpoint: '/oauth/authorize',
        method: r.method,
        target: `/oauth/authorize${qs ? `?${qs}` : ''}`,
        headers,
        body: bodyBytes,
        state,
        needsCode: false,
        address: r.address,
      };
    });
}

export function tokenRequest(ctx: OAuthFuzzContext): fc.Arbitrary<OAuthFuzzRequest> {
  const basic = fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Basic ${Buffer.from(`${ctx.clientId}:${ctx.clientSecret}`).toString('base64')}`) },
    { weight: 1, arbitrary: fc.constant(`Basic ${Buffer.from(`${ctx.clientId}:wrong`).toString('base64')}`) },
    { weight: 1, arbitrary: fc.constantFrom('Basic', 'Basic ', 'Basic !!!', 'Basic Og==', 'Basic YTo=', 'Bearer x', 'basic    ') },
    { weight: 1, arbitrary: hostileString.map((s) => `Basic ${Buffer.from(`${s}:${s}`).toString('base64')}`) },
    { weight: 1, arbitrary: hostileString.map((s) => headerSafe(`Basic ${s}`)) },
  );
  return fc
    .record({
      endpoint: fc.constantFrom('/oauth/token', '/oauth/token', '/oauth/token', '/oauth/revoke', '/oauth/token/'),
      method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'POST', 'POST', 'GET', 'PUT', 'OPTIONS', 'DELETE'),
      tokenPairs: pairs(TOKEN_NAMES, ctx, ['grant_type', 'code', 'client_id', 'client_secret'], ['code_verifier', 'redirect_uri']),
      revokePairs: pairs(REVOKE_NAMES, ctx, ['token', 'client_id', 'client_secret']),
      authorization: sometimes(basic, 2),
      bodyKind: fc.constantFrom('form', 'form', 'form', 'json', 'json', 'none', 'garbage'),
      jsonOddity: sometimes(fc.tuple(fc.constantFrom(...TOKEN_NAMES), jsonParamValue), 3),
      garbage: fc.constantFrom(Buffer.from('{'), Buffer.from([0xff, 0xfe]), Buffer.from('[1,2]'), Buffer.alloc(1024 * 1024 + 10, 0x20), Buffer.from('a=%')),
      enc: encoding,
      queryToo: fc.boolean(),
      address,
    })
    .map((r): OAuthFuzzRequest => {
      const list = r.endpoint === '/oauth/revoke' ? r.revokePairs : r.tokenPairs;
      const headers: [string, string][] = [['X-Forwarded-For', r.address]];
      if (r.authorization !== null) headers.push(['Authorization', r.authorization]);
      let body: Buffer | undefined;
      if (r.bodyKind === 'form') {
        body = Buffer.from(encodePairs(list, r.enc), 'latin1');
        headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
      } else if (r.bodyKind === 'json') {
        const object: Record<string, unknown> = Object.fromEntries(list);
        if (r.jsonOddity) object[r.jsonOddity[0]] = r.jsonOddity[1];
        body = Buffer.from(JSON.stringify(object));
        headers.push(['Content-Type', 'application/json']);
      } else if (r.bodyKind === 'garbage') {
        body = r.garbage;
        headers.push(['Content-Type', 'application/json']);
      }
      const query = r.queryToo ? encodePairs(list.slice(0, 2), r.enc) : '';
      const needsCode = body?.includes('FRESHCODEMARKER') === true || query.includes('FRESHCODEMARKER');
      return {
        endpoint: r.endpoint,
        method: r.method,
        target: `${r.endpoint}${query ? `?${query}` : ''}`,
        headers,
        body,
        state: null,
        needsCode,
        address: r.address,
      };
    });
}
