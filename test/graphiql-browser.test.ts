import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { GRAPHIQL_ASSETS, GRAPHIQL_CSP } from '../src/server/graphiql.js';

/**
 * Issue 15 (2): GraphiQL served by the server itself, in Debian's Chromium (playwright-core): GET /graphql as a
 * browser opens it, the editor renders, `{ __typename }` runs and its result shows; every request the page makes
 * goes to 127.0.0.1 (no CDN), under the page's own CSP, which reports no violation.
 */

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  app = await startTestApp();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('GraphiQL at /graphql', () => {
  it('is a page with its own CSP and no external reference; its assets are served locally', async () => {
    const page = await request(app.baseUrl, '/graphql', { headers: { Accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(GRAPHIQL_CSP);
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).not.toMatch(/<script>(?!<\/script>)/);
    for (const name of ['graphiql.js', 'graphiql.css', 'start.js', 'worker-editor.js', 'worker-json.js', 'worker-graphql.js', 'favicon.ico']) {
      const asset = await request(app.baseUrl, `${GRAPHIQL_ASSETS}/${name}`);
      expect(asset.status, name).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=86400');
    }
    expect((await request(app.baseUrl, `${GRAPHIQL_ASSETS}/nope.js`)).status).toBe(404);
    // Static files: not counted against the rate limit.
    expect((await request(app.baseUrl, `${GRAPHIQL_ASSETS}/start.js`)).headers['x-ratelimit-current']).toBeUndefined();
  });

  it('renders, runs { __typename } and shows "__typename": "Query", all from 127.0.0.1', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    try {
      const query = '{ __typename }';
      await page.goto(`${app.baseUrl}/graphql?query=${encodeURIComponent(query)}`, { waitUntil: 'load' });
      await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
      await page.waitForSelector('.graphiql-query-editor .monaco-editor', { timeout: 30_000 });
      // The query from the URL is in the editor.
      await page.waitForFunction(() => (document.querySelector('.graphiql-query-editor')?.textContent ?? '').includes('__typename'), null, { timeout: 30_000 });
      const answered = page.waitForResponse((r) => r.url().startsWith(`${app.baseUrl}/graphql`) && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('__typename'));
      await page.click('.graphiql-execute-button');
      expect((await answered).status()).toBe(200);
      await page.waitForFunction(() => /"__typename":\s*"Query"/.test(document.querySelector('.graphiql-response')?.textContent?.replace(/\u00a0/g, ' ') ?? ''), null, { timeout: 30_000 });
      const result = (await page.textContent('.graphiql-response'))!.replace(/\u00a0/g, ' ');
      expect(result).toMatch(/"__typename":\s*"Query"/);
    } finally {
      await context.close();
    }
    const external = requests.filter((url) => !/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/.test(url));
    expect(external, 'requests that left 127.0.0.1').toEqual([]);
    expect(requests.some((url) => url.includes(`${GRAPHIQL_ASSETS}/graphiql.js`))).toBe(true);
    expect(problems.filter((p) => /Content.Security.Policy|Refused to/i.test(p)), 'CSP violations').toEqual([]);
  }, 90_000);
});
