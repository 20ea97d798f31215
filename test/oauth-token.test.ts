import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request, type HttpResult } from './support/http.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { OAuthClient, type OAuthClientEntity } from '../src/entities/index.js';

let app: TestApp;
let client: OAuthClientEntity;
let secret: string;
let other: OAuthClientEntity;
let otherSecret: string;
let docs: string;

const CALLBACK = 'https://app.example/callback';
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  app = await startTestApp();
  docs = app.config.docsUrl;
  const em = app.orm.em.fork();
  await createUser(em, app.clock, { username: 'Alice', email: 'alice@example.org', password: PASSWORD });
  ({ client, clientSecret: secret } = await createClient(em, app.clock, { ownerId: null, name: 'Podcast Player', callbackUrls: [CALLBACK] }));
  ({ client: other, clientSecret: otherSecret } = await createClient(em, app.clock, { ownerId: null, name: 'Other', callbackUrls: [CALLBACK] }));
});
afterAll(() => app?.close());

const basic = (id: string, secretValue: string) => `Basic ${Buffer.from(`${id}:${secretValue}`).toString('base64')}`;

/** Logs in and approves through POST /oauth/authorize; returns the code from the redirect. */
async function authorize(params: Record<string, string> = {}, forClient: OAuthClientEntity = client): Promise<string> {
  const fields = { response_type: 'code', client_id: forClient.clientId, redirect_uri: CALLBACK, scope: 'flattr thing', state: 'xyz', username: 'alice', password: PASSWORD, decision: 'allow', ...params };
  const res = await request(app.baseUrl, '/oauth/authorize', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.location!);
  return location.searchParams.get('code')!;
}

function token(body: Record<string, string> | string, headers: Record<string, string> = {}, method = 'POST'): Promise<HttpResult> {
  const json = typeof body !== 'string' && headers['Content-Type'] === 'application/json';
  return request(app.baseUrl, '/oauth/token', {
    method,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
}

const withSecret = () => ({ client_id: client.clientId, client_secret: secret });

function expectNoStore(res: HttpResult) {
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.headers.expires).toBe('Thu, 19 Nov 1981 08:52:00 GMT');
  expect(res.headers['access-control-allow-origin']).toBe('*');
  expect(res.headers['access-control-expose-headers']).toContain('WWW-Authenticate');
}

function expectError(res: HttpResult, status: number, error: string, description?: string) {
  expect(res.status).toBe(status);
  expectNoStore(res);
  const body = res.json();
  expect(body.error).toBe(error);
  expect(body.error_uri).toBe(`${docs}/api/#authorization`);
  if (description !== undefined) expect(body.error_description).toBe(description);
  expect(Object.keys(body)).toEqual(['error', 'error_description', 'error_uri']);
  if (error === 'invalid_client') expect(res.headers['www-authenticate']).toBe('Basic realm="flattr"');
  else expect(res.headers['www-authenticate']).toBeUndefined();
}

function rest(path: string, accessToken: string) {
  return request(app.baseUrl, `/rest/v2${path}`, { headers: { Authorization: `Bearer ${accessToken}` } });
}

describe('the authorization-code flow, end to end', () => {
  it('authorize page → login and approve → code → token → REST and GraphQL', async () => {
    const page = await request(app.baseUrl, `/oauth/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(CALLBACK)}&scope=flattr%20email&state=xyz`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('Podcast Player');

    const code = await authorize({ scope: 'flattr email' });
    expect(code).toMatch(/^[A-Za-z0-9]{32}$/);
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, { Authorization: basic(client.clientId, secret) });
    expect(res.status).toBe(200);
    expectNoStore(res);
    expect(res.text).toMatch(/^\{"access_token":"[0-9a-f]{40}","token_type":"bearer","scope":"flattr email"\}$/);
    const accessToken = res.json().access_token as string;

    const user = await rest('/users/alice', accessToken);
    expect(user.status).toBe(200);
    expect(user.json().username).toBe('Alice');
    expect(user.json().email).toBe('alice@example.org');

    const graphql = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });
    expect(graphql.status).toBe(200);
    expect(graphql.json().data).toEqual({ viewer: { username: 'Alice' } });
  });

  it('the token carries only the granted scopes (scope narrowing), canonical order', async () => {
    const code = await authorize({ scope: 'extendedread,THING' });
    const res = await token({ grant_type: 'authorization_code', code, ...withSecret() });
    expect(res.json().scope).toBe('thing extendedread');
    const narrow = await token({ grant_type: 'authorization_code', code: await authorize({ scope: 'flattr' }), ...withSecret() });
    expect(narrow.json().scope).toBe('flattr');
    const user = await rest('/users/alice', narrow.json().access_token);
    expect(user.status).toBe(200);
    expect(user.json().email).toBeUndefined();
    const none = await token({ grant_type: 'authorization_code', code: await authorize({ scope: '' }), ...withSecret() });
    expect(none.text).toMatch(/^\{"access_token":"[0-9a-f]{40}","token_type":"bearer","scope":""\}$/);
  });

  it('every grant issues a new token; earlier ones stay valid (D93)', async () => {
    const first = (await token({ grant_type: 'authorization_code', code: await authorize(), ...withSecret() })).json().access_token;
    const second = (await token({ grant_type: 'authorization_code', code: await authorize(), ...withSecret() })).json().access_token;
    expect(first).not.toBe(second);
    expect((await rest('/users/alice', first)).status).toBe(200);
    expect((await rest('/users/alice', second)).status).toBe(200);
  });

  it('the trailing-slash path works too (D3), and form bodies without Content-Type (D15)', async () => {
    const code = await authorize();
    const res = await request(app.baseUrl, '/oauth/token/', {
      method: 'POST',
      body: Buffer.from(new URLSearchParams({ grant_type: 'authorization_code', code, ...withSecret() }).toString()),
    });
    expect(res.status).toBe(200);
  });
});

