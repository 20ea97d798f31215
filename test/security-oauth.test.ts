import { Writable } from 'node:stream';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { request } from './support/http.js';
import { BrowserSession, loggedInBrowser, signedUpBrowser } from './support/browser-session.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { redirectUriVariants } from './support/fuzz/oauth-requests.js';
import { reportFigures } from './support/fuzz/settings.js';
import { loadConfig } from '../src/config/config.js';
import { ManualClock } from '../src/config/clock.js';
import { openDatabase } from '../src/db/database.js';
import { createApp } from '../src/server/app.js';
import { createLogger } from '../src/server/logger.js';
import { createUser } from '../src/services/users.js';
import { createClient } from '../src/services/oauth-clients.js';
import { LOGIN_THROTTLE, LoginAttemptLimiter } from '../src/rate-limit/login-attempts.js';
import { csrfTokenMatches } from '../src/web/session.js';
import { clientSecretMatches } from '../src/services/oauth-clients.js';
import { pkceVerifierMatches } from '../src/services/authorization-codes.js';
import { hashPassword, verifyPassword } from '../src/services/passwords.js';
import { sha256Hex } from '../src/services/tokens.js';
import type { OAuthClientEntity } from '../src/entities/index.js';

/**
 * Every timingSafeEqual call of the code under test, recorded (the real function still answers): the constant-time
 * tests below check that each secret comparison goes through it, on buffers of equal length.
 */
const safeEqualCalls = vi.hoisted(() => [] as { leftLength: number; rightLength: number; equalLengths: boolean; result: boolean }[]);
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = (left: NodeJS.ArrayBufferView, right: NodeJS.ArrayBufferView): boolean => {
    const result = actual.timingSafeEqual(left, right);
    safeEqualCalls.push({ leftLength: left.byteLength, rightLength: right.byteLength, equalLengths: left.byteLength === right.byteLength, result });
    return result;
  };
  return { ...actual, default: { ...actual, timingSafeEqual }, timingSafeEqual };
});

/**
 * Issue 10 (3): OAuth attacks from the RFC 9700 threat list that test/oauth-authorize.test.ts,
 * test/oauth-token.test.ts and test/web-accounts.test.ts do not already cover:
 *   - open redirect at the grant itself (POST with valid credentials and `allow`) and for custom-scheme callbacks;
 *   - CSRF on consent: the CSRF token is bound to its session;
 *   - `state` returned unchanged in every kind of redirect;
 *   - secrets never in the logs (the production logger at trace level, every flow) nor in a Referer
 *     (Referrer-Policy: no-referrer on every answer that carries a code, a state or a secret);
 *   - session fixation through the consent form;
 *   - brute force on login, consent and client authentication (src/rate-limit/login-attempts.ts);
 *   - the constant-time comparisons (each goes through timingSafeEqual, observed by a recording mock of node:crypto).
 */

const PASSWORD = 'correct horse battery';
const CALLBACK = 'https://app.example/callback';
const CUSTOM = 'gpodder://flattr-token/';

let app: TestApp;
let db: DbWatcher;
let client: OAuthClientEntity;
let secret: string;
let custom: OAuthClientEntity;
let attacks = 0;

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'true' });
  const em = app.orm.em.fork();
  await createUser(em, app.clock, { username: 'alice', email: 'alice@example.org', password: PASSWORD });
  await createUser(em, app.clock, { username: 'mallory', email: 'mallory@example.org', password: PASSWORD });
  ({ client, clientSecret: secret } = await createClient(em, app.clock, { ownerId: null, name: 'Player', callbackUrls: [CALLBACK] }));
  ({ client: custom } = await createClient(em, app.clock, { ownerId: null, name: 'Podcasts', callbackUrls: [CUSTOM] }));
  db = await DbWatcher.connect(app.databaseUrl);
});

afterAll(async () => {
  reportFigures({ suite: 'security-oauth', attacks });
  await db?.close();
  await app?.close();
});

