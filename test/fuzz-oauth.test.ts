import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestApp, type TestApp } from './support/test-app.js';
import { HangError, rawRequest, type RawResponse } from './support/fuzz/raw-http.js';
import { assertNoInjectedMarkup, assertNoLeak, assertOAuthError, isTransportRejection, OAUTH_ERROR_CODES } from './support/fuzz/oracles.js';
import { DbWatcher, type TableName } from './support/fuzz/db-state.js';
import { authorizeRequest, tokenRequest, type OAuthFuzzContext, type OAuthFuzzRequest } from './support/fuzz/oauth-requests.js';
import { fuzzParameters, fuzzRuns, reportFigures, Tally, timeoutFor } from './support/fuzz/settings.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { createAuthorizationCode } from '../src/services/authorization-codes.js';
import { normaliseRedirectUri } from '../src/oauth/redirect-uri.js';
import { OAuthClient } from '../src/entities/index.js';

/**
 * Issue 10 (1) for the OAuth endpoints (spec §14): generated authorization requests (GET and the consent POST, as
 * forms or JSON, with hostile values, repeated and unknown parameters, forged session cookies) and token/revocation
 * requests (hostile Basic credentials, bodies and codes). Properties:
 *   - never a 5xx, never a hang;
 *   - a 4xx is the §14 JSON error body (error, error_description, error_uri = {docs}/api/#authorization) with a §14
 *     code, or the consent page again (wrong credentials, 200; too many attempts, 429);
 *   - a redirect only ever goes to a registered callback (never an open redirect), carries a §14 error or a grant,
 *     and returns `state` exactly as it was sent;
 *   - HTML pages carry the security headers and no markup from the request;
 *   - the token endpoint always answers JSON with no-store;
 *   - nothing in the database changes unless a code or token was granted (or a code redeemed).
 */

const AUTHORIZE_RUNS = fuzzRuns(200);
const TOKEN_RUNS = fuzzRuns(200);
const DEADLINE_MS = 15_000;

let app: TestApp;
let port: number;
let db: DbWatcher;
let ctx: OAuthFuzzContext;
let clientDbId: number;
let userId: number;
const outcomes = new Tally();
let cases = 0;
let redirectsChecked = 0;
let statesRoundTripped = 0;

const CALLBACK = 'https://app.example/cb';

beforeAll(async () => {
  // TRUST_PROXY: each case comes from its own X-Forwarded-For address, so brute-force counting (which has its own
  // tests) does not turn the later cases into 429s.
  app = await startTestApp({ TRUST_PROXY: 'true' });
  port = Number(new URL(app.baseUrl).port);
  const em = app.orm.em.fork();
  const user = await createUser(em, app.clock, { username: 'alice', email: 'alice@example.org', password: 'correct horse battery' });
  userId = user.id;
  const main = await createClient(em, app.clock, { ownerId: null, name: 'Fuzz <app> & "co"', callbackUrls: [CALLBACK] });
  const multi = await createClient(em, app.clock, { ownerId: null, name: 'Multi', callbackUrls: ['https://multi.example/a', 'gpodder://flattr-token/'] });
  const disabled = await createClient(em, app.clock, { ownerId: null, name: 'Disabled', callbackUrls: [CALLBACK] });
  await em.nativeUpdate(OAuthClient, { id: disabled.client.id }, { enabled: false });
  clientDbId = main.client.id;
  ctx = {
    clientId: main.client.clientId,
    clientSecret: main.clientSecret,
    callback: CALLBACK,
    multiClientId: multi.client.clientId,
    multiCallbacks: ['https://multi.example/a', 'gpodder://flattr-token/'],
    disabledClientId: disabled.client.clientId,
    username: 'alice',
    password: 'correct horse battery',
  };
  db = await DbWatcher.connect(app.databaseUrl);
});

afterAll(async () => {
  await db?.close();
  await app?.close();
});

const REGISTERED = () => [CALLBACK, ...ctx.multiCallbacks].map((c) => normaliseRedirectUri(c));

function fail(message: string, request: OAuthFuzzRequest, res?: RawResponse): never {
  const body = request.body ? Buffer.from(request.body).subarray(0, 300).toString('latin1') : '';
  throw new Error(`${message}\n  ${request.method} ${String(request.target).slice(0, 300)}\n  body: ${body}\n  → ${res?.status} ${res?.headers.location ?? ''} ${res?.text.slice(0, 300) ?? ''}`);
}

