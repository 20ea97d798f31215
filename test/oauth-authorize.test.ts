import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request, type HttpResult } from './support/http.js';
import { findForm, loggedInBrowser } from './support/browser-session.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { sessionKey } from '../src/services/server-keys.js';
import { sha256Hex } from '../src/services/tokens.js';
import { OAuthClient, User, WebSession, type OAuthClientEntity, type UserEntity } from '../src/entities/index.js';

let app: TestApp;
let alice: UserEntity;
let client: OAuthClientEntity;
let secret: string;
let multi: OAuthClientEntity;
let withQuery: OAuthClientEntity;
let disabled: OAuthClientEntity;
let custom: OAuthClientEntity;
let docs: string;

const CALLBACK = 'https://app.example/callback';

beforeAll(async () => {
  app = await startTestApp();
  docs = app.config.docsUrl;
  const em = app.orm.em.fork();
  alice = await createUser(em, app.clock, { username: 'Alice', email: 'alice@example.org', password: 'correct horse battery' });
  ({ client, clientSecret: secret } = await createClient(em, app.clock, { ownerId: null, name: 'Podcast <Player> & Co', callbackUrls: [CALLBACK] }));
  ({ client: multi } = await createClient(em, app.clock, { ownerId: null, name: 'Multi', callbackUrls: ['https://multi.example/a', 'https://multi.example/b'] }));
  ({ client: withQuery } = await createClient(em, app.clock, { ownerId: null, name: 'Query', callbackUrls: ['http://localhost/cb?app=1'] }));
  ({ client: custom } = await createClient(em, app.clock, { ownerId: null, name: 'gPodder', callbackUrls: ['gpodder://flattr-token/'] }));
  ({ client: disabled } = await createClient(em, app.clock, { ownerId: null, name: 'Off', callbackUrls: [CALLBACK] }));
  await em.nativeUpdate(OAuthClient, { id: disabled.id }, { enabled: false });
});
afterAll(() => app?.close());