let addressCounter = 0;
/** A fresh client address per scenario (TRUST_PROXY), so brute-force counting never leaks between tests. */
const freshAddress = () => `192.0.2.${++addressCounter}`;

function form(fields: Record<string, string>, address = freshAddress()) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': address },
    body: new URLSearchParams(fields).toString(),
  };
}

describe('open redirect at the grant', () => {
  it('valid credentials and `allow` with a redirect_uri that is not exactly registered: 400, no redirect, no code', async () => {
    const before = await db.state();
    const variants = [
      ...redirectUriVariants(CALLBACK).filter((v) => ![CALLBACK, CALLBACK.replace('app.example', 'APP.EXAMPLE'), CALLBACK.replace('app.example', 'app.example:443')].includes(v)),
      ...[`${CUSTOM}x`, 'gpodder://flattr-token', 'gpodder://evil.example/', 'gpodder:/flattr-token/', 'GPODDER://flattr-token/x', 'gpodder://flattr-token/?x=1'],
    ];
    for (const redirect of variants) {
      for (const target of [client, custom]) {
        attacks += 1;
        const res = await request(
          app.baseUrl,
          '/oauth/authorize',
          form({ response_type: 'code', client_id: target.clientId, redirect_uri: redirect, decision: 'allow', username: 'alice', password: PASSWORD, state: 's' }),
        );
        expect(res.status, `${target.name} ${redirect}`).toBe(400);
        expect(res.headers.location).toBeUndefined();
        expect(res.json()).toMatchObject({ error: 'invalid_request', error_description: 'Invalid redirect_uri' });
      }
    }
    expect(DbWatcher.changed(before, await db.state())).toEqual([]);
  });

  it('the D86 normalisations (scheme and host case, default port) still work for custom schemes as registered', async () => {
    const res = await request(app.baseUrl, '/oauth/authorize', form({ response_type: 'code', client_id: custom.clientId, redirect_uri: 'GPODDER://flattr-token/', decision: 'allow', username: 'alice', password: PASSWORD }));
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(/^GPODDER:\/\/flattr-token\/\?code=[A-Za-z0-9]{32}$/);
  });
});

describe('CSRF on consent', () => {
  it('the consent form only works with the CSRF token of its own session', async () => {
    const victim = await loggedInBrowser(app.baseUrl, 'alice', PASSWORD);
    const attacker = await loggedInBrowser(app.baseUrl, 'mallory', PASSWORD);
    const consentQuery = `response_type=code&client_id=${client.clientId}&scope=flattr&state=s`;
    await victim.get(`/oauth/authorize?${consentQuery}`);
    await attacker.get(`/oauth/authorize?${consentQuery}`);
    const fields = { response_type: 'code', client_id: client.clientId, scope: 'flattr', state: 's', decision: 'allow' };
    for (const csrf of [attacker.csrfToken!, '', 'x'.repeat(43), victim.csrfToken!.slice(0, -1), `${victim.csrfToken} `]) {
      attacks += 1;
      const res = await victim.post('/oauth/authorize', { ...fields, csrf_token: csrf });
      expect(res.status, csrf).toBe(200);
      expect(res.location).toBeNull();
      expect(res.text).toContain('This form has expired');
    }
    const ok = await victim.post('/oauth/authorize', { ...fields });
    expect(ok.status).toBe(302);
    expect(ok.location).toMatch(/[?&]code=/);
  });
});

