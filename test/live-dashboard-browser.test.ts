import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * Issue 20 item 7, in Chromium: /dashboard follows the `statsTotals` subscription, so a flattr committed while the
 * page is open changes its totals and today's bar without a reload; when the event stream cannot be had, the page
 * falls back to polling. STATS_CACHE_SECONDS=0, so that the polled query is not an answer cached before the flattr.
 */

let app: TestApp;
let browser: Browser;
let fx: Fixtures;
let statsToken: string;
let bob: UserEntity;
let carol: UserEntity;
let thing: ThingEntity;

beforeAll(async () => {
  app = await startTestApp({ STATS_CACHE_SECONDS: '0' });
  app.clock.set(new Date());
  fx = new Fixtures(app.orm, app.clock);
  const staff = await fx.user({ username: 'staff' });
  const alice = await fx.user({ username: 'alice' });
  bob = await fx.user({ username: 'bob' });
  carol = await fx.user({ username: 'carol' });
  thing = await fx.thing(alice, { title: 'Live thing' });
  statsToken = await fx.token(staff, ['stats']);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function openContext(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  return { context, page, problems };
}

const today = () => app.clock.now().toISOString().slice(0, 10);
const total = (page: Page, name: string) => page.textContent(`#totals [data-total="${name}"] dd`);
const todaysBar = (page: Page) => page.getAttribute(`svg#chart rect.bar[data-day="${today()}"]`, 'data-count');

describe('/dashboard live', () => {
  it('updates the totals and today’s bar when a flattr is committed, without a reload', async () => {
    const { context, page, problems } = await openContext();
    try {
      await page.goto(`${app.baseUrl}/dashboard#token=${statsToken}`);
      await page.waitForSelector('#dashboard[data-live="live"]', { timeout: 15_000 });
      expect(await total(page, 'flattrs')).toBe('0');
      expect(await todaysBar(page)).toBe('0');
      let navigations = 0;
      page.on('framenavigated', () => navigations++);

      await fx.flattr(bob, thing);
      await page.waitForFunction(() => document.querySelector('#totals [data-total="flattrs"] dd')?.textContent === '1', undefined, { timeout: 15_000 });
      expect(await todaysBar(page)).toBe('1');
      await fx.flattr(carol, thing);
      await page.waitForFunction(() => document.querySelector('#totals [data-total="flattrs"] dd')?.textContent === '2', undefined, { timeout: 15_000 });
      expect(await todaysBar(page)).toBe('2');
      expect(await total(page, 'users')).toBe('4');
      expect(navigations).toBe(0);
      expect(await page.getAttribute('#dashboard', 'data-live')).toBe('live');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('falls back to polling when the event stream fails', async () => {
    const { context, page, problems } = await openContext();
    try {
      // Every event-stream request fails; plain queries go through.
      await page.route('**/graphql', (route) => (/text\/event-stream/.test(route.request().headers().accept ?? '') ? route.abort() : route.continue()));
      await page.goto(`${app.baseUrl}/dashboard#token=${statsToken}`);
      await page.waitForSelector('#dashboard[data-live="polling"]', { timeout: 15_000 });
      const before = Number(await total(page, 'flattrs'));
      const dave = await fx.user({ username: 'dave' });
      await fx.flattr(dave, thing);
      // The next poll (every 15 s) shows it.
      await page.waitForFunction((expected) => document.querySelector('#totals [data-total="flattrs"] dd')?.textContent === String(expected), before + 1, { timeout: 40_000 });
      expect(await todaysBar(page)).toBe(String(before + 1));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
