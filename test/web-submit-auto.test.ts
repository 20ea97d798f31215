import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { BrowserSession, signedUpBrowser, findForm } from './support/browser-session.js';
import { User } from '../src/entities/index.js';

let app: TestApp;
let fx: Fixtures;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  await fx.user({ username: 'creator' });
});
afterAll(() => app?.close());

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: app.databaseUrl });
  await client.connect();
  try {
    return Number((await client.query(sql, params)).rows[0].n);
  } finally {
    await client.end();
  }
}

async function fund(username: string) {
  await app.orm.em.fork().nativeUpdate(User, { username }, { balanceCents: 500 });
}

const query = 'user_id=creator&url=' + encodeURIComponent('https://creator.example/song') + '&title=A+%3Cb%3Esong%3C%2Fb%3E&tags=music,live&category=audio';

describe('GET /submit/auto (the button flow)', () => {
  it('previews a thing that does not exist yet and asks anonymous visitors to log in', async () => {
    const visitor = new BrowserSession(app.baseUrl);
    const res = await visitor.get(`/submit/auto?${query}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Its first flattr creates it for <strong>creator</strong>');
    expect(res.text).toContain('<dd>A song</dd>');
    expect(res.text).toContain('<dd>music, live</dd>');
    expect(res.text).toContain(`<a href="/login?next=${encodeURIComponent(`/submit/auto?${query}`)}">Log in</a>`);
    expect(findForm(res.text, '/submit/auto')).toBeUndefined();
  });

  it('lets a logged-in user flattr it: the thing is created and flattred once, CSRF-protected', async () => {
    const fan = await signedUpBrowser(app.baseUrl, 'fan');
    await fund('fan');
    const shown = await fan.get(`/submit/auto?${query}`);
    const form = findForm(shown.text, '/submit/auto')!;
    expect(form).toBeDefined();

    const forged = await fan.post('/submit/auto', { url: `${app.config.siteUrl}/submit/auto?${query}`, csrf_token: 'forged' });
    expect(forged.status).toBe(403);
    expect(await count('select count(*) as n from things where url = $1', ['https://creator.example/song'])).toBe(0);

    const done = await fan.post('/submit/auto', { url: `${app.config.siteUrl}/submit/auto?${query}` });
    expect(done.status).toBe(200);
    expect(done.text).toContain('You flattred <strong>A song</strong>. It now has 1 flattrs.');
    expect(await count('select count(*) as n from things where url = $1 and category_id = $2', ['https://creator.example/song', 'audio'])).toBe(1);

    const again = await fan.post('/submit/auto', { url: `${app.config.siteUrl}/submit/auto?${query}` });
    expect(again.status).toBe(403);
    expect(again.text).toContain('You are not allowed to flattr this thing more than once this period');

    const existing = await fan.get(`/submit/auto?url=${encodeURIComponent('https://creator.example/song')}`);
    expect(existing.text).toContain('<dt>Flattrs</dt><dd>1</dd>');
  });

  it('explains what is wrong instead of flattring: owner mismatch, unknown owner, no thing, no means, bad url', async () => {
    const visitor = new BrowserSession(app.baseUrl);
    const mismatch = await visitor.get(`/submit/auto?user_id=someoneelse&url=${encodeURIComponent('https://creator.example/song')}`);
    expect([mismatch.status, mismatch.text.includes('Owner mismatch. Current thing owned by other account.')]).toEqual([400, true]);
    const unknownOwner = await visitor.get(`/submit/auto?user_id=ghost&url=${encodeURIComponent('https://ghost.example/')}`);
    expect([unknownOwner.status, unknownOwner.text.includes('The requested user could not be found')]).toEqual([404, true]);
    const noThing = await visitor.get(`/submit/auto?url=${encodeURIComponent('https://nobody.example/')}`);
    expect([noThing.status, noThing.text.includes('No thing was found')]).toEqual([404, true]);
    const badUrl = await visitor.get('/submit/auto?user_id=creator&url=javascript:alert(1)');
    expect([badUrl.status, badUrl.text.includes('Invalid url')]).toEqual([400, true]);

    const broke = await signedUpBrowser(app.baseUrl, 'broke');
    await broke.get(`/submit/auto?user_id=creator&url=${encodeURIComponent('https://creator.example/other')}`);
    const refused = await broke.post('/submit/auto', { url: `${app.config.siteUrl}/submit/auto?user_id=creator&url=${encodeURIComponent('https://creator.example/other')}` });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('You don&#39;t have any money to flattr with');
    expect(await count('select count(*) as n from things where url = $1', ['https://creator.example/other'])).toBe(0);

    const elsewhere = await broke.post('/submit/auto', { url: 'https://flattr.com/submit/auto?url=https%3A%2F%2Fcreator.example%2Fsong' });
    expect(elsewhere.status).toBe(400);
  });
});