describe('state round-trip', () => {
  const STATES = ['xyz', 'a b+c&d=e#f?g/h', 'ü€😀', '%41%', '"quoted"<tag>', '\u2028', 'x'.repeat(4000), '=&=&'];

  it('comes back unchanged in the code grant, the implicit grant and every redirected error', async () => {
    for (const state of STATES) {
      const cases: [Record<string, string>, 'query' | 'fragment'][] = [
        [{ response_type: 'code', decision: 'allow', username: 'alice', password: PASSWORD }, 'query'],
        [{ response_type: 'token', decision: 'allow', username: 'alice', password: PASSWORD }, 'fragment'],
        [{ response_type: 'code', decision: 'deny' }, 'query'],
        [{ response_type: 'token', decision: 'deny' }, 'fragment'],
        [{ response_type: 'code', scope: 'stats', decision: 'allow' }, 'query'],
        [{ response_type: 'bogus' }, 'query'],
      ];
      for (const [fields, where] of cases) {
        attacks += 1;
        const res = await request(app.baseUrl, '/oauth/authorize', form({ client_id: client.clientId, state, ...fields }));
        expect(res.status, JSON.stringify(fields)).toBe(302);
        const location = new URL(res.headers.location!);
        const params = new URLSearchParams(where === 'query' ? location.search : location.hash.slice(1));
        expect(params.get('state'), `${JSON.stringify(fields)} ${state.slice(0, 20)}`).toBe(state);
      }
    }
  });
});