function qs(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function get(params: Record<string, string>, init: { headers?: Record<string, string> } = {}, path = '/oauth/authorize'): Promise<HttpResult> {
  return request(app.baseUrl, `${path}?${qs(params)}`, init);
}

function post(fields: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpResult> {
  return request(app.baseUrl, '/oauth/authorize', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

const base = () => ({ response_type: 'code', client_id: client.clientId, redirect_uri: CALLBACK, scope: 'flattr thing', state: 'xyz' });
const login = { username: 'alice', password: 'correct horse battery', decision: 'allow' };

/** The JSON error of §14.2 steps 1–2: 400, no redirect. */
function expectNoRedirectError(res: HttpResult, error: string, description: string) {
  expect(res.status).toBe(400);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.json()).toEqual({ error, error_description: description, error_uri: `${docs}/api/#authorization` });
}

/** A step-3 error redirected to the callback (query string). */
function expectRedirectError(res: HttpResult, location: string) {
  expect(res.status).toBe(302);
  expect(res.headers.location).toBe(location);
}

/** A session row and its cookie, as the website's login makes them (src/web/session.ts). */
async function sessionCookieFor(user: UserEntity | null): Promise<{ cookie: string; csrf: string }> {
  const em = app.orm.em.fork();
  const sid = randomBytes(32).toString('base64url');
  const csrf = randomBytes(32).toString('base64url');
  const now = app.clock.now();
  const expiresAt = new Date(now.getTime() + 86_400_000);
  em.create(WebSession, { sidHash: sha256Hex(sid), user: user ? em.getReference(User, user.id) : null, csrfToken: csrf, createdAt: now, expiresAt });
  await em.flush();
  const { kid, key } = await sessionKey(em, app.clock);
  const jwt = await new SignJWT({ sid })
    .setProtectedHeader({ alg: 'HS256', kid })
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key);
  return { cookie: `flattr_session=${jwt}`, csrf };
}

describe('GET /oauth/authorize: the consent page', () => {
  it('answers 200 HTML naming the app, the scopes in plain words, and the form with the hidden fields', async () => {
    for (const path of ['/oauth/authorize', '/oauth/authorize/']) {
      const res = await get({ ...base(), code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, {}, path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      // The name is escaped, never raw markup.
      expect(res.text).toContain('Podcast &lt;Player&gt; &amp; Co');
      expect(res.text).not.toContain('<Player>');
      expect(res.text).toContain('Flattr things for you');
      expect(res.text).toContain('Submit new things in your name');
      expect(res.text).not.toContain('See your email address.');
      expect(res.text).toContain('<form method="post" action="/oauth/authorize">');
      for (const [name, value] of [
        ['response_type', 'code'],
        ['client_id', client.clientId],
        ['redirect_uri', CALLBACK],
        ['scope', 'flattr thing'],
        ['state', 'xyz'],
        ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
        ['code_challenge_method', 'S256'],
      ]) {
        expect(res.text).toContain(`<input type="hidden" name="${name}" value="${value}">`);
      }
      expect(res.text).toContain('name="username"');
      expect(res.text).toContain('name="password"');
      expect(res.text).toContain('<button type="submit" name="decision" value="allow">Approve</button>');
      expect(res.text).toContain('name="decision" value="deny"');
      expect(res.text).not.toContain('csrf_token');
    }
  });

  it('sends the security headers, with the callback origin allowed as a form target', async () => {
    const res = await get(base());
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const csp = res.headers['content-security-policy']!;
    expect(csp).toContain("form-action 'self' https://app.example");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    const gpodder = await get({ response_type: 'token', client_id: custom.clientId });
    expect(gpodder.status).toBe(200);
    expect(gpodder.headers['content-security-policy']).toContain("form-action 'self' gpodder:");
  });

  it('escapes hostile state and scope values in the page', async () => {
    const res = await get({ ...base(), state: '"><script>alert(1)</script>', scope: 'email' });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(res.text).toContain('See your email address.');
  });

  it('uses the only registered callback when redirect_uri is absent or empty', async () => {
    for (const redirect of [undefined, '']) {
      const params: Record<string, string> = { response_type: 'code', client_id: client.clientId };
      if (redirect !== undefined) params.redirect_uri = redirect;
      const res = await get(params);
      expect(res.status).toBe(200);
      expect(res.text).toContain(`<code>${CALLBACK}</code>`);
    }
  });

  it('accepts the D86 light normalisations: scheme and host case, default port, empty path', async () => {
    for (const uri of ['HTTPS://App.Example/callback', 'https://app.example:443/callback']) {
      expect((await get({ ...base(), redirect_uri: uri })).status).toBe(200);
    }
    const { client: bare } = await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'Bare', callbackUrls: ['http://localhost'] });
    expect((await get({ response_type: 'code', client_id: bare.clientId, redirect_uri: 'http://localhost/' })).status).toBe(200);
    expect((await get({ response_type: 'code', client_id: bare.clientId, redirect_uri: 'http://localhost:80' })).status).toBe(200);
  });
});

describe('GET /oauth/authorize: errors that are never redirected (steps 1–2)', () => {
  it('missing client_id', async () => {
    expectNoRedirectError(await get({ response_type: 'code', redirect_uri: CALLBACK }), 'invalid_request', 'Missing client_id');
    expectNoRedirectError(await get({ response_type: 'code', client_id: '', redirect_uri: CALLBACK }), 'invalid_request', 'Missing client_id');
  });

  it('unknown client', async () => {
    expectNoRedirectError(await get({ ...base(), client_id: 'nope' }), 'invalid_client', 'Unknown client');
  });

  it('redirect_uri that is not exactly a registered callback', async () => {
    const variants = [
      'https://app.example/callback/evil', // suffix
      'https://app.example/callbackevil',
      'https://app.example/', // prefix
      'https://app.example/callback/../evil', // path traversal
      'https://app.example/evil/../callback',
      'https://app.example/%2E%2E/callback',
      'https://attacker@app.example/callback', // userinfo
      'https://app.example@attacker.example/callback',
      'https://app.example:8443/callback', // other port
      'http://app.example/callback', // other scheme
      'https://app.example/%63allback', // encoded characters
      'https://app.example/Callback', // path case
      'https://app.example/callback?x=1', // extra query
      'https://app.example/callback?', // empty query
      'https://app.example/callback#', // fragment
      'https://app.example/callback#frag',
      'https://app.example.attacker.example/callback', // sub-domain
      'https://sub.app.example/callback',
      'https://app.example/callback%0d%0aSet-Cookie:x', // encoded CRLF is just a different path
      '/callback', // relative
      'javascript:alert(1)//https://app.example/callback',
    ];
    for (const redirect of variants) {
      const res = await get({ ...base(), redirect_uri: redirect });
      expectNoRedirectError(res, 'invalid_request', 'Invalid redirect_uri');
    }
  });

  it('an app with several callbacks needs redirect_uri', async () => {
    expectNoRedirectError(await get({ response_type: 'code', client_id: multi.clientId }), 'invalid_request', 'Invalid redirect_uri');
    expect((await get({ response_type: 'code', client_id: multi.clientId, redirect_uri: 'https://multi.example/b' })).status).toBe(200);
  });

  it('checks the redirect URI before anything else is looked at', async () => {
    // Unsupported response type, disabled app, bad scope: still no redirect to an unregistered URI.
    expectNoRedirectError(await get({ response_type: 'bogus', client_id: disabled.clientId, redirect_uri: 'https://evil.example/', scope: 'stats' }), 'invalid_request', 'Invalid redirect_uri');
  });
});

/** What Chromium and Firefox send for a page load. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** The HTML error page of steps 1–2 for a browser: same status, no redirect, the site's headers, escaped text. */
function expectHtmlError(res: HttpResult, code: string, explanation: string) {
  expect(res.status).toBe(400);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers.vary).toMatch(/accept/i);
  expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.text).toContain('<h1>This authorization request cannot go on</h1>');
  expect(res.text).toContain(explanation);
  expect(res.text).toContain(`For the developer: <code>${code}</code>`);
  expect(res.text).not.toMatch(/<script/i);
}

