import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { BrowserSession, signedUpBrowser, findForm } from './support/browser-session.js';
import { User, type ThingEntity } from '../src/entities/index.js';

let app: TestApp;
let fx: Fixtures;
let thing: ThingEntity;
let hidden: ThingEntity;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  const owner = await fx.user({ username: 'Maker', firstname: 'Ma', about: 'I <3 making' });
  thing = await fx.thing(owner, { title: 'Tool <b>one</b>', url: 'https://maker.example/tool', tags: 'diy,tools' });
  hidden = await fx.thing(owner, { title: 'Secret tool', url: 'https://maker.example/secret', hidden: true });
});
afterAll(() => app?.close());

describe('the pages behind the API link fields', () => {
  it('serve the profile at /profile/{lc(username)}, escaped, without hidden things for others', async () => {
    const visitor = new BrowserSession(app.baseUrl);
    const res = await visitor.get('/profile/maker');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<title>Maker · Flattr</title>');
    expect(res.text).toContain('<p>I &lt;3 making</p>');
    expect(res.text).toContain(`<a href="/thing/${thing.id}">Tool one</a> (0 flattrs)`);
    expect(res.text).not.toContain('Secret tool');
    expect((await visitor.get('/profile/nobody')).status).toBe(404);
  });

  it('serve the thing at /thing/{id} and with the activity slug, with a CSRF-protected Flattr button', async () => {
    const visitor = new BrowserSession(app.baseUrl);
    const page = await visitor.get(`/thing/${thing.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<dt>Tags</dt><dd>diy, tools</dd>');
    expect(page.text).toContain(`<a href="/login?next=${encodeURIComponent(`/thing/${thing.id}`)}">Log in</a> to flattr this.`);
    expect((await visitor.get(`/thing/${thing.id}/Tool-one`)).status).toBe(200);
    expect((await visitor.get(`/thing/${hidden.id}`)).status).toBe(200);
    expect((await visitor.get('/thing/99999')).status).toBe(404);
    expect((await visitor.get('/thing/abc')).status).toBe(404);

    const fan = await signedUpBrowser(app.baseUrl, 'fan');
    await app.orm.em.fork().nativeUpdate(User, { username: 'fan' }, { balanceCents: 100 });
    const shown = await fan.get(`/thing/${thing.id}`);
    expect(findForm(shown.text, `/thing/${thing.id}/flattr`)).toBeDefined();
    expect((await fan.post(`/thing/${thing.id}/flattr`, { csrf_token: 'nope' })).status).toBe(403);
    const done = await fan.post(`/thing/${thing.id}/flattr`);
    expect(done.status).toBe(200);
    expect(done.text).toContain('It now has 1 flattrs.');
    const again = await fan.post(`/thing/${thing.id}/flattr`);
    expect(again.status).toBe(403);
    expect(again.text).toContain('more than once this period');
  });
});

describe('the profile page', () => {
  it('lists "Recently flattred" newest flattr first, each thing once', async () => {
    const maker = await fx.user({ username: 'Orderly' });
    // Created in this order (ascending ids), flattred in another: the page must follow the flattr times.
    const [first, second, third, fourth] = [
      await fx.thing(maker, { title: 'First made', url: 'https://orderly.example/1' }),
      await fx.thing(maker, { title: 'Second made', url: 'https://orderly.example/2' }),
      await fx.thing(maker, { title: 'Third made', url: 'https://orderly.example/3' }),
      await fx.thing(maker, { title: 'Fourth made', url: 'https://orderly.example/4' }),
    ];
    const flattrer = await fx.user({ username: 'Chronos' });
    await fx.flattr(flattrer, third, new Date('2020-01-10T12:00:00Z'));
    await fx.flattr(flattrer, first, new Date('2020-02-10T12:00:00Z'));
    await fx.flattr(flattrer, second, new Date('2020-03-10T12:00:00Z'));
    await fx.flattr(flattrer, fourth, new Date('2020-04-10T12:00:00Z'));
    await fx.flattr(flattrer, third, new Date('2020-05-10T12:00:00Z'));

    const res = await new BrowserSession(app.baseUrl).get('/profile/chronos');
    expect(res.status).toBe(200);
    const recent = res.text.slice(res.text.indexOf('<h2>Recently flattred</h2>'));
    const listed = [...recent.matchAll(/<li><a href="\/thing\/(\d+)">([^<]*)<\/a><\/li>/g)].map((m) => [Number(m[1]), m[2]]);
    expect(listed).toEqual([
      [third.id, 'Third made'],
      [fourth.id, 'Fourth made'],
      [second.id, 'Second made'],
      [first.id, 'First made'],
    ]);
  });
});
