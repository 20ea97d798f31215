import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { BrowserSession, findForm, parseForms, signedUpBrowser } from './support/browser-session.js';
import { clientSecretMatches, createClient, findClient } from '../src/services/oauth-clients.js';
import { findUserByUsername } from '../src/services/users.js';
import { issueAccessToken } from '../src/services/tokens.js';
import { AccessToken } from '../src/entities/index.js';

let app: TestApp;
let owner: BrowserSession;
let other: BrowserSession;

const EVIL_NAME = '<script>alert("x")</script> & Co';
const ESCAPED_NAME = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co';

beforeAll(async () => {
  app = await startTestApp();
  owner = await signedUpBrowser(app.baseUrl, 'owner');
  other = await signedUpBrowser(app.baseUrl, 'other');
});
afterAll(() => app?.close());

function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  expect(from).toBeGreaterThanOrEqual(0);
  return text.slice(from + start.length, text.indexOf(end, from + start.length));
}

/** Registers an app through the form; returns its credentials as the page shows them. */
async function register(b: BrowserSession, fields: Record<string, string> = {}) {
  await b.get('/apps/new');
  const res = await b.post('/apps', {
    name: 'My app',
    description: 'Does things',
    callback_urls: 'https://app.example/callback\r\ngpodder://flattr-token/',
    token_format: 'opaque',
    ...fields,
  });
  expect(res.status).toBe(201);
  return { res, clientId: between(res.text, '<code id="client-id">', '</code>'), secret: between(res.text, '<code id="client-secret">', '</code>') };
}

const freshClient = async (clientId: string) => (await findClient(app.orm.em.fork(), clientId))!;

