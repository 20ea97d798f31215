import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { User, type ThingEntity, type UserEntity } from '../src/entities/index.js';
import { statsCache } from '../src/services/stats.js';

/**
 * Every page of the website, as an end user sees it (issue 16, parts 3 and 4), in Debian's Chromium driven by
 * playwright-core, at a phone's width (375 px) and a laptop's (1280 px):
 * - nothing scrolls sideways: `document.documentElement.scrollWidth <= window.innerWidth`;
 * - axe-core (run inside the page, under the page's own CSP) finds no violation of impact serious or critical;
 * - no CSP violation or script error is reported by the page.
 * The counts of every page (by impact) are printed at the end, for the README's table.
 */

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WIDTHS = [375, 1280] as const;
const PASSWORD = 'a long browser password';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

interface Audit {
  width: number;
  scrollWidth: number;
  innerWidth: number;
  violations: AxeViolation[];
}

let app: TestApp;
let browser: Browser;
let fx: Fixtures;
let maker: UserEntity;
let thing: ThingEntity;
let callback: http.Server;
let callbackUrl: string;
const results = new Map<string, Audit[]>();

beforeAll(async () => {
  app = await startTestApp();
  // Session cookies carry real expiry dates; the browser judges them by the real clock.
  app.clock.set(new Date());
  fx = new Fixtures(app.orm, app.clock);
  maker = await fx.user({ username: 'maker', firstname: 'Ma', lastname: 'Ker', about: 'I <3 making things', city: 'Malmö', country: 'SE', url: 'https://maker.example/' });
  const fan = await fx.user({ username: 'fan' });
  thing = await fx.thing(maker, { title: 'A tool with a rather long title, to see how it wraps on a phone', url: 'https://maker.example/tools/a-very-long-path-that-goes-on-and-on-and-on', tags: 'diy,tools' });
  await fx.thing(maker, { title: 'Second tool' });
  await fx.flattr(fan, thing);
  statsCache.clear();
  // The registered application's callback: where the consent page sends the browser back.
  callback = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Back at the app</title><p id="done">Back at the app</p></html>');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (callback ? callback.close(() => resolve()) : resolve()));
  await app?.close();
  if (results.size) {
    const impacts = ['critical', 'serious', 'moderate', 'minor'];
    const lines = ['| Page | 375 px: critical / serious / moderate / minor | 1280 px: critical / serious / moderate / minor | widest (375 px) |', '|---|---|---|---|'];
    for (const [label, audits] of results) {
      const count = (a: Audit | undefined) => (a ? impacts.map((i) => a.violations.filter((v) => v.impact === i).length).join(' / ') : '-');
      const narrow = audits.find((a) => a.width === 375);
      lines.push(`| ${label} | ${count(narrow)} | ${count(audits.find((a) => a.width === 1280))} | ${narrow?.scrollWidth ?? '-'} |`);
    }
    const found = [...results].flatMap(([label, audits]) => audits.flatMap((a) => a.violations.map((v) => `${label} @${a.width}: ${v.impact} ${v.id} (${v.help}) ${v.nodes.slice(0, 3).join(', ')}`)));
    console.log(`axe-core ${JSON.parse(fs.readFileSync(require.resolve('axe-core/package.json'), 'utf8')).version} results\n${lines.join('\n')}\n${found.join('\n')}`);
  }
});

/** A fresh context (own cookies) whose page records CSP violations, console errors and script errors. */
async function openContext(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // (Chromium asks for /favicon.ico, which the site does not have; error pages log their status.)
    if (message.type() !== 'error') return;
    const url = message.location().url;
    if (url.endsWith('/favicon.ico') || /Failed to load resource: the server responded with a status of [45]\d\d/.test(message.text())) return;
    problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { context, page, problems };
}

/** axe-core inside the page. `page.evaluate` runs through the DevTools protocol, which the page's CSP does not govern. */
async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.map(String).join(' ')) }));
  });
}

