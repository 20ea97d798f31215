import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { BrowserSession, findForm, loggedInBrowser, signedUpBrowser } from './support/browser-session.js';
import { createUser, findUserByUsername } from '../src/services/users.js';
import { SESSION_COOKIE } from '../src/web/session.js';
import { contentSecurityPolicy, formActionSource } from '../src/web/respond.js';
import { safeNextPath } from '../src/web/next-url.js';
import { expiryCleanupJob } from '../src/jobs/jobs.js';

let app: TestApp;
const PASSWORD = 'correct horse';

beforeAll(async () => {
  app = await startTestApp();
  await createUser(app.orm.em.fork(), app.clock, { username: 'Alice', email: 'alice@example.org', password: PASSWORD });
});
afterAll(() => app?.close());

const browser = () => new BrowserSession(app.baseUrl);

/** Whether the browser's session is logged in: /apps answers 200 then, a redirect to /login otherwise. */
async function isLoggedIn(b: BrowserSession): Promise<boolean> {
  const res = await b.get('/apps');
  if (res.status === 200) return true;
  expect(res.status).toBe(302);
  expect(res.location).toBe('/login?next=%2Fapps');
  return false;
}

function expectSecurityHeaders(headers: Record<string, string>) {
  expect(headers['content-type']).toBe('text/html; charset=utf-8');
  expect(headers['content-security-policy']).toBe(
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['cache-control']).toBe('no-store');
}