describe('/oauth/authorize errors of steps 1–2: an HTML page for browsers, JSON for the rest (Accept)', () => {
  it('a browser gets an HTML page for an unknown or missing client_id and a bad redirect_uri, never a redirect', async () => {
    const headers = { Accept: BROWSER_ACCEPT };
    expectHtmlError(await get({ ...base(), client_id: 'nope' }, { headers }), 'invalid_client', 'is not registered with Flattr (its client_id is unknown)');
    expectHtmlError(await get({ response_type: 'code', redirect_uri: CALLBACK }, { headers }), 'invalid_request', 'does not say which application it is for');
    const hostile = 'https://evil.example/<script>alert(1)</script>';
    const bad = await get({ ...base(), redirect_uri: hostile }, { headers });
    expectHtmlError(bad, 'invalid_request', 'is not one it registered with Flattr, so you are not sent anywhere');
    expect(bad.text).not.toContain('evil.example');
    // The form (POST) too, and a form the server cannot read.
    expectHtmlError(await post({ ...base(), client_id: 'nope', ...login }, headers), 'invalid_client', 'client_id is unknown');
    expectHtmlError(await post({ ...base(), redirect_uri: 'https://evil.example/', ...login }, headers), 'invalid_request', 'redirect_uri');
    const unreadable = await request(app.baseUrl, '/oauth/authorize', { method: 'POST', headers: { ...headers, 'Content-Type': 'text/plain' }, body: 'x' });
    expectHtmlError(unreadable, 'invalid_request', 'could not be read');
  });

  it('keeps the header of a logged-in user on the error page', async () => {
    const { cookie } = await sessionCookieFor(alice);
    const res = await get({ ...base(), client_id: 'nope' }, { headers: { Accept: BROWSER_ACCEPT, Cookie: cookie } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<span>Alice</span>');
  });

  it('answers JSON unless text/html is preferred to application/json', async () => {
    const json = ['', '*/*', 'application/json', 'application/json, text/html', 'text/html;q=0.5, application/json', 'image/png', 'text/plain', 'text/*;q=0.5, application/json'];
    for (const accept of json) {
      const headers: Record<string, string> = accept ? { Accept: accept } : {};
      const res = await get({ ...base(), client_id: 'nope' }, { headers });
      expect(res.headers['content-type'], `Accept: ${accept}`).toBe('application/json; charset=utf-8');
      expectNoRedirectError(res, 'invalid_client', 'Unknown client');
      expect(res.headers.vary).toMatch(/accept/i);
    }
    for (const accept of ['text/html', 'text/html, application/json', 'text/html, application/json;q=0.9', BROWSER_ACCEPT]) {
      const res = await get({ ...base(), client_id: 'nope' }, { headers: { Accept: accept } });
      expect(res.headers['content-type'], `Accept: ${accept}`).toBe('text/html; charset=utf-8');
      expect(res.status).toBe(400);
    }
  });

  it('still redirects the errors of step 3 to the callback, whatever the Accept header', async () => {
    const res = await get({ ...base(), response_type: 'bogus' }, { headers: { Accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(302);
    expect(res.headers.location).toContain('error=unsupported_response_type');
  });
});

describe('the consent page names who registered the application', () => {
  it("shows the owner's username, linked to the public profile, and the registration date", async () => {
    const { client: owned } = await createClient(app.orm.em.fork(), app.clock, {
      ownerId: alice.id,
      name: 'Owned <app>',
      description: 'It "does" things & more',
      callbackUrls: ['https://owned.example/cb'],
    });
    const res = await get({ response_type: 'code', client_id: owned.clientId, scope: 'email' });
    expect(res.status).toBe(200);
    expect(res.text).toContain(
      `<p id="app-owner">Registered by the Flattr user <a href="/profile/alice"><strong>Alice</strong></a> on <time datetime="${owned.createdAt.toISOString()}">${owned.createdAt.toISOString().slice(0, 10)}</time>.</p>`,
    );
    expect(res.text).toContain('<strong>Owned &lt;app&gt;</strong> wants to use your Flattr account.');
    expect(res.text).toContain('<em>It &quot;does&quot; things &amp; more</em>');
    // After a failed login the page again says who registered the application.
    const retry = await post({ response_type: 'code', client_id: owned.clientId, username: 'alice', password: 'wrong', decision: 'allow' });
    expect(retry.status).toBe(200);
    expect(retry.text).toContain('Registered by the Flattr user <a href="/profile/alice"><strong>Alice</strong></a>');
  });

  it('says when no owner is on record', async () => {
    const res = await get(base());
    expect(res.text).toContain(`<p id="app-owner">Registered on <time datetime="${client.createdAt.toISOString()}">`);
    expect(res.text).toContain('</time>; Flattr has no record of who registered it.</p>');
  });
});

describe('GET /oauth/authorize: redirected errors (step 3)', () => {
  it('response_type missing or unsupported → in the query string', async () => {
    expectRedirectError(await get({ client_id: client.clientId, redirect_uri: CALLBACK, state: 'xyz' }), `${CALLBACK}?error=invalid_request&error_description=Missing%20response_type&state=xyz`);
    expectRedirectError(await get({ ...base(), response_type: 'id_token' }), `${CALLBACK}?error=unsupported_response_type&error_description=Unsupported%20response_type&state=xyz`);
    expectRedirectError(await get({ ...base(), response_type: 'Code' }), `${CALLBACK}?error=unsupported_response_type&error_description=Unsupported%20response_type&state=xyz`);
  });

  it('disabled application → unauthorized_client', async () => {
    const res = await get({ ...base(), client_id: disabled.clientId });
    expectRedirectError(res, `${CALLBACK}?error=unauthorized_client&error_description=The%20application%20is%20disabled&state=xyz`);
  });

  it('unknown scope, and the never-grantable stats → invalid_scope', async () => {
    for (const scope of ['flattr bogus', 'stats', 'flattr,stats']) {
      const res = await get({ ...base(), scope });
      expectRedirectError(res, `${CALLBACK}?error=invalid_scope&error_description=The%20scope(s)%20are%20invalid&state=xyz`);
    }
  });

  it('errors of the implicit flow go in the fragment; no state when none was given', async () => {
    const res = await get({ response_type: 'token', client_id: client.clientId, redirect_uri: CALLBACK, scope: 'nope' });
    expectRedirectError(res, `${CALLBACK}#error=invalid_scope&error_description=The%20scope(s)%20are%20invalid`);
  });

  it('keeps the callback query string', async () => {
    const res = await get({ client_id: withQuery.clientId, state: 's' });
    expectRedirectError(res, 'http://localhost/cb?app=1&error=invalid_request&error_description=Missing%20response_type&state=s');
  });

  it('PKCE: plain, unknown or missing method, malformed challenge → invalid_request', async () => {
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    const cases: [Record<string, string>, string][] = [
      [{ code_challenge: challenge, code_challenge_method: 'plain' }, 'code_challenge_method%20must%20be%20S256'],
      [{ code_challenge: challenge, code_challenge_method: 'S512' }, 'code_challenge_method%20must%20be%20S256'],
      [{ code_challenge: challenge }, 'code_challenge_method%20must%20be%20S256'],
      [{ code_challenge: 'short', code_challenge_method: 'S256' }, 'Invalid%20code_challenge'],
      [{ code_challenge: `${challenge.slice(0, 42)}+`, code_challenge_method: 'S256' }, 'Invalid%20code_challenge'],
      [{ code_challenge_method: 'S256' }, 'code_challenge_method%20without%20code_challenge'],
    ];
    for (const [extra, description] of cases) {
      expectRedirectError(await get({ ...base(), ...extra }), `${CALLBACK}?error=invalid_request&error_description=${description}&state=xyz`);
    }
  });
});

describe('POST /oauth/authorize', () => {
  it('username and password plus allow: 302 to the callback with code and state', async () => {
    const res = await post({ ...base(), ...login });
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(/^https:\/\/app\.example\/callback\?code=[A-Za-z0-9]{32}&state=xyz$/);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('the spec §16.1 example: callback http://localhost, code added after the empty path written as /', async () => {
    const { client: c } = await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'Doc', callbackUrls: ['http://localhost'] });
    const res = await post({ response_type: 'code', client_id: c.clientId, redirect_uri: 'http://localhost', scope: 'flattr thing', state: 'xyz', ...login });
    expect(res.headers.location).toMatch(/^http:\/\/localhost\/\?code=[A-Za-z0-9]{32}&state=xyz$/);
  });

  it('keeps the callback query and leaves state out when none was given', async () => {
    const res = await post({ response_type: 'code', client_id: withQuery.clientId, ...login });
    expect(res.headers.location).toMatch(/^http:\/\/localhost\/cb\?app=1&code=[A-Za-z0-9]{32}$/);
  });

  it('implicit flow: the token in the fragment, exactly', async () => {
    for (const responseType of ['token', 'access_token']) {
      const res = await post({ ...base(), response_type: responseType, scope: 'THING,flattr flattr', state: 'a b&c', ...login });
      expect(res.status).toBe(302);
      expect(res.headers.location).toMatch(/^https:\/\/app\.example\/callback#access_token=[0-9a-f]{40}&token_type=bearer&scope=flattr%20thing&state=a%20b%26c$/);
    }
    const none = await post({ response_type: 'token', client_id: custom.clientId, ...login });
    expect(none.headers.location).toMatch(/^gpodder:\/\/flattr-token\/#access_token=[0-9a-f]{40}&token_type=bearer&scope=$/);
  });

  it('the implicit token works on the REST API with exactly the granted scopes', async () => {
    const res = await post({ ...base(), response_type: 'token', scope: 'email', ...login });
    const token = /access_token=([0-9a-f]{40})/.exec(res.headers.location!)![1]!;
    const profile = await request(app.baseUrl, '/rest/v2/users/alice', { headers: { Authorization: `Bearer ${token}` } });
    expect(profile.status).toBe(200);
    expect(profile.json().email).toBe('alice@example.org');
    expect(profile.json().registered_at).toBeUndefined();
  });

  it('deny (or no decision) → access_denied, without needing credentials', async () => {
    expectRedirectError(await post({ ...base(), decision: 'deny' }), `${CALLBACK}?error=access_denied&error_description=The%20user%20denied%20access&state=xyz`);
    expectRedirectError(await post({ ...base(), username: 'alice', password: 'correct horse battery' }), `${CALLBACK}?error=access_denied&error_description=The%20user%20denied%20access&state=xyz`);
    expectRedirectError(await post({ ...base(), response_type: 'token', decision: 'deny' }), `${CALLBACK}#error=access_denied&error_description=The%20user%20denied%20access&state=xyz`);
  });

  it('wrong username or password → the page again, 200, with an error and no redirect', async () => {
    for (const creds of [{ username: 'alice', password: 'wrong password' }, { username: 'nobody', password: 'correct horse battery' }, { username: 'alice', password: '' }]) {
      const res = await post({ ...base(), ...creds, decision: 'allow' });
      expect(res.status).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toContain('Wrong username or password.');
      expect(res.text).toContain(`value="${creds.username}"`);
      expect(res.text).toContain('<input type="hidden" name="state" value="xyz">');
    }
  });

  it('no credentials and no session → the login page again', async () => {
    const res = await post({ ...base(), decision: 'allow' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Log in to continue.');
    expect(res.headers.location).toBeUndefined();
  });

  it('re-runs the checks of the GET, with the same error delivery', async () => {
    expectNoRedirectError(await post({ ...base(), redirect_uri: 'https://evil.example/', ...login }), 'invalid_request', 'Invalid redirect_uri');
    expectNoRedirectError(await post({ ...base(), client_id: 'nope', ...login }), 'invalid_client', 'Unknown client');
    expectRedirectError(await post({ ...base(), scope: 'stats', ...login }), `${CALLBACK}?error=invalid_scope&error_description=The%20scope(s)%20are%20invalid&state=xyz`);
    expectRedirectError(await post({ ...base(), client_id: disabled.clientId, ...login }), `${CALLBACK}?error=unauthorized_client&error_description=The%20application%20is%20disabled&state=xyz`);
  });
});

describe('consent with a website session (D85 b)', () => {
  it('GET shows consent only, with the session CSRF token, and no login fields', async () => {
    const { cookie, csrf } = await sessionCookieFor(alice);
    const res = await get(base(), { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<input type="hidden" name="csrf_token" value="${csrf}">`);
    expect(res.text).toContain('You are logged in as <strong>Alice</strong>');
    expect(res.text).not.toContain('name="password"');
  });

  it('an anonymous session still gets the login fields', async () => {
    const { cookie } = await sessionCookieFor(null);
    const res = await get(base(), { headers: { Cookie: cookie } });
    expect(res.text).toContain('name="password"');
    expect(res.text).not.toContain('name="csrf_token"');
  });

  it('POST with the session and its csrf_token → code', async () => {
    const { cookie, csrf } = await sessionCookieFor(alice);
    const res = await post({ ...base(), decision: 'allow', csrf_token: csrf }, { Cookie: cookie });
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(/^https:\/\/app\.example\/callback\?code=[A-Za-z0-9]{32}&state=xyz$/);
  });

  it('a session without a valid csrf_token counts as not logged in', async () => {
    const { cookie, csrf } = await sessionCookieFor(alice);
    for (const token of [undefined, '', `${csrf}x`, 'A'.repeat(csrf.length)]) {
      const fields: Record<string, string> = { ...base(), decision: 'allow' };
      if (token !== undefined) fields.csrf_token = token;
      const res = await post(fields, { Cookie: cookie });
      expect(res.status).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.text).toContain('name="password"');
    }
  });

  it('a forged session cookie is ignored', async () => {
    const res = await post({ ...base(), decision: 'allow', csrf_token: 'x' }, { Cookie: 'flattr_session=eyJhbGciOiJIUzI1NiJ9.e30.invalid' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Log in to continue.');
  });
});

describe('consent through the website login (browser session helper)', () => {
  it('log in at /login, open the consent page, submit its form as a browser would → code → token', async () => {
    const browser = await loggedInBrowser(app.baseUrl, 'alice', 'correct horse battery');
    const page = await browser.get(`/oauth/authorize?${qs({ ...base(), scope: 'email' })}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('name="password"');
    const form = findForm(page.text, '/oauth/authorize')!;
    expect(form.method).toBe('post');
    expect(form.values.csrf_token).toBe(browser.csrfToken);
    const res = await browser.post('/oauth/authorize', { ...form.values, decision: 'allow' });
    expect(res.status).toBe(302);
    const code = new URL(res.location!).searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9]{32}$/);
    const token = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: client.clientId, client_secret: secret }).toString(),
    });
    expect(token.status).toBe(200);
    expect(token.json().scope).toBe('email');
    const me = await request(app.baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${token.json().access_token}` } });
    expect(me.status).toBe(200);
    expect(me.json()).toMatchObject({ username: 'Alice', email: 'alice@example.org' });
  });

  it('a page from another site cannot approve: the session cookie without the CSRF token is not enough', async () => {
    const browser = await loggedInBrowser(app.baseUrl, 'alice', 'correct horse battery');
    const res = await browser.post('/oauth/authorize', { ...base(), decision: 'allow', csrf_token: null });
    expect(res.status).toBe(200);
    expect(res.location).toBeNull();
    expect(res.text).toContain('This form has expired. Log in to continue.');
  });
});

describe('other methods', () => {
  it('PUT is not allowed', async () => {
    const res = await request(app.baseUrl, '/oauth/authorize', { method: 'PUT' });
    expect(res.status).toBe(405);
  });
});
