import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { signedUpBrowser } from './support/browser-session.js';
import { User, type ThingEntity, type UserEntity } from '../src/entities/index.js';
import { statsCache } from '../src/services/stats.js';

/**
 * /dashboard in a real browser (issue 8, item 8; Debian's Chromium driven by playwright-core): opened with a stats
 * token in the fragment, and by a logged-in user who holds the internal role. The chart and the table must show
 * the fixture's numbers: 2026-03-01..03-10 has 2, 0, 0, 2, 0, 0, 0, 0, 1, 0 flattrs; top things t1 (3), t2 (1), t3 (1).
 */

let app: TestApp;
let browser: Browser;
let fx: Fixtures;
let statsToken: string;
let plainToken: string;
let t1: ThingEntity;
let t2: ThingEntity;
let t3: ThingEntity;
const RANGE = '?from=2026-03-01&to=2026-03-10';
const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10'];
const COUNTS = [2, 0, 0, 2, 0, 0, 0, 0, 1, 0];

beforeAll(async () => {
  app = await startTestApp();
  // Session cookies carry real expiry dates; the browser judges them by the real clock.
  app.clock.set(new Date());
  fx = new Fixtures(app.orm, app.clock);
  const staff = await fx.user({ username: 'staff' });
  const alice = await fx.user({ username: 'alice' });
  const bob = await fx.user({ username: 'bob' });
  const carol = await fx.user({ username: 'carol' });
  const dave = await fx.user({ username: 'dave' });
  t1 = await fx.thing(alice, { title: 'Alice & co. "write" <3' });
  t2 = await fx.thing(alice, { title: 'Second thing' });
  t3 = await fx.thing(bob, { title: 'Bob builds' });
  await fx.flattr(bob, t1, new Date('2026-03-01T10:00:00Z'));
  await fx.flattr(carol, t1, new Date('2026-03-01T23:59:59Z'));
  await fx.flattr(dave, t1, new Date('2026-03-04T00:00:00Z'));
  await fx.flattr(bob, t2, new Date('2026-03-04T12:00:00Z'));
  await fx.flattr(carol, t3, new Date('2026-03-09T08:00:00Z'));
  await fx.flattr(dave, t3, new Date('2026-02-20T08:00:00Z')); // outside the range
  statsToken = await fx.token(staff, ['stats']);
  plainToken = await fx.token(alice, ['flattr']);
  statsCache.clear();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** A fresh browser context (own cookies and sessionStorage) that records CSP violations and page errors. */
async function openContext(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // (Chromium asks for /favicon.ico, which the site does not have.)
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { context, page, problems };
}

async function settled(page: Page): Promise<string> {
  await page.waitForSelector('#dashboard:not([data-state="loading"])', { timeout: 15_000 });
  return (await page.getAttribute('#dashboard', 'data-state'))!;
}

async function expectFixtureNumbers(page: Page) {
  const bars = await page.$$eval('svg#chart rect.bar', (rects) => rects.map((r) => ({ day: r.getAttribute('data-day'), count: Number(r.getAttribute('data-count')), height: Number(r.getAttribute('height')) })));
  expect(bars.map((b) => b.day)).toEqual(DAYS);
  expect(bars.map((b) => b.count)).toEqual(COUNTS);
  // Drawn to scale: the two busiest days are the tallest bars, equal; a day with 1 is half as tall; empty days are flat.
  expect(bars[0]!.height).toBeGreaterThan(100);
  expect(bars[3]!.height).toBe(bars[0]!.height);
  expect(bars[8]!.height).toBeCloseTo(bars[0]!.height / 2, 1);
  expect(bars[1]!.height).toBe(0);
  expect(await page.textContent('svg#chart rect.bar:nth-of-type(1) title')).toBe('2026-03-01: 2 flattrs');
  expect(await page.textContent('svg#chart .y-max')).toBe('2');
  expect(await page.textContent('#chart-summary')).toBe('5 flattrs from 2026-03-01 to 2026-03-10; busiest day 2026-03-01 with 2.');

  const rows = await page.$$eval('#top-things tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  expect(rows).toEqual([
    ['1', 'Alice & co. "write" <3', 'alice', '3'],
    ['2', 'Second thing', 'alice', '1'],
    ['3', 'Bob builds', 'bob', '1'],
  ]);
  expect(await page.getAttribute('#top-things tbody tr:nth-child(1) a', 'href')).toBe(`${app.config.siteUrl}/thing/${t1.id}`);
  const totals = await page.$$eval('#totals [data-total]', (items) => items.map((i) => [i.getAttribute('data-total'), i.querySelector('dd')!.textContent]));
  expect(totals).toEqual([
    ['users', '5'],
    ['things', '3'],
    ['flattrs', '6'],
    ['activeSubscriptions', '0'],
  ]);
}

describe('/dashboard opened with a stats token', () => {
  it('draws the flattrs-per-day chart and the top-things table from /graphql', async () => {
    const { context, page, problems } = await openContext();
    try {
      const response = await page.goto(`${app.baseUrl}/dashboard${RANGE}#token=${statsToken}`);
      const csp = response!.headers()['content-security-policy']!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(await settled(page)).toBe('ready');
      await expectFixtureNumbers(page);
      // The token left the address bar (kept in this tab's sessionStorage only).
      expect(page.url()).toBe(`${app.baseUrl}/dashboard${RANGE}`);
      // The range form keeps working without the fragment.
      await page.fill('#from', '2026-03-04');
      await page.fill('#to', '2026-03-05');
      await Promise.all([page.waitForURL(`${app.baseUrl}/dashboard?from=2026-03-04&to=2026-03-05`), page.click('form.range button')]);
      expect(await settled(page)).toBe('ready');
      expect(await page.$$eval('svg#chart rect.bar', (rects) => rects.map((r) => r.getAttribute('data-count')))).toEqual(['2', '0']);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('defaults to the last 30 days by the server clock', async () => {
    const { context, page } = await openContext();
    try {
      await page.goto(`${app.baseUrl}/dashboard#token=${statsToken}`);
      expect(await settled(page)).toBe('ready');
      const days = await page.$$eval('svg#chart rect.bar', (rects) => rects.map((r) => r.getAttribute('data-day')));
      expect(days).toHaveLength(30);
      expect(days.at(-1)).toBe(app.clock.now().toISOString().slice(0, 10));
    } finally {
      await context.close();
    }
  });

  it('says so when the token lacks the stats scope, and draws nothing', async () => {
    const { context, page } = await openContext();
    try {
      await page.goto(`${app.baseUrl}/dashboard${RANGE}#token=${plainToken}`);
      expect(await settled(page)).toBe('error');
      // In the page's one error box (where a bad date goes too), and no empty chart.
      expect(await page.$$eval('#dashboard-errors li', (items) => items.map((i) => i.textContent))).toEqual(['This token does not have the stats scope.']);
      expect(await page.isVisible('#dashboard-errors')).toBe(true);
      expect(await page.locator('svg#chart rect.bar').count()).toBe(0);
      expect(await page.isVisible('#chart')).toBe(false);
    } finally {
      await context.close();
    }
  });
});

describe('/dashboard for a logged-in user', () => {
  async function logIn(page: Page, username: string) {
    await page.goto(`${app.baseUrl}/signup`);
    await page.fill('#username', username);
    await page.fill('#email', `${username}@example.org`);
    await page.fill('#password', 'a long browser password');
    await Promise.all([page.waitForURL(`${app.baseUrl}/apps`), page.click('button[type=submit]:has-text("Sign up")')]);
  }

  async function user(username: string): Promise<UserEntity> {
    return (await app.orm.em.fork().findOneOrFail(User, { username })) as UserEntity;
  }

  it('works without any token in the page for a user holding the internal role (a stats grant)', async () => {
    const { context, page, problems } = await openContext();
    try {
      await logIn(page, 'staffer');
      await fx.token(await user('staffer'), ['stats']);
      const response = await page.goto(`${app.baseUrl}/dashboard${RANGE}`);
      const html = await response!.text();
      expect(html).toContain('data-auth="session"');
      expect(html).not.toContain(statsToken);
      expect(await settled(page)).toBe('ready');
      await expectFixtureNumbers(page);
      expect(await page.locator('#access-help').count()).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows no numbers to a logged-in user without the role', async () => {
    const { context, page } = await openContext();
    try {
      await logIn(page, 'visitor');
      await fx.token(await user('visitor'), ['flattr', 'thing', 'email', 'extendedread']);
      await page.goto(`${app.baseUrl}/dashboard${RANGE}`);
      expect(await settled(page)).toBe('no-access');
      expect(await page.isVisible('#access-help')).toBe(true);
      expect(await page.textContent('#access-help')).toBe('Your account does not have the statistics role. An operator can grant it.');
      expect(await page.isVisible('#chart')).toBe(false);
      expect(await page.locator('svg#chart rect.bar').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe('/graphql with a session (the dashboard of a logged-in staff user)', () => {
  const query = JSON.stringify({ query: '{ stats { totals { users } } viewer { username email } }' });

  it('needs the session cookie, the matching X-CSRF-Token and a stats grant; gives only the stats scope', async () => {
    const session = await signedUpBrowser(app.baseUrl, 'httpstaff');
    await session.get('/apps'); // a page of the logged-in session (signing up replaced the session and its CSRF token)
    const csrf = session.csrfToken!;
    expect(csrf).toBeTruthy();
    const post = (headers: Record<string, string>) =>
      session.request('/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: query }).then((r) => JSON.parse(r.text));

    // No grant yet: anonymous.
    expect((await post({ 'X-CSRF-Token': csrf })).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const staffer = (await app.orm.em.fork().findOneOrFail(User, { username: 'httpstaff' })) as UserEntity;
    await fx.token(staffer, ['stats', 'email']);
    const ok = await post({ 'X-CSRF-Token': csrf });
    expect(ok.errors).toBeUndefined();
    expect(ok.data.stats.totals.users).toBeGreaterThan(0);
    // Only `stats`: the grant's `email` scope does not come with the session.
    expect(ok.data.viewer).toEqual({ username: 'httpstaff', email: null });
    // Wrong or missing CSRF token, or a GET: anonymous.
    expect((await post({ 'X-CSRF-Token': `${csrf}x` })).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await post({})).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const get = await session.request(`/graphql?query=${encodeURIComponent('{ stats { totals { users } } }')}`, { headers: { Accept: 'application/json', 'X-CSRF-Token': csrf } });
    expect(JSON.parse(get.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // Without the cookie the CSRF token alone is nothing.
    const bare = await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: query });
    expect(bare.json().errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