describe('login page', () => {
  it('serves an accessible form with a CSRF token, an anonymous session cookie and the security headers', async () => {
    const b = browser();
    const res = await b.get('/login');
    expect(res.status).toBe(200);
    expectSecurityHeaders(res.headers);
    const form = findForm(res.text, '/login')!;
    expect(form.method).toBe('post');
    expect(form.values.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(form.values.next).toBe('/apps');
    expect(res.text).toContain('<label for="username">');
    expect(res.text).toContain('<label for="password">');
    const cookie = res.setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toMatch(/; httponly/i);
    expect(cookie).toMatch(/; samesite=lax/i);
    expect(cookie).not.toMatch(/; secure/i); // SITE_URL is http in tests
    expect(await isLoggedIn(b)).toBe(false);
  });

  it('GET / sends visitors to /login and logged-in users to /apps', async () => {
    expect((await browser().get('/')).location).toBe('/login');
    const b = await loggedInBrowser(app.baseUrl, 'alice', PASSWORD);
    expect((await b.get('/')).location).toBe('/apps');
  });
});

describe('signup', () => {
  it('creates the user with a scrypt hash, logs in and goes to /apps', async () => {
    const b = browser();
    await b.get('/signup');
    const res = await b.post('/signup', { username: 'newbie', email: 'newbie@example.org', password: 'long enough pw' });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/apps');
    expect(await isLoggedIn(b)).toBe(true);
    const page = await b.get('/apps');
    expect(page.text).toContain('<span>newbie</span>');
    const user = await findUserByUsername(app.orm.em.fork(), 'newbie');
    expect(user!.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    // The new account can log in from another browser.
    expect(await isLoggedIn(await loggedInBrowser(app.baseUrl, 'NEWBIE', 'long enough pw'))).toBe(true);
  });

  it('goes on to a safe next URL', async () => {
    const b = browser();
    const form = findForm((await b.get('/signup?next=%2Fsettings%2Fapplications')).text, '/signup')!;
    expect(form.values.next).toBe('/settings/applications');
    const res = await b.post('/signup', { username: 'nexter', email: 'n@example.org', password: 'long enough pw', next: form.values.next! });
    expect(res.location).toBe('/settings/applications');
  });

  it('re-renders the form with the validation message, escaping what was typed', async () => {
    const b = browser();
    await b.get('/signup');
    const before = b.cookie(SESSION_COOKIE);
    const res = await b.post('/signup', { username: '<script>alert(1)</script>', email: 'x@example.org', password: 'long enough pw' });
    expect(res.status).toBe(400);
    expectSecurityHeaders(res.headers);
    expect(res.text).toContain('Invalid username');
    expect(res.text).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(res.text).not.toContain('<script>');
    expect(res.text).not.toContain('long enough pw'); // the password is never echoed
    expect(b.cookie(SESSION_COOKIE)).toBe(before);
    expect(await isLoggedIn(b)).toBe(false);
  });

  it('refuses a taken username (case-insensitively) and a short password', async () => {
    const b = browser();
    await b.get('/signup');
    const taken = await b.post('/signup', { username: 'ALICE', email: 'other@example.org', password: 'long enough pw' });
    expect(taken.status).toBe(400);
    expect(taken.text).toContain('Username is already taken');
    const short = await b.post('/signup', { username: 'shorty', email: 'shorty@example.org', password: 'short' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('Password must be at least 8 characters');
    expect(await findUserByUsername(app.orm.em.fork(), 'shorty')).toBeNull();
  });
});

describe('login', () => {
  it('answers wrong credentials with the same generic error, 200, and no change of session', async () => {
    const b = browser();
    await b.get('/login');
    const before = b.cookie(SESSION_COOKIE);
    const wrongPassword = await b.post('/login', { username: 'alice', password: 'wrong password' });
    const unknownUser = await b.post('/login', { username: 'nobody', password: 'wrong password' });
    for (const res of [wrongPassword, unknownUser]) {
      expect(res.status).toBe(200);
      expectSecurityHeaders(res.headers);
      expect(res.text).toContain('Wrong username or password.');
      expect(res.setCookies).toEqual([]);
    }
    // The two pages differ only in the username typed back into the form.
    expect(wrongPassword.text.replace('value="alice"', 'value="nobody"')).toBe(unknownUser.text);
    expect(b.cookie(SESSION_COOKIE)).toBe(before);
    expect(await isLoggedIn(b)).toBe(false);
  });

  it('does not log in accounts without a password', async () => {
    const em = app.orm.em.fork();
    const { User } = await import('../src/entities/index.js');
    em.create(User, { username: 'nopass', email: 'np@example.org', passwordHash: null, registeredAt: app.clock.now() } as never);
    await em.flush();
    const b = browser();
    await b.get('/login');
    const res = await b.post('/login', { username: 'nopass', password: '' });
    expect(res.text).toContain('Wrong username or password.');
    expect(await isLoggedIn(b)).toBe(false);
  });

  it('replaces the session on login, so a planted or stolen pre-login cookie is worthless (fixation)', async () => {
    const victim = browser();
    await victim.get('/login');
    const planted = victim.cookie(SESSION_COOKIE)!;
    const attacker = victim.clone();
    const res = await victim.post('/login', { username: 'alice', password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/apps');
    const fresh = victim.cookie(SESSION_COOKIE)!;
    expect(fresh).not.toBe(planted);
    expect(await isLoggedIn(victim)).toBe(true);
    expect(attacker.cookie(SESSION_COOKIE)).toBe(planted);
    expect(await isLoggedIn(attacker)).toBe(false);
    // The new session has a new CSRF token too.
    const token = findForm((await victim.get('/apps')).text, '/logout')!.values.csrf_token;
    expect(token).not.toBe(attacker.csrfToken);
  });

  it('refuses a forged session cookie', async () => {
    const b = browser();
    b.setCookie(SESSION_COOKIE, 'eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiJ4In0.AAAA');
    expect(await isLoggedIn(b)).toBe(false);
  });
});

describe('CSRF', () => {
  it('answers a POST without or with a wrong csrf_token with a 403 HTML page', async () => {
    const b = browser();
    await b.get('/login');
    const missing = await b.post('/login', { username: 'alice', password: PASSWORD, csrf_token: null });
    const wrong = await b.post('/login', { username: 'alice', password: PASSWORD, csrf_token: 'x'.repeat(43) });
    const array = await b.post('/login', { username: 'alice', password: PASSWORD, 'csrf_token[]': b.csrfToken! , csrf_token: null });
    for (const res of [missing, wrong, array]) {
      expect(res.status).toBe(403);
      expectSecurityHeaders(res.headers);
      expect(res.text).toContain('Forbidden');
      expect(res.setCookies).toEqual([]);
    }
    expect(await isLoggedIn(b)).toBe(false);
  });

  it('refuses a token from another session and a POST without any session', async () => {
    const other = browser();
    await other.get('/login');
    const b = browser();
    await b.get('/login');
    expect((await b.post('/login', { username: 'alice', password: PASSWORD, csrf_token: other.csrfToken })).status).toBe(403);
    const noSession = browser();
    expect((await noSession.post('/signup', { username: 'ghost', email: 'g@example.org', password: 'long enough pw', csrf_token: other.csrfToken })).status).toBe(403);
    expect(await findUserByUsername(app.orm.em.fork(), 'ghost')).toBeNull();
  });

  it('ignores bodies that are not forms (a cross-site text/plain POST has no token)', async () => {
    const b = browser();
    await b.get('/login');
    const res = await b.request('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: `csrf_token=${b.csrfToken}&username=alice&password=${PASSWORD}`,
    });
    expect(res.status).toBe(403);
  });

  it('answers an oversized form with 413', async () => {
    const b = browser();
    await b.get('/login');
    const res = await b.post('/login', { username: 'alice', password: 'x'.repeat(40_000) });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  });
});

describe('visitor sessions', () => {
  const sessionRows = async () => Number((await app.orm.em.fork().getConnection().execute('select count(*)::int as n from web_sessions'))[0].n);

  it('write nothing to the database: cookie-less clients can fetch the forms as often as they like', async () => {
    const before = await sessionRows();
    for (let i = 0; i < 25; i++) {
      const res = await browser().get(i % 2 ? '/login' : '/signup');
      expect(res.status).toBe(200);
      expect(res.setCookies.some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(true);
    }
    expect(await sessionRows()).toBe(before);
  });

  it('keep their CSRF token for the life of the cookie, and a login then creates the one row', async () => {
    const b = browser();
    await b.get('/login');
    const first = b.csrfToken;
    await b.get('/signup');
    expect(b.csrfToken).toBe(first);
    const before = await sessionRows();
    expect((await b.post('/login', { username: 'alice', password: PASSWORD, next: '/apps' })).status).toBe(303);
    expect(await sessionRows()).toBe(before + 1);
    expect(await isLoggedIn(b)).toBe(true);
  });

  it('are refused when the cookie is not genuine', async () => {
    const b = browser();
    await b.get('/login');
    const [header, payload, signature] = b.cookie(SESSION_COOKIE)!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = { ...claims, anon: 'chosen-by-the-attacker' };
    b.setCookie(SESSION_COOKIE, `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`);
    expect((await b.post('/login', { username: 'alice', password: PASSWORD })).status).toBe(403);
  });

  it('leave expired user sessions to the expiry-cleanup job (no login pays for deleting them)', async () => {
    const em = app.orm.em.fork();
    // Another user's (the login below trims alice's own sessions beyond her bound).
    const other = await createUser(em, app.clock, { username: 'expiredsessions', email: 'expired-sessions@example.org', password: PASSWORD });
    await em
      .getConnection()
      .execute(
        `insert into web_sessions (sid_hash, user_id, csrf_token, created_at, expires_at)
         select md5(random()::text) || md5(random()::text), ?, 'x', ?::timestamptz - interval '40 days', ?::timestamptz - interval '10 days' from generate_series(1, 30)`,
        [other.id, app.clock.now(), app.clock.now()],
      );
    const expired = async () =>
      Number((await app.orm.em.fork().getConnection().execute('select count(*)::int as n from web_sessions where expires_at <= ?', [app.clock.now()]))[0].n);
    expect(await expired()).toBeGreaterThanOrEqual(30);
    await loggedInBrowser(app.baseUrl, 'alice', PASSWORD);
    expect(await expired()).toBeGreaterThanOrEqual(30);
    const result = await expiryCleanupJob.run({ em: app.orm.em.fork(), now: app.clock.now(), logger: pino({ level: 'silent' }) });
    expect(result.sessions).toBeGreaterThanOrEqual(30);
    expect(await expired()).toBe(0);
  });
});

describe('logout', () => {
  it('requires the CSRF token, then ends the session', async () => {
    const b = await loggedInBrowser(app.baseUrl, 'alice', PASSWORD);
    const token = findForm((await b.get('/apps')).text, '/logout')!.values.csrf_token!;
    expect((await b.post('/logout', { csrf_token: null })).status).toBe(403);
    expect((await b.post('/logout', { csrf_token: 'nope' })).status).toBe(403);
    expect(await isLoggedIn(b)).toBe(true);

    const copy = b.clone();
    const res = await b.post('/logout', { csrf_token: token });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/login');
    expect(res.setCookies.some((c) => c.startsWith(`${SESSION_COOKIE}=;`) && /expires=Thu, 01 Jan 1970/i.test(c))).toBe(true);
    expect(b.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await isLoggedIn(b)).toBe(false);
    // The session is gone on the server too: the old cookie does not work any more.
    expect(await isLoggedIn(copy)).toBe(false);
  });
});

describe('next (no open redirect)', () => {
  const attempts = ['//evil.example', 'https://evil.example', '/\\evil.example', '\\\\evil.example', '/\t/evil.example', 'javascript:alert(1)', 'http:/evil.example', '/\n/evil.example', ' /apps'];

  it.each(attempts)('ignores next=%j at login', async (next) => {
    const b = browser();
    const page = await b.get(`/login?next=${encodeURIComponent(next)}`);
    expect(findForm(page.text, '/login')!.values.next).toBe('/apps');
    const res = await b.post('/login', { username: 'alice', password: PASSWORD, next });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/apps');
  });

  it('ignores unsafe next at signup', async () => {
    const b = browser();
    await b.get('/signup');
    const res = await b.post('/signup', { username: 'redirected', email: 'r@example.org', password: 'long enough pw', next: '//evil.example/x' });
    expect(res.location).toBe('/apps');
  });

  it('follows a same-site relative path, query included', async () => {
    const b = browser();
    await b.get('/login');
    const res = await b.post('/login', { username: 'alice', password: PASSWORD, next: '/oauth/authorize?client_id=abc&scope=flattr%20thing' });
    expect(res.location).toBe('/oauth/authorize?client_id=abc&scope=flattr%20thing');
  });

  it('a logged-in visitor of /login goes straight to next', async () => {
    const b = await loggedInBrowser(app.baseUrl, 'alice', PASSWORD);
    expect((await b.get('/login?next=%2Fsettings%2Fapplications')).location).toBe('/settings/applications');
    expect((await b.get('/login?next=%2F%2Fevil.example')).location).toBe('/apps');
  });

  it('safeNextPath unit cases', () => {
    expect(safeNextPath('/apps/x?y=1#z')).toBe('/apps/x?y=1#z');
    expect(safeNextPath('/')).toBe('/');
    for (const bad of [...attempts, '', 'apps', '/a b', '/caf\u00e9', undefined, ['/apps'], '/'.padEnd(3000, 'a')]) {
      expect(safeNextPath(bad, 'FALLBACK')).toBe('FALLBACK');
    }
  });
});

describe('security header helpers', () => {
  it('contentSecurityPolicy adds well-formed form-action sources only', () => {
    const sources = ['https://app.example:8443/cb', 'gpodder://flattr-token/', 'http://a;b/x', 'javascript:alert(1)', 'not a url', 'HTTP://Example.COM:80/x'].map(formActionSource);
    expect(sources).toEqual(['https://app.example:8443', 'gpodder:', null, null, null, 'http://example.com']);
    expect(contentSecurityPolicy([...sources, "'unsafe-inline'", 'https://x.example; script-src *'])).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://app.example:8443 gpodder: http://example.com; frame-ancestors 'none'; base-uri 'none'",
    );
  });
});

describe('signed-up helper', () => {
  it('signedUpBrowser is logged in', async () => {
    expect(await isLoggedIn(await signedUpBrowser(app.baseUrl, 'helper1'))).toBe(true);
  });
});