describe('no secret in the logs or in a Referer', () => {
  let logApp: { baseUrl: string; close(): Promise<void>; orm: MikroORM; clock: ManualClock };
  let database: TestDatabase;
  let logged = '';

  beforeAll(async () => {
    // The production logger (src/server/logger.ts) at its most verbose, writing into a string.
    database = await createTestDatabase();
    const orm = await openDatabase({ databaseUrl: database.url });
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const config = loadConfig({ PORT: String(port), LOG_LEVEL: 'trace' });
    const clock = new ManualClock(new Date('2026-03-10T12:00:00Z'));
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        logged += String(chunk);
        callback();
      },
    });
    const logger = createLogger('trace', 'json', sink);
    server.on('request', createApp({ orm, config, clock, logger }).callback());
    logApp = {
      baseUrl: `http://127.0.0.1:${port}`,
      orm,
      clock,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await orm.close(true);
        await database.drop();
      },
    };
  });
  afterAll(() => logApp?.close());

  it('every flow (signup, login, consent, code exchange, implicit grant, REST and GraphQL with the token in each place, revocation, failures) logs none of its secrets', async () => {
    const base = logApp.baseUrl;
    const secrets: string[] = [];
    const browser = await signedUpBrowser(base, 'logtest', PASSWORD);
    secrets.push(PASSWORD, browser.cookie('flattr_session')!, browser.csrfToken!);
    await browser.get('/apps/new');
    const created = await browser.post('/apps', { name: 'Logged app', callback_urls: CALLBACK, token_format: 'opaque' });
    expect(created.status).toBe(201);
    const clientId = /id="client-id">([^<]+)</.exec(created.text)![1]!;
    const clientSecret = /id="client-secret">([^<]+)</.exec(created.text)?.[1] ?? /<code[^>]*>([A-Za-z0-9]{64})<\/code>/.exec(created.text.replace(clientId, ''))![1]!;
    secrets.push(clientSecret);
    // Code flow with PKCE, the code exchanged with Basic and then replayed in the body.
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    const grant = await request(base, '/oauth/authorize', form({ response_type: 'code', client_id: clientId, scope: 'flattr thing', state: 'st', code_challenge: challenge, code_challenge_method: 'S256', decision: 'allow', username: 'logtest', password: PASSWORD }));
    expect(grant.status).toBe(302);
    const code = new URL(grant.headers.location!).searchParams.get('code')!;
    secrets.push(code, verifier);
    const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    const exchanged = await request(base, '/oauth/token', { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' }, body: `grant_type=authorization_code&code=${code}&code_verifier=${verifier}` });
    expect(exchanged.status).toBe(200);
    const token = exchanged.json().access_token as string;
    secrets.push(token);
    const replay = await request(base, '/oauth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, client_secret: clientSecret }) });
    expect(replay.status).toBe(400);
    // Implicit flow.
    const implicit = await request(base, '/oauth/authorize', form({ response_type: 'token', client_id: clientId, decision: 'allow', username: 'logtest', password: PASSWORD }));
    const implicitToken = new URLSearchParams(new URL(implicit.headers.location!).hash.slice(1)).get('access_token')!;
    secrets.push(implicitToken);
    // The token in each place REST accepts, and on GraphQL; then failures carrying secrets.
    expect((await request(base, '/rest/v2/user', { headers: { Authorization: `Bearer ${implicitToken}` } })).status).toBe(200);
    expect((await request(base, `/rest/v2/user?access_token=${implicitToken}`)).status).toBe(200);
    expect((await request(base, '/rest/v2/things', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `access_token=${implicitToken}&url=https://example.org/logged` })).status).toBe(403);
    expect((await request(base, '/graphql', { method: 'POST', headers: { Authorization: `Bearer ${implicitToken}`, 'Content-Type': 'application/json' }, body: '{"query":"{ viewer { username } }"}' })).status).toBe(200);
    expect((await request(base, `/rest/v2/user?access_token=${implicitToken}`, { headers: { Authorization: `Bearer ${implicitToken}` } })).status).toBe(400);
    await request(base, '/oauth/token', { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}x`).toString('base64')}` }, body: 'grant_type=authorization_code&code=x' });
    await request(base, '/login', form({ username: 'logtest', password: `${PASSWORD}-wrong`, csrf_token: 'x' }));
    await request(base, '/oauth/revoke', { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
    expect((await request(base, '/rest/v2/user', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    // A request that fails inside the pipeline with an exception is logged with its error: still no secret.
    await request(base, `/rest/v2/things/search?query=%00&access_token=${implicitToken}`);

    expect(logged.length).toBeGreaterThan(0);
    for (const value of secrets) {
      attacks += 1;
      expect(logged.includes(value), `a secret (${value.slice(0, 6)}...) appears in the log`).toBe(false);
      expect(logged.includes(encodeURIComponent(value)), `an encoded secret appears in the log`).toBe(false);
      // Not even as its SHA-256 (the stored digests are secrets too: they identify the credential in the database).
      expect(logged.includes(sha256Hex(value))).toBe(false);
    }
  });

  it('Referrer-Policy: no-referrer and no caching on every answer that carries a code, a token, a state or a secret', async () => {
    const base = logApp.baseUrl;
    const owner = await signedUpBrowser(base, 'refowner', PASSWORD);
    await owner.get('/apps/new');
    const created = await owner.post('/apps', { name: 'Referrer app', callback_urls: CALLBACK, token_format: 'opaque' });
    const clientId = /id="client-id">([^<]+)</.exec(created.text)![1]!;
    const answers = [
      ['secret page', created],
      ['consent page', await request(base, `/oauth/authorize?response_type=code&client_id=${clientId}&state=secret-state&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`)],
      ['code redirect', await request(base, '/oauth/authorize', form({ response_type: 'code', client_id: clientId, decision: 'allow', username: 'refowner', password: PASSWORD }))],
      ['token redirect', await request(base, '/oauth/authorize', form({ response_type: 'token', client_id: clientId, decision: 'allow', username: 'refowner', password: PASSWORD }))],
      ['error redirect', await request(base, '/oauth/authorize', form({ response_type: 'code', client_id: clientId, decision: 'deny', state: 'secret-state' }))],
      ['login page', await new BrowserSession(base).get('/login')],
    ] as const;
    for (const [name, res] of answers) {
      attacks += 1;
      expect(res.headers['referrer-policy'], name).toBe('no-referrer');
      expect(res.headers['cache-control'], name).toBe('no-store');
    }
  });
});

describe('session fixation', () => {
  it('consent with username and password neither logs the browser in nor upgrades a planted session', async () => {
    const browser = new BrowserSession(app.baseUrl);
    await browser.get('/login'); // an anonymous session, as an attacker could plant it
    const planted = browser.cookie('flattr_session')!;
    const res = await browser.post('/oauth/authorize', { response_type: 'code', client_id: client.clientId, decision: 'allow', username: 'alice', password: PASSWORD, csrf_token: null });
    expect(res.status).toBe(302);
    expect(res.setCookies).toEqual([]);
    const apps = await new BrowserSession(app.baseUrl).get('/apps', { Cookie: `flattr_session=${planted}` });
    expect(apps.status).toBe(302);
    expect(apps.location).toMatch(/^\/login/);
  });

  it('the session cookie is HttpOnly and SameSite=Lax, and Secure with an https SITE_URL', async () => {
    // Behind a TLS-terminating proxy (TRUST_PROXY + X-Forwarded-Proto), as an https SITE_URL implies.
    const secure = await startTestApp({ SITE_URL: 'https://flattr.example', TRUST_PROXY: 'true' });
    try {
      const res = await new BrowserSession(secure.baseUrl).get('/login', { 'X-Forwarded-Proto': 'https' });
      const cookie = res.setCookies.find((c) => c.startsWith('flattr_session='))!;
      expect(cookie).toMatch(/;\s*httponly/i);
      expect(cookie).toMatch(/;\s*samesite=lax/i);
      expect(cookie).toMatch(/;\s*secure/i);
    } finally {
      await secure.close();
    }
  });
});

describe('brute force (src/rate-limit/login-attempts.ts)', () => {
  it(`website login: after ${LOGIN_THROTTLE.perAccount} failures for one account from one address, 429 even with the right password; others unaffected`, async () => {
    const address = freshAddress();
    const browser = new BrowserSession(app.baseUrl);
    await browser.get('/login', { 'X-Forwarded-For': address });
    for (let i = 0; i < LOGIN_THROTTLE.perAccount; i++) {
      attacks += 1;
      const res = await browser.post('/login', { username: 'alice', password: `guess ${i}` }, { 'X-Forwarded-For': address });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Wrong username or password.');
    }
    const blocked = await browser.post('/login', { username: 'ALICE', password: PASSWORD }, { 'X-Forwarded-For': address });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.text).toContain('Too many failed attempts');
    expect(blocked.setCookies.filter((c) => c.startsWith('flattr_session=') && !c.startsWith('flattr_session=;'))).toEqual([]);
    // The consent form shares the count for that account and address.
    const consent = await request(app.baseUrl, '/oauth/authorize', form({ response_type: 'code', client_id: client.clientId, decision: 'allow', username: 'alice', password: PASSWORD }, address));
    expect(consent.status).toBe(429);
    expect(consent.headers.location).toBeUndefined();
    // Another account from the same address, and the same account from another address, still work.
    const other = new BrowserSession(app.baseUrl);
    await other.get('/login', { 'X-Forwarded-For': address });
    expect((await other.post('/login', { username: 'mallory', password: PASSWORD }, { 'X-Forwarded-For': address })).status).toBe(303);
    expect((await loggedInBrowser(app.baseUrl, 'alice', PASSWORD)).cookie('flattr_session')).toBeTruthy();
  });

  it('consent form: the same limit, then 429 with the page again and no code', async () => {
    const address = freshAddress();
    const before = await db.state();
    for (let i = 0; i < LOGIN_THROTTLE.perAccount; i++) {
      attacks += 1;
      const res = await request(app.baseUrl, '/oauth/authorize', form({ response_type: 'code', client_id: client.clientId, decision: 'allow', username: 'mallory', password: `guess ${i}` }, address));
      expect(res.status).toBe(200);
    }
    const blocked = await request(app.baseUrl, '/oauth/authorize', form({ response_type: 'code', client_id: client.clientId, decision: 'allow', username: 'mallory', password: PASSWORD }, address));
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    expect(blocked.text).toContain('Too many failed attempts');
    expect(DbWatcher.changed(before, await db.state())).toEqual([]);
  });

  it('a success clears the account count', async () => {
    const address = freshAddress();
    const fail = (i: number) => request(app.baseUrl, '/oauth/authorize', form({ response_type: 'code', client_id: client.clientId, decision: 'allow', username: 'alice', password: `no ${i}` }, address));
    for (let i = 0; i < LOGIN_THROTTLE.perAccount - 1; i++) expect((await fail(i)).status).toBe(200);
    const ok = await request(app.baseUrl, '/oauth/authorize', form({ response_type: 'code', client_id: client.clientId, decision: 'allow', username: 'alice', password: PASSWORD }, address));
    expect(ok.status).toBe(302);
    for (let i = 0; i < LOGIN_THROTTLE.perAccount - 1; i++) expect((await fail(i)).status).toBe(200);
  });

  it(`client authentication at /oauth/token and /oauth/revoke: ${LOGIN_THROTTLE.perAccount} wrong secrets, then 429 invalid_client even with the right one`, async () => {
    const address = freshAddress();
    const post = (endpoint: string, auth: string | null, body = 'grant_type=authorization_code&code=nope') =>
      request(app.baseUrl, endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': address, ...(auth ? { Authorization: auth } : {}) },
        body,
      });
    const basic = (s: string) => `Basic ${Buffer.from(`${client.clientId}:${s}`).toString('base64')}`;
    // Requests without credentials (gPodder's first try, D89) are not failures.
    for (let i = 0; i < 20; i++) expect((await post('/oauth/token', null)).status).toBe(401);
    for (let i = 0; i < LOGIN_THROTTLE.perAccount; i++) {
      attacks += 1;
      const res = await post(i % 2 ? '/oauth/token' : '/oauth/revoke', basic(`wrong ${i}`), 'token=x');
      expect(res.status).toBe(401);
    }
    const blocked = await post('/oauth/token', basic(secret));
    expect(blocked.status).toBe(429);
    expect(blocked.json()).toMatchObject({ error: 'invalid_client', error_uri: `${app.config.docsUrl}/api/#authorization` });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.headers['cache-control']).toBe('no-store');
    // From another address the right secret works at once (the code is unknown: invalid_grant, not invalid_client).
    const elsewhere = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { Authorization: basic(secret), 'X-Forwarded-For': freshAddress(), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=nope',
    });
    expect(elsewhere.json().error).toBe('invalid_grant');
  });

  it(`spraying many accounts from one address stops after ${LOGIN_THROTTLE.perAddress} failures (the limiter itself)`, async () => {
    const limiter = new LoginAttemptLimiter(null, { perAccount: 3, perAddress: 10, windowSeconds: 60 });
    for (let i = 0; i < 10; i++) {
      expect((await limiter.check('login', `user${i}`, '203.0.113.1')).allowed).toBe(true);
      await limiter.failed('login', `user${i}`, '203.0.113.1');
    }
    const verdict = await limiter.check('login', 'someone-new', '203.0.113.1');
    expect(verdict).toMatchObject({ allowed: false });
    expect((await limiter.check('login', 'someone-new', '203.0.113.2')).allowed).toBe(true);
    // Keys are case-insensitive for names, so `Alice` and `alice` share a count.
    for (let i = 0; i < 3; i++) await limiter.failed('login', i % 2 ? 'Alice' : 'alice', '203.0.113.3');
    expect((await limiter.check('login', 'ALICE', '203.0.113.3')).allowed).toBe(false);
  });
});