async function send(request: OAuthFuzzRequest): Promise<RawResponse> {
  let { target, body } = request;
  if (request.needsCode) {
    const code = await createAuthorizationCode(app.orm.em.fork(), app.clock, 600, {
      clientId: clientDbId,
      userId,
      scopes: ['flattr'],
      redirectUri: null,
      codeChallenge: null,
    });
    target = String(target).replaceAll('FRESHCODEMARKER', code);
    body = body ? Buffer.from(Buffer.from(body).toString('latin1').replaceAll('FRESHCODEMARKER', code), 'latin1') : body;
  }
  try {
    return await rawRequest(port, { ...request, target, body, timeoutMs: DEADLINE_MS });
  } catch (error) {
    if (error instanceof HangError) throw error;
    throw new Error(`no readable answer: ${(error as Error).message}`);
  }
}

function checkSecurityHeaders(res: RawResponse, request: OAuthFuzzRequest): void {
  if (res.headers['referrer-policy'] !== 'no-referrer') fail('no Referrer-Policy: no-referrer', request, res);
  if (res.headers['x-frame-options'] !== 'DENY') fail('no X-Frame-Options: DENY', request, res);
  if (!/frame-ancestors 'none'/.test(res.headers['content-security-policy'] ?? '')) fail('no CSP frame-ancestors', request, res);
  if (res.headers['cache-control'] !== 'no-store') fail('consent answers must not be cached', request, res);
}

/** The consent page: escaped, no script, no attribute injected from the request. */
function checkPage(res: RawResponse, request: OAuthFuzzRequest): void {
  if (!/^text\/html; charset=utf-8$/i.test(res.headers['content-type'] ?? '')) fail('page without text/html', request, res);
  try {
    assertNoInjectedMarkup(res.text);
  } catch (error) {
    fail((error as Error).message, request, res);
  }
}