describe('/apps', () => {
  it('sends visitors to the login page, with next', async () => {
    const visitor = new BrowserSession(app.baseUrl);
    for (const path of ['/apps', '/apps/new', '/apps/whatever', '/settings/applications']) {
      const res = await visitor.get(path);
      expect(res.status).toBe(302);
      expect(res.location).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
  });

  it('registers an application and shows its secret once', async () => {
    const b = await signedUpBrowser(app.baseUrl, 'registrar');
    const empty = await b.get('/apps');
    expect(empty.text).toContain('You have not registered any application yet.');
    const form = await b.get('/apps/new');
    expect(form.status).toBe(200);
    expect(form.headers['cache-control']).toBe('no-store');
    expect(form.text).toContain('<select id="token_format" name="token_format">');

    const { res, clientId, secret } = await register(b, { name: EVIL_NAME, token_format: 'jwt' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    // The copy button: a same-origin script, the only script the page may run (no inline script, no eval).
    expect(res.headers['content-security-policy']).toContain("script-src 'self';");
    expect(res.text).toContain('<script src="/copy-button.js" defer></script>');
    expect(res.text).toContain('<button type="button" id="copy-secret" data-copy="client-secret" data-status="copy-status" aria-describedby="client-secret-label" hidden>Copy</button>');
    expect(form.headers['content-security-policy']).not.toContain('script-src');
    const script = await b.get('/copy-button.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    expect(clientId).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(secret).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(res.text).toContain(ESCAPED_NAME);
    expect(res.text).not.toContain('<script>');

    const client = await freshClient(clientId);
    const registrar = await findUserByUsername(app.orm.em.fork(), 'registrar');
    expect(client.name).toBe(EVIL_NAME);
    expect(client.description).toBe('Does things');
    expect(client.callbackUrls).toEqual(['https://app.example/callback', 'gpodder://flattr-token/']);
    expect(client.tokenFormat).toBe('jwt');
    expect((client.owner as { id: number }).id).toBe(registrar!.id);
    expect(clientSecretMatches(client, secret)).toBe(true);
    expect(client.clientSecretHash).not.toContain(secret);

    // The list and the details page show the app, escaped, and never the secret.
    const list = await b.get('/apps');
    expect(list.text).toContain(ESCAPED_NAME);
    expect(list.text).toContain(`<a href="/apps/${clientId}">`);
    expect(list.text).toContain(`<code>${clientId}</code>`);
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toContain('<script>');
    const details = await b.get(`/apps/${clientId}`);
    expect(details.status).toBe(200);
    expect(details.text).toContain(ESCAPED_NAME);
    expect(details.text).toContain('<code>gpodder://flattr-token/</code>');
    expect(details.text).toContain(clientId);
    expect(details.text).not.toContain(secret);
    expect(details.text).not.toContain('<script>');
    expect(parseForms(details.text).map((f) => f.action)).toEqual(['/logout', `/apps/${clientId}/rotate-secret`, `/apps/${clientId}/delete`]);
  });

  it('re-renders the form with the validation message and what was typed', async () => {
    await owner.get('/apps/new');
    const noCallback = await owner.post('/apps', { name: EVIL_NAME, description: 'd', callback_urls: '  \n ', token_format: 'opaque' });
    expect(noCallback.status).toBe(400);
    expect(noCallback.text).toContain('At least one callback URL is required');
    expect(noCallback.text).toContain(`value="${ESCAPED_NAME}"`);
    expect(noCallback.text).not.toContain('<script>');

    const badScheme = await owner.post('/apps', { name: 'x', callback_urls: 'javascript:alert(1)', token_format: 'opaque' });
    expect(badScheme.status).toBe(400);
    expect(badScheme.text).toContain('Callback URL scheme not allowed');

    const fragment = await owner.post('/apps', { name: 'x', callback_urls: 'https://a.example/cb#frag', token_format: 'jwt' });
    expect(fragment.status).toBe(400);
    expect(fragment.text).toContain('may not have a fragment');
    expect(fragment.text).toContain('<option value="jwt" selected>');

    const noName = await owner.post('/apps', { name: '   ', callback_urls: 'https://a.example/cb', token_format: 'opaque' });
    expect(noName.text).toContain('needs a name');

    const badFormat = await owner.post('/apps', { name: 'x', callback_urls: 'https://a.example/cb', token_format: 'saml' });
    expect(badFormat.status).toBe(400);
    expect(badFormat.text).toContain('Choose an access token format');

    expect((await owner.get('/apps')).text).toContain('You have not registered any application yet.');
  });

  it('refuses registration without a valid csrf_token', async () => {
    await owner.get('/apps/new');
    const res = await owner.post('/apps', { name: 'Forged', callback_urls: 'https://a.example/cb', csrf_token: null });
    expect(res.status).toBe(403);
    expect((await owner.get('/apps')).text).not.toContain('Forged');
  });

  it('rotating the secret shows a new one once; the old one stops matching', async () => {
    const { clientId, secret: oldSecret } = await register(owner, { name: 'Rotator' });
    await owner.get(`/apps/${clientId}`);
    const missing = await owner.post(`/apps/${clientId}/rotate-secret`, { csrf_token: null });
    expect(missing.status).toBe(403);
    expect(clientSecretMatches(await freshClient(clientId), oldSecret)).toBe(true);

    const res = await owner.post(`/apps/${clientId}/rotate-secret`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const newSecret = between(res.text, '<code id="client-secret">', '</code>');
    expect(newSecret).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(newSecret).not.toBe(oldSecret);
    const client = await freshClient(clientId);
    expect(clientSecretMatches(client, oldSecret)).toBe(false);
    expect(clientSecretMatches(client, newSecret)).toBe(true);
    expect((await owner.get(`/apps/${clientId}`)).text).not.toContain(newSecret);
  });

  it('another user gets 404 for someone else’s app, and cannot rotate or delete it', async () => {
    const { clientId, secret } = await register(owner, { name: 'Private app' });
    const details = await other.get(`/apps/${clientId}`);
    expect(details.status).toBe(404);
    expect(details.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(details.text).not.toContain('Private app');
    expect(details.text).not.toContain(clientId);
    // Same answer as for an app that does not exist at all.
    expect((await other.get('/apps/no-such-app')).status).toBe(404);

    await other.get('/apps');
    expect((await other.post(`/apps/${clientId}/rotate-secret`)).status).toBe(404);
    expect((await other.post(`/apps/${clientId}/delete`)).status).toBe(404);
    const client = await freshClient(clientId);
    expect(client).toBeTruthy();
    expect(clientSecretMatches(client, secret)).toBe(true);
    expect((await other.get('/apps')).text).not.toContain('Private app');
  });

  it('deleting an app removes it and its tokens', async () => {
    const { clientId } = await register(owner, { name: 'Doomed' });
    const client = await freshClient(clientId);
    const user = (await findUserByUsername(app.orm.em.fork(), 'other'))!;
    const token = await issueAccessToken(app.orm.em.fork(), app.clock, { userId: user.id, clientId: client.id, scopes: ['flattr'] });
    expect((await request(app.baseUrl, '/rest/v2/users/other', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);

    await owner.get(`/apps/${clientId}`);
    expect((await owner.post(`/apps/${clientId}/delete`, { csrf_token: 'wrong' })).status).toBe(403);
    expect(await findClient(app.orm.em.fork(), clientId)).toBeTruthy();

    const res = await owner.post(`/apps/${clientId}/delete`);
    expect(res.status).toBe(303);
    expect(res.location).toBe('/apps');
    expect(await findClient(app.orm.em.fork(), clientId)).toBeNull();
    expect(await app.orm.em.fork().count(AccessToken, { client: client.id })).toBe(0);
    expect((await owner.get(`/apps/${clientId}`)).status).toBe(404);
    expect((await owner.get('/apps')).text).not.toContain('Doomed');
    const rest = await request(app.baseUrl, '/rest/v2/users/other', { headers: { Authorization: `Bearer ${token}` } });
    expect(rest.status).toBe(401);
  });
});

describe('/settings/applications', () => {
  it('lists the applications the user granted access to, and revoking kills their tokens at once', async () => {
    const b = await signedUpBrowser(app.baseUrl, 'granter');
    const empty = await b.get('/settings/applications');
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('You have not granted any application access to your account.');

    const em = app.orm.em.fork();
    const granter = (await findUserByUsername(em, 'granter'))!;
    const bystander = (await findUserByUsername(em, 'owner'))!;
    const { client } = await createClient(em, app.clock, { ownerId: null, name: 'Podcatcher <b>', callbackUrls: ['gpodder://flattr-token/'] });
    const { client: unused } = await createClient(em, app.clock, { ownerId: null, name: 'Never used', callbackUrls: ['https://n.example/cb'] });
    const first = await issueAccessToken(em, app.clock, { userId: granter.id, clientId: client.id, scopes: ['flattr', 'email'] });
    app.clock.advance(86_400);
    const second = await issueAccessToken(em, app.clock, { userId: granter.id, clientId: client.id, scopes: ['thing'] });
    const bystanderToken = await issueAccessToken(em, app.clock, { userId: bystander.id, clientId: client.id, scopes: ['flattr'] });
    expect(unused.id).toBeGreaterThan(0);

    const page = await b.get('/settings/applications');
    expect(page.text).toContain('<h2>Podcatcher &lt;b&gt;</h2>');
    expect(page.text).not.toContain('Never used');
    expect(page.text).toContain('<code>flattr</code>, <code>thing</code>, <code>email</code>');
    const revokeAction = `/settings/applications/${client.clientId}/revoke`;
    expect(findForm(page.text, revokeAction)).toBeTruthy();

    const call = (token: string) => request(app.baseUrl, '/rest/v2/users/granter', { headers: { Authorization: `Bearer ${token}` } });
    expect((await call(first)).status).toBe(200);
    expect((await call(second)).status).toBe(200);

    expect((await b.post(revokeAction, { csrf_token: null })).status).toBe(403);
    expect((await b.post(revokeAction, { csrf_token: 'forged' })).status).toBe(403);
    expect((await call(first)).status).toBe(200);
    // Another user's revoke only touches that user's own grants (here: none), never this user's.
    await other.get('/settings/applications');
    expect((await other.post(revokeAction)).status).toBe(303);
    expect((await call(first)).status).toBe(200);

    const res = await b.post(revokeAction);
    expect(res.status).toBe(303);
    expect(res.location).toBe('/settings/applications');
    const after = await b.get('/settings/applications');
    expect(after.text).not.toContain('Podcatcher');
    expect(after.text).toContain('You have not granted any application access to your account.');

    for (const token of [first, second]) {
      const rest = await call(token);
      expect(rest.status).toBe(401);
      expect(rest.headers['www-authenticate']).toContain('error="invalid_token"');
      // Spec §14.9 / §3: body error `unauthorized`, challenge `invalid_token`.
      expect(rest.json().error).toBe('unauthorized');
      const graphql = await request(app.baseUrl, '/graphql', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(graphql.status).toBe(401);
    }
    // Only this user's grants were revoked.
    expect((await call(bystanderToken)).status).toBe(200);
    const rows = await app.orm.em.fork().find(AccessToken, { client: client.id, user: granter.id });
    expect(rows.every((r) => r.revokedAt?.getTime() === app.clock.now().getTime())).toBe(true);
  });

  it('answers 404 for an unknown application', async () => {
    await owner.get('/settings/applications');
    expect((await owner.post('/settings/applications/nope/revoke')).status).toBe(404);
  });
});