/** Both widths on the page as it is now (a page answering a POST cannot simply be loaded again). */
async function audit(label: string, page: Page, problems: string[]): Promise<void> {
  const audits: Audit[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    audits.push({ width, scrollWidth, innerWidth, violations: await runAxe(page) });
  }
  await page.setViewportSize({ width: 375, height: 800 });
  results.set(label, audits);
  for (const a of audits) {
    expect.soft(a.scrollWidth, `${label} at ${a.width} px scrolls sideways`).toBeLessThanOrEqual(a.innerWidth);
    const bad = a.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect.soft(bad, `${label} at ${a.width} px: axe-core violations`).toEqual([]);
  }
  expect.soft(problems, `${label}: console errors`).toEqual([]);
  problems.length = 0;
}

async function visit(page: Page, path: string): Promise<void> {
  await page.goto(`${app.baseUrl}${path}`);
  await page.waitForLoadState('load');
}

async function signUp(page: Page, username: string): Promise<void> {
  await visit(page, '/signup');
  await page.fill('#username', username);
  await page.fill('#email', `${username}@example.org`);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${app.baseUrl}/apps`), page.click('button[type=submit]:has-text("Sign up")')]);
}

async function user(username: string): Promise<UserEntity> {
  return (await app.orm.em.fork().findOneOrFail(User, { username })) as UserEntity;
}

const autoSubmitQuery = 'user_id=maker&url=' + encodeURIComponent('https://maker.example/new-song') + '&title=A+new+song&description=Recorded+live&tags=music,live&category=audio';

describe('pages for a visitor who is not logged in', () => {
  it('/ (redirects to /login), /login, a failed login and /signup', async () => {
    const { context, page, problems } = await openContext();
    try {
      await visit(page, '/');
      expect(page.url()).toBe(`${app.baseUrl}/login`);
      await audit('/login', page, problems);
      await page.fill('#username', 'nobody');
      await page.fill('#password', 'wrong password');
      await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]:has-text("Log in")')]);
      expect(await page.textContent('#login-error')).toContain('Wrong username or password');
      await audit('/login (wrong password)', page, problems);
      await visit(page, '/signup');
      // The password hint sits with the password field, not on the button's line.
      const [field, hint, button] = await Promise.all(['#password', '#password-hint', 'form[action="/signup"] button[type=submit]'].map((s) => page.locator(s).boundingBox()));
      expect(hint!.y).toBeGreaterThanOrEqual(field!.y + field!.height - 1);
      expect(button!.y).toBeGreaterThanOrEqual(hint!.y + hint!.height - 1);
      await audit('/signup', page, problems);
    } finally {
      await context.close();
    }
  });

  it('the public profile and thing pages, and a missing thing', async () => {
    const { context, page, problems } = await openContext();
    try {
      await visit(page, '/profile/maker');
      expect(await page.textContent('main')).toContain('Ma Ker');
      await audit('/profile/:username', page, problems);
      await visit(page, `/thing/${thing.id}`);
      expect(await page.textContent('h1')).toBe(thing.title);
      await audit('/thing/:id', page, problems);
      await visit(page, `/thing/${thing.id}/a-tool-with-a-rather-long-title`);
      await audit('/thing/:id/:slug', page, problems);
      await visit(page, '/thing/999999');
      await audit('/thing/:id (404)', page, problems);
    } finally {
      await context.close();
    }
  });

  it('/submit/auto: a preview, and an existing thing', async () => {
    const { context, page, problems } = await openContext();
    try {
      await visit(page, `/submit/auto?${autoSubmitQuery}`);
      expect(await page.textContent('main')).toContain('Its first flattr creates it for');
      await audit('/submit/auto (preview)', page, problems);
      await visit(page, `/submit/auto?url=${encodeURIComponent(thing.url)}`);
      await audit('/submit/auto (existing thing)', page, problems);
    } finally {
      await context.close();
    }
  });

  it('/docs', async () => {
    const { context, page, problems } = await openContext();
    try {
      await visit(page, '/docs');
      expect(await page.locator('main').count()).toBe(1);
      await audit('/docs', page, problems);
    } finally {
      await context.close();
    }
  });

  it('/dashboard without a session or token', async () => {
    const { context, page, problems } = await openContext();
    try {
      await visit(page, '/dashboard');
      await page.waitForSelector('#dashboard:not([data-state="loading"])');
      expect(await page.isVisible('#chart')).toBe(false);
      await audit('/dashboard (anonymous)', page, problems);
    } finally {
      await context.close();
    }
  });

  it('/oauth/authorize: the error page for a bad client_id or redirect_uri, and the consent page with its login form', async () => {
    const { context, page, problems } = await openContext();
    try {
      const response = await page.goto(`${app.baseUrl}/oauth/authorize?response_type=code&client_id=nope&redirect_uri=${encodeURIComponent('https://app.example/cb')}`);
      expect(response!.status()).toBe(400);
      expect(response!.headers()['content-type']).toBe('text/html; charset=utf-8');
      expect(page.url()).toContain('/oauth/authorize');
      expect(await page.textContent('main')).toContain('Unknown client');
      await audit('/oauth/authorize (unknown client_id)', page, problems);

      const owner = await user('maker');
      const { createClient } = await import('../src/services/oauth-clients.js');
      const { client } = await createClient(app.orm.em.fork(), app.clock, { ownerId: owner.id, name: 'Podcast <Player>', description: 'Plays podcasts & flattrs them', callbackUrls: ['https://podcast.example/callback'] });
      const bad = await page.goto(`${app.baseUrl}/oauth/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent('https://evil.example/')}`);
      expect(bad!.status()).toBe(400);
      expect(await page.textContent('main')).toContain('redirect_uri');
      await audit('/oauth/authorize (bad redirect_uri)', page, problems);

      await visit(page, `/oauth/authorize?response_type=code&client_id=${client.clientId}&scope=flattr%20email&state=xyz`);
      expect(await page.textContent('main')).toContain('maker');
      expect(await page.locator('input[type=password]').count()).toBe(1);
      await audit('/oauth/authorize (consent, logged out)', page, problems);
    } finally {
      await context.close();
    }
  });
});

describe('pages for a logged-in user', () => {
  it('/apps, /apps/new, the secret page, the app page, rotation, consent, /settings/applications', async () => {
    const { context, page, problems } = await openContext();
    try {
      await signUp(page, 'pageuser');
      await audit('/apps (none yet)', page, problems);
      // The header wraps instead of running together: the brand and the first link do not touch.
      const brand = (await page.locator('header > a').first().boundingBox())!;
      const nav = (await page.locator('header nav').boundingBox())!;
      expect(brand.x + brand.width < nav.x || brand.y + brand.height <= nav.y + 1).toBe(true);

      await visit(page, '/apps/new');
      await audit('/apps/new', page, problems);
      await page.fill('#callback_urls', 'not a url');
      await page.fill('#name', 'Broken');
      await Promise.all([page.waitForLoadState('load'), page.click('form[action="/apps"] button[type=submit]')]);
      await audit('/apps/new (invalid)', page, problems);

      await page.fill('#name', 'Page test app');
      await page.fill('#description', 'Checks every page.');
      await page.fill('#callback_urls', callbackUrl);
      await Promise.all([page.waitForLoadState('load'), page.click('form[action="/apps"] button[type=submit]')]);
      const clientId = (await page.textContent('#client-id'))!.trim();
      const secret = (await page.textContent('#client-secret'))!.trim();
      expect(secret).toMatch(/^[A-Za-z0-9]{64}$/);
      // In full, on one line: the secret scrolls inside its box, it does not wrap.
      const box = (await page.locator('#client-secret').boundingBox())!;
      const lineHeight = await page.locator('#client-secret').evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 20);
      expect(box.height).toBeLessThan(lineHeight * 1.6);
      // The copy button (a same-origin script the page's CSP allows) puts the secret on the clipboard.
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.baseUrl });
      await page.click('#copy-secret');
      await expect.poll(() => page.textContent('#copy-status')).toBe('Copied.');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      await audit('POST /apps (the new secret)', page, problems);

      await visit(page, `/apps/${clientId}`);
      await audit('/apps/:clientId', page, problems);
      await Promise.all([page.waitForLoadState('load'), page.click('form[action$="/rotate-secret"] button')]);
      expect((await page.textContent('#client-secret'))!.trim()).not.toBe(secret);
      expect(await page.isVisible('#copy-secret')).toBe(true);
      await audit('POST /apps/:clientId/rotate-secret', page, problems);
      await visit(page, '/apps');
      await audit('/apps', page, problems);
      await visit(page, '/apps/no-such-app');
      await audit('/apps/:clientId (404)', page, problems);

      // The implicit flow issues the token at once, so the application is listed under Connected applications.
      await visit(page, `/oauth/authorize?response_type=token&client_id=${clientId}&scope=flattr%20thing%20email%20extendedread&state=xyz`);
      expect(await page.textContent('main')).toContain('pageuser');
      await audit('/oauth/authorize (consent, logged in)', page, problems);
      await Promise.all([page.waitForURL((url) => url.href.startsWith(callbackUrl)), page.click('button[value=allow]')]);

      await visit(page, '/settings/applications');
      expect(await page.textContent('main')).toContain('Page test app');
      await audit('/settings/applications', page, problems);
    } finally {
      await context.close();
    }
  });

  it('the thing page with its Flattr button, the flattr result, /submit/auto with its button', async () => {
    const { context, page, problems } = await openContext();
    try {
      await signUp(page, 'flattrer');
      await app.orm.em.fork().nativeUpdate(User, { username: 'flattrer' }, { balanceCents: 500 });
      await visit(page, `/thing/${thing.id}`);
      await audit('/thing/:id (logged in)', page, problems);
      await Promise.all([page.waitForLoadState('load'), page.click(`form[action="/thing/${thing.id}/flattr"] button`)]);
      await audit('POST /thing/:id/flattr', page, problems);
      await visit(page, `/submit/auto?${autoSubmitQuery}`);
      await audit('/submit/auto (logged in)', page, problems);
      await Promise.all([page.waitForLoadState('load'), page.click('form[action="/submit/auto"] button')]);
      await audit('POST /submit/auto', page, problems);
      await visit(page, '/profile/flattrer');
      await audit('/profile/:username (logged in)', page, problems);
    } finally {
      await context.close();
    }
  });

  it('/dashboard for a user without the statistics role: says what is missing, draws no empty chart', async () => {
    const { context, page, problems } = await openContext();
    try {
      await signUp(page, 'norole');
      await visit(page, '/dashboard');
      expect(await page.textContent('#access-help')).toContain('does not have the statistics role');
      expect(await page.textContent('main')).not.toContain('npm run admin');
      expect(await page.textContent('main')).not.toContain('Not signed in');
      expect(await page.isVisible('#chart')).toBe(false);
      await audit('/dashboard (logged in, no role)', page, problems);
      // A bad token lands in the same error box as a bad date.
      await visit(page, '/dashboard?from=2026-13-01#token=not-a-token');
      await page.waitForSelector('#dashboard[data-state="error"]');
      const errors = await page.$$eval('#dashboard-errors li', (items) => items.map((i) => i.textContent));
      expect(errors).toHaveLength(2);
      expect(errors[1]).toMatch(/token/i);
      expect(await page.isVisible('#chart')).toBe(false);
      await audit('/dashboard (bad date and bad token)', page, problems);
    } finally {
      await context.close();
    }
  });

  it('/dashboard for a user with the statistics role', async () => {
    const { context, page, problems } = await openContext();
    try {
      await signUp(page, 'staffer');
      await fx.token(await user('staffer'), ['stats']);
      await visit(page, '/dashboard');
      await page.waitForSelector('#dashboard[data-state="ready"]');
      expect(await page.isVisible('#chart')).toBe(true);
      await audit('/dashboard (logged in, stats role)', page, problems);
    } finally {
      await context.close();
    }
  });
});