async function checkAuthorize(request: OAuthFuzzRequest): Promise<void> {
  cases += 1;
  const before = await db.state();
  const res = await send(request);
  const after = await db.state();
  const changed = DbWatcher.changed(before, after);
  outcomes.add(`authorize ${request.method} ${res.status}`);
  if (process.env.FUZZ_DEBUG && res.status === 400) outcomes.add(`authorize 400: ${res.text.slice(0, 80)}`);
  if (res.status >= 500) fail('5xx', request, res);
  if (isTransportRejection(res)) {
    if (changed.length) fail(`Node refused the request but ${changed.join(', ')} changed`, request, res);
    return;
  }
  if (request.method === 'HEAD') {
    if (changed.length) fail(`HEAD changed ${changed.join(', ')}`, request, res);
    return;
  }
  if (res.status === 302) {
    redirectsChecked += 1;
    checkSecurityHeaders(res, request);
    const location = res.headers.location ?? fail('302 without Location', request, res);
    if (!/^[\x21-\x7e]+$/.test(location)) fail('Location with a character that needs encoding', request, res);
    const cut = location.search(/[?#]/);
    const base = cut < 0 ? location : location.slice(0, cut);
    if (!REGISTERED().includes(normaliseRedirectUri(base))) fail(`redirect to an unregistered URI ${base}`, request, res);
    const fragment = location.includes('#') ? location.slice(location.indexOf('#') + 1) : '';
    const query = cut >= 0 && location[cut] === '?' ? location.slice(cut + 1, location.includes('#') ? location.indexOf('#') : undefined) : '';
    const params = new URLSearchParams(fragment || query);
    const granted = params.has('code') || params.has('access_token');
    if (!granted) {
      const error = params.get('error');
      if (error === null || !OAUTH_ERROR_CODES.has(error)) fail(`redirect with neither a grant nor a §14 error`, request, res);
      if (changed.length) fail(`an error redirect changed ${changed.join(', ')}`, request, res);
    } else {
      const allowed: TableName[] = ['oauth_authorization_codes', 'oauth_access_tokens'];
      const unexpected = changed.filter((t) => !allowed.includes(t));
      if (unexpected.length) fail(`a grant changed ${unexpected.join(', ')}`, request, res);
    }
    if (request.state !== null) {
      if (params.get('state') !== request.state) fail(`state not returned unchanged: sent ${JSON.stringify(request.state)}, got ${JSON.stringify(params.get('state'))}`, request, res);
      statesRoundTripped += 1;
    } else if (params.has('state')) {
      fail('state in the redirect although none was sent', request, res);
    }
    return;
  }
  if (changed.length) fail(`status ${res.status} but ${changed.join(', ')} changed`, request, res);
  if (res.status === 200 || res.status === 429) {
    checkSecurityHeaders(res, request);
    checkPage(res, request);
    if (res.status === 429 && !res.headers['retry-after']) fail('429 without Retry-After', request, res);
    return;
  }
  if (res.status === 400) {
    try {
      assertOAuthError(res, app.config.docsUrl);
    } catch (error) {
      fail((error as Error).message, request, res);
    }
    checkSecurityHeaders(res, request);
    return;
  }
  // Methods the router does not serve (PUT): @koa/router's 405 or the app's 404 JSON.
  if (res.status === 405 || res.status === 404) {
    assertNoLeak(res.text);
    return;
  }
  fail(`unexpected status ${res.status}`, request, res);
}

async function checkToken(request: OAuthFuzzRequest): Promise<void> {
  cases += 1;
  const before = await db.state();
  const res = await send(request);
  const after = await db.state();
  const changed = DbWatcher.changed(before, after, ['oauth_authorization_codes']);
  outcomes.add(`${request.endpoint.replace(/\/$/, '')} ${request.method} ${res.status}`);
  if (process.env.FUZZ_DEBUG && res.status >= 400 && request.method === 'POST') outcomes.add(`token ${res.status}: ${res.text.slice(0, 80)}`);
  if (res.status >= 500) fail('5xx', request, res);
  if (isTransportRejection(res)) return;
  if (res.headers['access-control-allow-origin'] !== '*') fail('no CORS header', request, res);
  if (request.method === 'OPTIONS') {
    if (res.status !== 204) fail('preflight not 204', request, res);
    return;
  }
  if (res.headers['cache-control'] !== 'no-store' || res.headers.pragma !== 'no-cache') fail('no Cache-Control: no-store / Pragma: no-cache', request, res);
  if (res.status === 200) {
    const body = JSON.parse(res.text) as Record<string, unknown>;
    if (request.endpoint.startsWith('/oauth/revoke')) {
      if (res.text !== '{}') fail('revocation answer is not {}', request, res);
      return;
    }
    if (body.token_type !== 'bearer' || typeof body.access_token !== 'string' || typeof body.scope !== 'string') fail('token answer shape', request, res);
    return;
  }
  try {
    assertOAuthError(res, app.config.docsUrl);
  } catch (error) {
    fail((error as Error).message, request, res);
  }
  if (res.status === 429 && !res.headers['retry-after']) fail('429 without Retry-After', request, res);
  // Refused: nothing but the minted code may have changed (it is created before the request, and stays unused).
  if (changed.length) fail(`refused token request changed ${changed.join(', ')}`, request, res);
}

describe('OAuth fuzzing (spec §14)', () => {
  it(
    `/oauth/authorize GET and consent POST: ${AUTHORIZE_RUNS} requests, no 5xx, no open redirect, state round-trips`,
    async () => {
      await fc.assert(fc.asyncProperty(authorizeRequest(ctx), checkAuthorize), fuzzParameters(AUTHORIZE_RUNS));
    },
    timeoutFor(AUTHORIZE_RUNS, 300),
  );

  it(
    `/oauth/token and /oauth/revoke: ${TOKEN_RUNS} requests, JSON errors of §14, no-store, nothing changed when refused`,
    async () => {
      await fc.assert(fc.asyncProperty(tokenRequest(ctx), checkToken), fuzzParameters(TOKEN_RUNS));
    },
    timeoutFor(TOKEN_RUNS, 200),
  );

  it('/.well-known documents answer JSON whatever the query', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      for (const query of ['', '?x=%00', '?jsonp=alert(1)', `?${'a'.repeat(5000)}`]) {
        const res = await rawRequest(port, { method: 'GET', target: `${path}${query}` });
        expect(res.status).toBe(200);
        JSON.parse(res.text);
      }
    }
    reportFigures({ suite: 'fuzz-oauth', cases, redirectsChecked, statesRoundTripped, outcomes: outcomes.toJSON() });
  });
});