describe('constant-time comparisons', () => {
  /** Runs `compare` and returns its verdict with the timingSafeEqual calls it made (the recording mock above). */
  async function comparing(compare: () => boolean | Promise<boolean>): Promise<{ verdict: boolean; calls: typeof safeEqualCalls }> {
    safeEqualCalls.length = 0;
    const verdict = await compare();
    return { verdict, calls: [...safeEqualCalls] };
  }
  /** The comparison went through exactly one timingSafeEqual of equal-length buffers, which gave `verdict`. */
  const constantTime = (verdict: boolean) => ({ verdict, calls: [{ leftLength: expect.any(Number), rightLength: expect.any(Number), equalLengths: true, result: verdict }] });

  it('CSRF tokens: a wrong token of the right length is compared with timingSafeEqual; other lengths and non-strings are refused without throwing', async () => {
    const session = { id: 1, user: null, csrfToken: 'a'.repeat(43) };
    for (const submitted of ['b'.repeat(43), 'a'.repeat(42) + 'b', '\u0000'.repeat(43), `${'a'.repeat(42)} `]) {
      expect(await comparing(() => csrfTokenMatches(session, submitted)), JSON.stringify(submitted)).toEqual(constantTime(false));
    }
    expect(await comparing(() => csrfTokenMatches(session, 'a'.repeat(43)))).toEqual(constantTime(true));
    for (const submitted of ['', 'a', 'a'.repeat(42), 'a'.repeat(44), 'ä'.repeat(43), null, 42, undefined, {}]) {
      expect(() => csrfTokenMatches(session, submitted)).not.toThrow();
      expect(csrfTokenMatches(session, submitted), JSON.stringify(submitted)).toBe(false);
    }
    expect(csrfTokenMatches(null, 'a'.repeat(43))).toBe(false);
  });

  it('client secrets: every presented secret, whatever its length, is compared (as its SHA-256) with timingSafeEqual', async () => {
    const stored = { clientSecretHash: sha256Hex('s3cret') } as OAuthClientEntity;
    for (const presented of ['', 's3cre', 's3cret ', 'S3CRET', 's3creu', '\ud800', 'x'.repeat(10_000)]) {
      expect(await comparing(() => clientSecretMatches(stored, presented)), presented.slice(0, 10)).toEqual(constantTime(false));
    }
    expect(await comparing(() => clientSecretMatches(stored, 's3cret'))).toEqual(constantTime(true));
  });

  it('client secrets over HTTP: wrong secrets of equal, shorter and longer length are all 401 invalid_client, never an error', async () => {
    const wrong = [secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a'), secret.slice(0, -1), `${secret}x`, '', 'ä'.repeat(secret.length)];
    for (const presented of wrong) {
      attacks += 1;
      const res = await request(app.baseUrl, '/oauth/token', {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(`${client.clientId}:${presented}`).toString('base64')}`, 'X-Forwarded-For': freshAddress(), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=nope',
      });
      expect(res.status, presented).toBe(401);
      expect(res.json().error).toBe('invalid_client');
    }
  });

  it('PKCE verifiers: every well-formed verifier is compared (as its S256 challenge) with timingSafeEqual; malformed ones are refused without throwing', async () => {
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    for (const verifier of ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK', 'x'.repeat(43), 'x'.repeat(128), challenge]) {
      expect(await comparing(() => pkceVerifierMatches(challenge, verifier)), verifier.slice(0, 10)).toEqual(constantTime(false));
    }
    expect(await comparing(() => pkceVerifierMatches(challenge, 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'))).toEqual(constantTime(true));
    for (const verifier of ['', 'short', 'x'.repeat(42), 'x'.repeat(129), 'x'.repeat(200), `${'x'.repeat(43)} `, 'ä'.repeat(43)]) {
      expect(() => pkceVerifierMatches(challenge, verifier)).not.toThrow();
      expect(pkceVerifierMatches(challenge, verifier), verifier.slice(0, 10)).toBe(false);
    }
  });

  it('passwords: every guess, whatever its length, is compared (as its scrypt hash) with timingSafeEqual; a malformed stored hash is refused', async () => {
    const hash = await hashPassword('pw-correct');
    expect(await comparing(() => verifyPassword('pw-correct', hash))).toEqual(constantTime(true));
    for (const guess of ['', 'pw-correc', 'pw-correct ', 'pw-correcu', 'x'.repeat(2000)]) {
      expect(await comparing(() => verifyPassword(guess, hash)), guess.slice(0, 10)).toEqual(constantTime(false));
    }
    for (const stored of ['not$a$valid$hash', '', null]) await expect(verifyPassword('anything', stored)).resolves.toBe(false);
  });
});