describe('codes: single use, lifetime, binding', () => {
  it('reuse → invalid_grant, and the token issued from the code is revoked', async () => {
    const code = await authorize();
    const first = await token({ grant_type: 'authorization_code', code, ...withSecret() });
    expect(first.status).toBe(200);
    const accessToken = first.json().access_token;
    expect((await rest('/users/alice', accessToken)).status).toBe(200);
    const again = await token({ grant_type: 'authorization_code', code, ...withSecret() });
    expectError(again, 400, 'invalid_grant', 'The authorization code is invalid or expired');
    const after = await rest('/users/alice', accessToken);
    expect(after.status).toBe(401);
    expect(after.headers['www-authenticate']).toBe('Bearer realm="flattr", error="invalid_token", error_description="The access token is invalid"');
  });

  it('expires after AUTH_CODE_TTL_SECONDS (600 s)', async () => {
    const code = await authorize();
    app.clock.advance(600);
    expectError(await token({ grant_type: 'authorization_code', code, ...withSecret() }), 400, 'invalid_grant', 'The authorization code is invalid or expired');
    const fresh = await authorize();
    app.clock.advance(599);
    expect((await token({ grant_type: 'authorization_code', code: fresh, ...withSecret() })).status).toBe(200);
  });

  it('unknown code, or a code of another client → invalid_grant', async () => {
    expectError(await token({ grant_type: 'authorization_code', code: 'un8Vzv7pNMXNuAQY3uRgjYfM4V3Feirz', ...withSecret() }), 400, 'invalid_grant');
    const code = await authorize();
    expectError(await token({ grant_type: 'authorization_code', code, client_id: other.clientId, client_secret: otherSecret }), 400, 'invalid_grant');
    // Not used up by the other client's attempt.
    expect((await token({ grant_type: 'authorization_code', code, ...withSecret() })).status).toBe(200);
  });

  it('redirect_uri (D90): optional; when sent it must match the one of the authorization request', async () => {
    const code = await authorize();
    expectError(await token({ grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/other', ...withSecret() }), 400, 'invalid_grant');
    expectError(await token({ grant_type: 'authorization_code', code, redirect_uri: `${CALLBACK}#x`, ...withSecret() }), 400, 'invalid_grant');
    // A failed attempt never uses up the code; the normalised form matches.
    const ok = await token({ grant_type: 'authorization_code', code, redirect_uri: 'HTTPS://APP.EXAMPLE:443/callback', ...withSecret() });
    expect(ok.status).toBe(200);

    // No redirect_uri at authorize: compared with the application's callback.
    const bare = await authorize({ redirect_uri: '' });
    expectError(await token({ grant_type: 'authorization_code', code: bare, redirect_uri: 'https://app.example/', ...withSecret() }), 400, 'invalid_grant');
    expect((await token({ grant_type: 'authorization_code', code: bare, redirect_uri: CALLBACK, ...withSecret() })).status).toBe(200);
  });
});

describe('PKCE (S256)', () => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  it('the RFC 7636 appendix B pair', () => {
    expect(challenge).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('right verifier → token', async () => {
    const code = await authorize({ code_challenge: challenge, code_challenge_method: 'S256' });
    const res = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, ...withSecret() });
    expect(res.status).toBe(200);
  });

  it('wrong or missing verifier → invalid_grant, and the code survives the failure', async () => {
    const code = await authorize({ code_challenge: challenge, code_challenge_method: 'S256' });
    expectError(await token({ grant_type: 'authorization_code', code, code_verifier: `${verifier.slice(0, -1)}Y`, ...withSecret() }), 400, 'invalid_grant', 'The code_verifier does not match the code_challenge');
    expectError(await token({ grant_type: 'authorization_code', code, code_verifier: challenge, ...withSecret() }), 400, 'invalid_grant');
    expectError(await token({ grant_type: 'authorization_code', code, ...withSecret() }), 400, 'invalid_grant', 'Missing code_verifier');
    expect((await token({ grant_type: 'authorization_code', code, code_verifier: verifier, ...withSecret() })).status).toBe(200);
  });

  it('a verifier for a code issued without a challenge is refused (no downgrade)', async () => {
    const code = await authorize();
    expectError(await token({ grant_type: 'authorization_code', code, code_verifier: verifier, ...withSecret() }), 400, 'invalid_grant', 'A code_verifier was sent for a code issued without code_challenge');
  });

  it('the plain method is refused at the authorization endpoint', async () => {
    const res = await request(app.baseUrl, '/oauth/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: CALLBACK, code_challenge: verifier, code_challenge_method: 'plain', username: 'alice', password: PASSWORD, decision: 'allow' }).toString(),
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${CALLBACK}?error=invalid_request&error_description=code_challenge_method%20must%20be%20S256`);
  });
});

describe('client authentication', () => {
  it('no credentials → 401 invalid_client with the Basic challenge (D89)', async () => {
    const code = await authorize();
    expectError(await token({ grant_type: 'authorization_code', code }), 401, 'invalid_client', 'Client authentication required');
    expectError(await token({ grant_type: 'authorization_code', code }, { Authorization: 'Bearer abc' }), 401, 'invalid_client');
  });

  it('wrong secret, unknown client, missing secret, malformed Basic → 401 invalid_client', async () => {
    const code = await authorize();
    expectError(await token({ grant_type: 'authorization_code', code }, { Authorization: basic(client.clientId, 'wrong') }), 401, 'invalid_client', 'Client authentication failed');
    expectError(await token({ grant_type: 'authorization_code', code, client_id: client.clientId, client_secret: 'wrong' }), 401, 'invalid_client', 'Client authentication failed');
    expectError(await token({ grant_type: 'authorization_code', code, client_id: 'nope', client_secret: secret }), 401, 'invalid_client', 'Client authentication failed');
    expectError(await token({ grant_type: 'authorization_code', code, client_id: client.clientId }), 401, 'invalid_client');
    expectError(await token({ grant_type: 'authorization_code', code }, { Authorization: 'Basic !!!' }), 401, 'invalid_client');
    expectError(await token({ grant_type: 'authorization_code', code }, { Authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }), 401, 'invalid_client');
    // None of these used the code up.
    expect((await token({ grant_type: 'authorization_code', code, ...withSecret() })).status).toBe(200);
  });

  it('Basic, body, and both with the same client_id (D87) all work', async () => {
    expect((await token({ grant_type: 'authorization_code', code: await authorize() }, { Authorization: basic(client.clientId, secret) })).status).toBe(200);
    expect((await token({ grant_type: 'authorization_code', code: await authorize(), ...withSecret() })).status).toBe(200);
    expect((await token({ grant_type: 'authorization_code', code: await authorize(), client_id: client.clientId }, { Authorization: basic(client.clientId, secret) })).status).toBe(200);
    expect((await token({ grant_type: 'authorization_code', code: await authorize(), ...withSecret() }, { Authorization: basic(client.clientId, secret) })).status).toBe(200);
  });

  it('Basic and body naming different clients → 400 invalid_request, before any lookup (D87)', async () => {
    const code = await authorize();
    expectError(await token({ grant_type: 'authorization_code', code, client_id: 'someone-else' }, { Authorization: basic(client.clientId, secret) }), 400, 'invalid_request');
    expectError(await token({ grant_type: 'authorization_code', code, client_id: other.clientId, client_secret: otherSecret }, { Authorization: basic(client.clientId, secret) }), 400, 'invalid_request');
    // Even with a wrong Basic secret, the contradiction is reported first.
    expectError(await token({ grant_type: 'authorization_code', code, client_id: 'x' }, { Authorization: basic('nope', 'nope') }), 400, 'invalid_request');
  });

  it('disabled application → 400 unauthorized_client', async () => {
    const { client: off, clientSecret: offSecret } = await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'Soon off', callbackUrls: [CALLBACK] });
    const code = await authorize({}, off);
    await app.orm.em.fork().nativeUpdate(OAuthClient, { id: off.id }, { enabled: false });
    expectError(await token({ grant_type: 'authorization_code', code, client_id: off.clientId, client_secret: offSecret }), 400, 'unauthorized_client', 'The application is disabled');
    // A wrong secret for a disabled app is still invalid_client (step 4 order).
    expectError(await token({ grant_type: 'authorization_code', code, client_id: off.clientId, client_secret: 'x' }), 401, 'invalid_client');
  });

  it('the documented example (spec §14.7): Aladdin / open sesame, JSON body plus Basic', async () => {
    const { client: aladdin } = await createClient(app.orm.em.fork(), app.clock, {
      ownerId: null,
      name: 'Lamp',
      callbackUrls: ['http://localhost'],
      clientId: 'Aladdin',
      clientSecret: 'open sesame',
    });
    const code = await authorize({ redirect_uri: 'http://localhost', scope: 'flattr thing' }, aladdin);
    const res = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { Authorization: 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', 'Content-Type': 'application/json' },
      body: JSON.stringify({ code, grant_type: 'authorization_code', redirect_uri: 'http://localhost' }),
    });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^\{"access_token":"[0-9a-f]{40}","token_type":"bearer","scope":"flattr thing"\}$/);
  });
});

describe('request checks, in order', () => {
  it('GET (or any non-POST) → 400 invalid_request (D88); OPTIONS → preflight', async () => {
    expectError(await token('', {}, 'GET'), 400, 'invalid_request');
    expectError(await token('', {}, 'PUT'), 400, 'invalid_request');
    const pre = await request(app.baseUrl, '/oauth/token', { method: 'OPTIONS', headers: { 'Access-Control-Request-Headers': 'Authorization, Content-Type' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toBe('Authorization, Content-Type');
    expect(pre.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(pre.headers['access-control-max-age']).toBe('86400');
  });

  it('a body that cannot be parsed → 400 invalid_request, before client authentication', async () => {
    expectError(await token('{"code":', { 'Content-Type': 'application/json' }), 400, 'invalid_request', 'Malformed JSON body');
    expectError(await token('[1]', { 'Content-Type': 'application/json' }), 400, 'invalid_request', 'Malformed JSON body');
    expectError(await token('<x/>', { 'Content-Type': 'application/xml' }), 400, 'invalid_request', 'Unsupported content type');
    expectError(await token('{"code":{"a":1}}', { 'Content-Type': 'application/json' }), 400, 'invalid_request');
  });

  it('grant_type missing → invalid_request; another grant → unsupported_grant_type', async () => {
    const code = await authorize();
    expectError(await token({ code, ...withSecret() }), 400, 'invalid_request', 'Missing grant_type');
    for (const grant of ['refresh_token', 'password', 'client_credentials']) {
      expectError(await token({ grant_type: grant, code, ...withSecret() }), 400, 'unsupported_grant_type');
    }
    expectError(await token({ grant_type: 'authorization_code', ...withSecret() }), 400, 'invalid_request', 'Missing code');
    expect((await token({ grant_type: 'authorization_code', code, scope: 'stats', ...withSecret() })).json().scope).toBe('flattr thing');
  });
});

describe('POST /oauth/revoke (D63)', () => {
  it('revokes the client\'s own token; the token then gets 401 on REST', async () => {
    const accessToken = (await token({ grant_type: 'authorization_code', code: await authorize(), ...withSecret() })).json().access_token;
    // Another client cannot revoke it, but is answered 200 {} all the same.
    const foreign = await request(app.baseUrl, '/oauth/revoke', { method: 'POST', headers: { Authorization: basic(other.clientId, otherSecret), 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${accessToken}` });
    expect(foreign.status).toBe(200);
    expect(foreign.text).toBe('{}');
    expect((await rest('/users/alice', accessToken)).status).toBe(200);

    const res = await request(app.baseUrl, '/oauth/revoke', { method: 'POST', headers: { Authorization: basic(client.clientId, secret), 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${accessToken}&token_type_hint=access_token` });
    expect(res.status).toBe(200);
    expectNoStore(res);
    expect(res.text).toBe('{}');
    expect((await rest('/users/alice', accessToken)).status).toBe(401);
    // Again, and unknown tokens: still 200 {}.
    const again = await request(app.baseUrl, '/oauth/revoke', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: accessToken, ...withSecret() }) });
    expect(again.status).toBe(200);
    expect(again.text).toBe('{}');
  });

  it('client-authentication failures are answered as at the token endpoint', async () => {
    const res = await request(app.baseUrl, '/oauth/revoke', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=abc' });
    expectError(res, 401, 'invalid_client');
    const wrong = await request(app.baseUrl, '/oauth/revoke', { method: 'POST', headers: { Authorization: basic(client.clientId, 'x'), 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=abc' });
    expectError(wrong, 401, 'invalid_client');
    expectError(await request(app.baseUrl, '/oauth/revoke', { method: 'GET' }), 400, 'invalid_request');
    expect((await request(app.baseUrl, '/oauth/revoke', { method: 'OPTIONS' })).status).toBe(204);
  });
});
