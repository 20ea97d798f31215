import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';

/**
 * Issue 3's acceptance path in a real browser (Debian's Chromium driven by playwright-core):
 * sign up, register an app, authorize it, consent, come back with a code, exchange it, call the API.
 */

let app: TestApp;
let browser: Browser;
let callback: http.Server;
let callbackUrl: string;
const received: URL[] = [];

beforeAll(async () => {
  app = await startTestApp();
  // Cookies carry real expiry dates; the browser judges them by the real clock.
  app.clock.set(new Date());
  callback = http.createServer((req, res) => {
    const url = new URL(req.url!, callbackUrl);
    if (url.pathname === '/callback') received.push(url);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Back at the app</title><p id="done">Back at the app</p>');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (callback ? callback.close(() => resolve()) : resolve()));
  await app?.close();
});

describe('OAuth in a real browser', () => {
  it('signs up, registers an app, authorizes it and the app gets a working token', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.baseUrl}/signup`);
    await page.fill('#username', 'browseruser');
    await page.fill('#email', 'browser@example.org');
    await page.fill('#password', 'a long browser password');
    await Promise.all([page.waitForURL(`${app.baseUrl}/apps`), page.click('button[type=submit]:has-text("Sign up")')]);

    await page.goto(`${app.baseUrl}/apps/new`);
    await page.fill('#name', 'Browser test app');
    await page.fill('#callback_urls', callbackUrl);
    await Promise.all([page.waitForLoadState('load'), page.click('form[action="/apps"] button[type=submit]')]);
    const clientId = (await page.textContent('#client-id'))!.trim();
    const clientSecret = (await page.textContent('#client-secret'))!.trim();
    expect(clientId).toMatch(/^[A-Za-z0-9]{64}$/);

    const authorize = `${app.baseUrl}/oauth/authorize?response_type=code&client_id=${clientId}&redirect_uri=${encodeURIComponent(callbackUrl)}&scope=flattr%20email&state=xyz`;
    await page.goto(authorize);
    expect(await page.textContent('body')).toContain('Browser test app');
    // Logged in already: consent only, no password fields.
    expect(await page.locator('input[type=password]').count()).toBe(0);
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callbackUrl)), page.click('button[value=allow]')]);
    expect(await page.textContent('#done')).toBe('Back at the app');

    const redirect = received.at(-1)!;
    expect(redirect.searchParams.get('state')).toBe('xyz');
    const code = redirect.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9]{32}$/);

    const token = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl }).toString(),
    });
    expect(token.status).toBe(200);
    expect(token.json()).toEqual({ access_token: expect.stringMatching(/^[0-9a-f]{40}$/), token_type: 'bearer', scope: 'flattr email' });
    const accessToken = token.json().access_token as string;

    const me = await request(app.baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(me.json()).toMatchObject({ username: 'browseruser', email: 'browser@example.org' });

    const graphql = (t: string) =>
      request(app.baseUrl, '/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t}` },
        body: JSON.stringify({ query: '{ viewer { username email } }' }),
      });
    expect((await graphql(accessToken)).json().data).toEqual({ viewer: { username: 'browseruser', email: 'browser@example.org' } });

    // The user withdraws the app's access in the browser; the token stops working at once.
    await page.goto(`${app.baseUrl}/settings/applications`);
    expect(await page.textContent('body')).toContain('Browser test app');
    await Promise.all([page.waitForLoadState('load'), page.click('form[action$="/revoke"] button[type=submit]')]);
    const after = await request(app.baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(after.status).toBe(401);
    expect((await graphql(accessToken)).status).toBe(401);
    await page.close();
  }, 60_000);
});
