import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { sha256Hex } from '../src/services/tokens.js';
import { accessTokenSigningKey } from '../src/services/server-keys.js';
import { AccessToken, ServerKey, type OAuthClientEntity, type UserEntity } from '../src/entities/index.js';

let app: TestApp;
let alice: UserEntity;
let jwtClient: OAuthClientEntity;
let secret: string;

const CALLBACK = 'https://jwt.example/cb';
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  app = await startTestApp({ SITE_URL: 'https://flattr.test', API_URL: 'https://api.flattr.test/rest/v2', DOCS_URL: 'https://docs.flattr.test' });
  const em = app.orm.em.fork();
  alice = await createUser(em, app.clock, { username: 'Alice', email: 'alice@example.org', password: PASSWORD });
  ({ client: jwtClient, clientSecret: secret } = await createClient(em, app.clock, { ownerId: null, name: 'JWT app', callbackUrls: [CALLBACK], tokenFormat: 'jwt' }));
});
afterAll(() => app?.close());

async function authorize(fields: Record<string, string>): Promise<URL> {
  const res = await request(app.baseUrl, '/oauth/authorize', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: jwtClient.clientId, username: 'alice', password: PASSWORD, decision: 'allow', ...fields }).toString(),
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.location!);
}

async function exchange(): Promise<string> {
  const code = (await authorize({ response_type: 'code', scope: 'email flattr' })).searchParams.get('code')!;
  const res = await request(app.baseUrl, '/oauth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${jwtClient.clientId}:${secret}`).toString('base64')}` },
    body: JSON.stringify({ grant_type: 'authorization_code', code }),
  });
  expect(res.status).toBe(200);
  expect(Object.keys(res.json())).toEqual(['access_token', 'token_type', 'scope']);
  expect(res.json().token_type).toBe('bearer');
  expect(res.json().scope).toBe('flattr email');
  return res.json().access_token;
}

async function jwks(): Promise<JSONWebKeySet> {
  const res = await request(app.baseUrl, '/.well-known/jwks.json');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/jwk-set+json; charset=utf-8');
  expect(res.headers['access-control-allow-origin']).toBe('*');
  return res.json();
}

describe('JWT access tokens (RFC 9068)', () => {
  it('the JWKS holds one public ES256 key and no private part', async () => {
    const set = await jwks();
    expect(set.keys).toHaveLength(1);
    const [key] = set.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: 'access-token-1' });
    expect(key).not.toHaveProperty('d');
    // Stable: asking again neither adds nor changes keys.
    expect(await jwks()).toEqual(set);
  });

  it('a code exchange gives a JWT that verifies with the published JWKS, with the right claims', async () => {
    const accessToken = await exchange();
    expect(accessToken.split('.')).toHaveLength(3);
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'access-token-1' });
    const { payload, protectedHeader } = await jwtVerify(accessToken, createLocalJWKSet(await jwks()), {
      issuer: 'https://flattr.test',
      audience: 'https://api.flattr.test/rest/v2',
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: app.clock.now(),
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toEqual({
      client_id: jwtClient.clientId,
      scope: 'flattr email',
      iss: 'https://flattr.test',
      aud: 'https://api.flattr.test/rest/v2',
      sub: String(alice.id),
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: Math.floor(app.clock.now().getTime() / 1000),
    });
    expect(payload.exp).toBeUndefined();

    // Stored only as its hash, with the jti.
    const row = await app.orm.em.fork().findOneOrFail(AccessToken, { tokenHash: sha256Hex(accessToken) });
    expect(row.jti).toBe(payload.jti);
  });

  it('works on REST and GraphQL, and stops working at once when revoked', async () => {
    const accessToken = await exchange();
    const user = await request(app.baseUrl, '/rest/v2/users/alice', { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(user.status).toBe(200);
    expect(user.json().email).toBe('alice@example.org');
    const query = await request(app.baseUrl, `/rest/v2/users/alice?access_token=${accessToken}`);
    expect(query.status).toBe(200);
    const graphql = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });
    expect(graphql.json().data).toEqual({ viewer: { username: 'Alice' } });

    const revoke = await request(app.baseUrl, '/oauth/revoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken, client_id: jwtClient.clientId, client_secret: secret }).toString(),
    });
    expect(revoke.status).toBe(200);
    // The signature still verifies, but the server refuses the token: revocation is checked on every request.
    await jwtVerify(accessToken, createLocalJWKSet(await jwks()), { currentDate: app.clock.now() });
    expect((await request(app.baseUrl, '/rest/v2/users/alice', { headers: { Authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  });

  it('a token whose signature does not verify is just an unknown token', async () => {
    const accessToken = await exchange();
    const [h, p] = accessToken.split('.');
    const forged = `${h}.${p}.${'A'.repeat(86)}`;
    expect((await request(app.baseUrl, '/rest/v2/users/alice', { headers: { Authorization: `Bearer ${forged}` } })).status).toBe(401);
  });

  it('the implicit flow also gives a JWT to a JWT client', async () => {
    const location = await authorize({ response_type: 'token', redirect_uri: CALLBACK, scope: 'thing', state: 's' });
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect([...fragment.keys()]).toEqual(['access_token', 'token_type', 'scope', 'state']);
    const { payload } = await jwtVerify(fragment.get('access_token')!, createLocalJWKSet(await jwks()), { typ: 'at+jwt', currentDate: app.clock.now() });
    expect(payload.scope).toBe('thing');
  });

  it('key generation is race-safe: concurrent first uses end up with one key', async () => {
    await app.orm.em.fork().nativeUpdate(ServerKey, { purpose: 'access_token' }, { retiredAt: app.clock.now() });
    const keys = await Promise.all(Array.from({ length: 5 }, () => accessTokenSigningKey(app.orm.em.fork(), app.clock)));
    expect(new Set(keys.map((k) => k.kid))).toEqual(new Set(['access-token-2']));
    // Retired keys stay published: tokens never expire, so tokens signed with them stay verifiable.
    expect((await jwks()).keys.map((k) => k.kid)).toEqual(['access-token-1', 'access-token-2']);
  });
});

describe('GET /.well-known/oauth-authorization-server (RFC 8414)', () => {
  it('is exactly this document', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/']) {
      const res = await request(app.baseUrl, path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.json()).toEqual({
        issuer: 'https://flattr.test',
        authorization_endpoint: 'https://flattr.test/oauth/authorize',
        token_endpoint: 'https://flattr.test/oauth/token',
        revocation_endpoint: 'https://flattr.test/oauth/revoke',
        jwks_uri: 'https://flattr.test/.well-known/jwks.json',
        scopes_supported: ['flattr', 'thing', 'email', 'extendedread'],
        response_types_supported: ['code', 'token'],
        response_modes_supported: ['query', 'fragment'],
        grant_types_supported: ['authorization_code', 'implicit'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        service_documentation: 'https://docs.flattr.test/api/',
      });
    }
  });
});
