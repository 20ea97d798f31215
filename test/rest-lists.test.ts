import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml2js } from 'xml-js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let bob: UserEntity;
let shy: UserEntity;
let things: ThingEntity[];
let hidden: ThingEntity;
let api: string;
let site: string;

const unix = (iso: string) => Date.parse(iso) / 1000;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  site = app.config.siteUrl;
  alice = await fx.user({ username: 'Alice' });
  bob = await fx.user({ username: 'bob' });
  shy = await fx.user({ username: 'shy', hideFlattrs: true } as Partial<UserEntity>);
  things = [];
  for (let i = 0; i < 5; i++) {
    app.clock.set(`2026-02-0${i + 1}T10:00:00Z`);
    things.push(await fx.thing(alice, { title: `Post ${i}`, url: `https://alice.example/${i}` }));
  }
  app.clock.set('2026-02-06T10:00:00Z');
  hidden = await fx.thing(alice, { title: 'Secret', url: 'https://alice.example/secret', hidden: true });
  await fx.flattr(bob, things[0]!, new Date('2026-02-10T08:00:00Z'));
  await fx.flattr(bob, hidden, new Date('2026-02-11T08:00:00Z'));
  await fx.flattr(shy, things[0]!, new Date('2026-02-12T08:00:00Z'));
  app.clock.set('2026-02-20T12:00:00Z');
});
afterAll(() => app?.close());

const ids = (res: { json: () => any }) => res.json().map((t: { id: number }) => t.id);
const miniUser = (name: string) => ({ type: 'user', resource: `${api}/users/${name.toLowerCase()}`, link: `${site}/profile/${name.toLowerCase()}`, username: name });

describe('thing lists (E3, E4)', () => {
  it('list a user’s things newest first, without hidden ones for others', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/alice/things');
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([things[4]!.id, things[3]!.id, things[2]!.id, things[1]!.id, things[0]!.id]);
    const bobToken = await fx.token(bob);
    const asBob = await request(app.baseUrl, '/rest/v2/users/alice/things', { headers: { Authorization: `Bearer ${bobToken}` } });
    expect(ids(asBob)).not.toContain(hidden.id);
  });

  it('include hidden things for the owner, on both paths', async () => {
    const token = await fx.token(alice);
    const named = await request(app.baseUrl, '/rest/v2/users/ALICE/things', { headers: { Authorization: `Bearer ${token}` } });
    expect(ids(named)[0]).toBe(hidden.id);
    const mine = await request(app.baseUrl, '/rest/v2/user/things', { headers: { Authorization: `Bearer ${token}` } });
    expect(ids(mine)).toEqual(ids(named));
    expect(mine.json()[0]).toMatchObject({ hidden: true, last_flattr_at: unix('2026-02-11T08:00:00Z'), updated_at: 0 });
  });

  it('paginate with count and page, lowering count to the maximum and rejecting invalid values', async () => {
    const page2 = await request(app.baseUrl, '/rest/v2/users/alice/things?count=2&page=2');
    expect(ids(page2)).toEqual([things[2]!.id, things[1]!.id]);
    const past = await request(app.baseUrl, '/rest/v2/users/alice/things?count=2&page=99');
    expect(past.json()).toEqual([]);
    const huge = await request(app.baseUrl, '/rest/v2/users/alice/things?page=99999999999999999999');
    expect(huge.json()).toEqual([]);
    const lowered = await request(app.baseUrl, '/rest/v2/users/alice/things?count=100000');
    expect(lowered.status).toBe(200);
    const empty = await request(app.baseUrl, '/rest/v2/users/alice/things?count=&page=');
    expect(ids(empty)).toHaveLength(5);
    for (const bad of ['count=0', 'count=-1', 'count=abc', 'page=0', 'page=1.5']) {
      const res = await request(app.baseUrl, `/rest/v2/users/alice/things?${bad}`);
      expect([bad, res.status, res.json()]).toEqual([
        bad,
        400,
        { error: 'invalid_parameters', error_description: 'One or many parameters are missing or invalid', error_uri: 'http://developers.flattr.net/api/resources/things/' },
      ]);
    }
  });

  it('answer 404 for an unknown user and 401 without a token on /user/things', async () => {
    expect((await request(app.baseUrl, '/rest/v2/users/nobody/things')).status).toBe(404);
    const res = await request(app.baseUrl, '/rest/v2/user/things');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="flattr"');
  });

  it('render as XML and YAML by Accept, and as Atom / Activity Streams only by suffix (D24)', async () => {
    const xml = await request(app.baseUrl, '/rest/v2/users/alice/things?count=1', { headers: { Accept: 'text/xml' } });
    expect(xml.text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<things type="array">\n  <thing>\n    <type>thing<\/type>/);
    const streamAccept = await request(app.baseUrl, '/rest/v2/users/alice/things?count=1', { headers: { Accept: 'application/stream+json' } });
    expect(streamAccept.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Array.isArray(streamAccept.json())).toBe(true);
    const as = await request(app.baseUrl, '/rest/v2/users/alice/things.as?count=1');
    expect(as.headers['content-type']).toBe('application/stream+json; charset=utf-8');
    expect(as.json()).toEqual({
      items: [
        {
          published: '2026-02-05T10:00:00+00:00',
          title: 'Alice submitted "Post 4"',
          actor: { displayName: 'Alice', url: `${site}/profile/alice`, objectType: 'person' },
          verb: 'post',
          object: { displayName: 'Post 4', url: `${site}/thing/${things[4]!.id}/Post-4`, objectType: 'bookmark' },
          id: `tag:flattr.com,2026-02-05:Alice/thing/${things[4]!.id}`,
        },
      ],
    });
    const atom = await request(app.baseUrl, '/rest/v2/users/alice/things.atom?count=2');
    expect(atom.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    const feed = (xml2js(atom.text, { compact: true }) as any).feed;
    expect(feed._attributes).toEqual({ xmlns: 'http://www.w3.org/2005/Atom', 'xmlns:activity': 'http://activitystrea.ms/spec/1.0/' });
    expect(feed.id._text).toBe(`${api}/users/alice/things`);
    expect(feed.title._text).toBe('Things by Alice');
    expect(feed.updated._text).toBe('2026-02-05T10:00:00+00:00');
    expect(feed.entry).toHaveLength(2);
  });
});

describe('flattr lists (E12, E13, E14)', () => {
  it('list flattrs made by a user with mini things that carry their owner', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/bob/flattrs');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([
      {
        type: 'flattr',
        thing: { type: 'thing', resource: `${api}/things/${hidden.id}`, link: `${site}/thing/${hidden.id}`, id: hidden.id, url: 'https://alice.example/secret', title: 'Secret', image: '', flattrs: 1, owner: miniUser('Alice') },
        owner: miniUser('bob'),
        created_at: unix('2026-02-11T08:00:00Z'),
      },
      {
        type: 'flattr',
        thing: { type: 'thing', resource: `${api}/things/${things[0]!.id}`, link: `${site}/thing/${things[0]!.id}`, id: things[0]!.id, url: 'https://alice.example/0', title: 'Post 0', image: '', flattrs: 2, owner: miniUser('Alice') },
        owner: miniUser('bob'),
        created_at: unix('2026-02-10T08:00:00Z'),
      },
    ]);
  });

  it('nest full things and users with full', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/bob/flattrs?full=1&count=1');
    const [item] = res.json();
    expect(Object.keys(item.thing)).toEqual(['type', 'resource', 'link', 'id', 'url', 'flattrs', 'flattrs_user_count', 'title', 'description', 'tags', 'language', 'category', 'created_at', 'owner', 'hidden', 'image']);
    expect(Object.keys(item.owner)).toEqual(['type', 'resource', 'link', 'username', 'firstname', 'lastname', 'avatar', 'about', 'city', 'country', 'url']);
    expect(Object.keys(item.thing.owner)).toContain('firstname');
  });

  it('hide the flattrs of users who hide them, except from themselves (§12.5)', async () => {
    expect((await request(app.baseUrl, '/rest/v2/users/shy/flattrs')).json()).toEqual([]);
    const token = await fx.token(shy);
    expect((await request(app.baseUrl, '/rest/v2/user/flattrs', { headers: { Authorization: `Bearer ${token}` } })).json()).toHaveLength(1);
    const onThing = await request(app.baseUrl, `/rest/v2/things/${things[0]!.id}/flattrs`);
    expect(onThing.json().map((f: any) => f.owner.username)).toEqual(['bob']);
    const onThingAsShy = await request(app.baseUrl, `/rest/v2/things/${things[0]!.id}/flattrs`, { headers: { Authorization: `Bearer ${token}` } });
    expect(onThingAsShy.json().map((f: any) => f.owner.username)).toEqual(['shy', 'bob']);
  });

  it('answer 404 for an unknown thing and render a thing feed', async () => {
    const missing = await request(app.baseUrl, '/rest/v2/things/999999/flattrs');
    expect(missing.status).toBe(404);
    expect(missing.json().error_uri).toBe('http://developers.flattr.net/api/resources/flattrs/');
    const atom = await request(app.baseUrl, `/rest/v2/things/${things[0]!.id}/flattrs.atom`);
    const feed = (xml2js(atom.text, { compact: true }) as any).feed;
    expect(feed.title._text).toBe('Flattrs on "Post 0"');
    expect(feed.author.name._text).toBe('Alice');
  });

  it('load a page of 30 flattrs with full=1 in a constant number of queries', async () => {
    const many: UserEntity[] = [];
    for (let i = 0; i < 30; i++) many.push(await fx.user());
    for (const [i, u] of many.entries()) await fx.flattr(u, things[1 + (i % 3)]!, new Date(`2026-02-15T0${i % 10}:00:00Z`));
    const count = async (path: string) => {
      await request(app.baseUrl, path);
      const before = app.queries.length;
      const res = await request(app.baseUrl, path);
      expect(res.status).toBe(200);
      return { queries: app.queries.length - before, items: res.json().length };
    };
    const few = await count(`/rest/v2/things/${things[1]!.id}/flattrs?full=1&count=3`);
    const page = await count(`/rest/v2/things/${things[1]!.id}/flattrs?full=1&count=30`);
    const all = await count('/rest/v2/users/alice/things?full=1&count=30');
    expect(few.items).toBe(3);
    expect(page.queries).toBe(few.queries);
    expect(page.queries).toBeLessThanOrEqual(5);
    expect(all.queries).toBeLessThanOrEqual(5);
  });
});

describe('activities (E21, E22)', () => {
  it('serve outgoing activities as Activity Streams JSON by default', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/bob/activities');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/stream+json; charset=utf-8');
    expect(res.json().items.map((i: any) => i.id)).toEqual([
      `tag:flattr.com,2026-02-11:bob/flattr/${hidden.id}`,
      `tag:flattr.com,2026-02-10:bob/flattr/${things[0]!.id}`,
    ]);
    const json = await request(app.baseUrl, '/rest/v2/users/bob/activities.json');
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.json()).toEqual(res.json());
  });

  it('list incoming likes on the user’s things without hidden flattrs, and posts only when visible', async () => {
    const incoming = await request(app.baseUrl, '/rest/v2/users/alice/activities?type=incoming&count=100');
    const actors = incoming.json().items.map((i: any) => i.actor.displayName);
    expect(actors).not.toContain('shy');
    expect(incoming.json().items.slice(-2).map((i: any) => i.title)).toEqual(['bob flattred "Secret"', 'bob flattred "Post 0"']);
    const asShy = await request(app.baseUrl, '/rest/v2/users/alice/activities?type=incoming&count=100', { headers: { Authorization: `Bearer ${await fx.token(shy)}` } });
    expect(asShy.json().items.map((i: any) => i.actor.displayName)).toContain('shy');

    const outgoing = await request(app.baseUrl, '/rest/v2/users/alice/activities');
    expect(outgoing.json().items.map((i: any) => i.object.displayName)).toEqual(['Post 4', 'Post 3', 'Post 2', 'Post 1', 'Post 0']);
    const token = await fx.token(alice);
    const mine = await request(app.baseUrl, '/rest/v2/user/activities?count=1', { headers: { Authorization: `Bearer ${token}` } });
    expect(mine.json().items.map((i: any) => i.object.displayName)).toEqual(['Secret']);
    const page2 = await request(app.baseUrl, '/rest/v2/user/activities?count=2&page=2', { headers: { Authorization: `Bearer ${token}` } });
    expect(page2.json().items.map((i: any) => i.object.displayName)).toEqual(['Post 3', 'Post 2']);
  });

  it('render Atom with the incoming feed id and refuse XML and YAML with 406', async () => {
    const atom = await request(app.baseUrl, '/rest/v2/users/alice/activities.atom?type=incoming');
    expect(atom.status).toBe(200);
    const feed = (xml2js(atom.text, { compact: true }) as any).feed;
    expect(feed.id._text).toBe(`${api}/users/alice/activities?type=incoming`);
    expect(feed.title._text).toBe('Activities on things by Alice');
    expect(feed.link._attributes.href).toBe(`${api}/users/alice/activities.atom?type=incoming`);
    for (const path of ['/rest/v2/users/alice/activities.xml', '/rest/v2/users/alice/activities.yaml']) {
      const res = await request(app.baseUrl, path);
      expect([path, res.status, res.json().error]).toEqual([path, 406, 'not_acceptable']);
    }
    const bad = await request(app.baseUrl, '/rest/v2/users/alice/activities?type=sideways');
    expect(bad.status).toBe(400);
    expect(bad.json().error).toBe('invalid_parameters');
  });
});

describe('JSONP, ETag and HEAD on every endpoint', () => {
  it('wraps JSON in the validated callback as JavaScript', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/alice?jsonp=cb.done');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text.startsWith('/**/cb.done({"type":"user"')).toBe(true);
    expect(res.text.endsWith('});')).toBe(true);

    const error = await request(app.baseUrl, '/rest/v2/users/nobody?jsonp=cb');
    expect(error.status).toBe(404);
    expect(error.text).toBe('/**/cb({"error":"not_found","error_description":"The requested user could not be found","error_uri":"http://developers.flattr.net/api/resources/users/"});');

    const activities = await request(app.baseUrl, '/rest/v2/users/bob/activities?jsonp=f');
    expect(activities.text.startsWith('/**/f({"items":[')).toBe(true);
  });

  it('refuses an invalid callback without reflecting it', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/alice?jsonp=alert(1)//');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ error: 'invalid_parameters', error_description: 'Invalid jsonp callback', error_uri: 'http://developers.flattr.net/api/' });
    expect(res.text).not.toContain('alert');
  });

  it('sends a strong ETag and answers a matching If-None-Match with 304', async () => {
    for (const path of ['/rest/v2/categories', '/rest/v2/users/alice/things.xml', '/rest/v2/users/bob/activities.atom', `/rest/v2/things/${things[0]!.id}`]) {
      const first = await request(app.baseUrl, path);
      expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
      const again = await request(app.baseUrl, path, { headers: { 'If-None-Match': first.headers.etag! } });
      expect([path, again.status, again.text]).toEqual([path, 304, '']);
      expect(again.headers.etag).toBe(first.headers.etag);
      expect(again.headers['access-control-allow-origin']).toBe('*');
      const weak = await request(app.baseUrl, path, { headers: { 'If-None-Match': `W/${first.headers.etag}` } });
      expect(weak.status).toBe(304);
    }
    const plain = await request(app.baseUrl, '/rest/v2/categories');
    const asXml = await request(app.baseUrl, '/rest/v2/categories.xml');
    expect(asXml.headers.etag).not.toBe(plain.headers.etag);
    const stale = await request(app.baseUrl, '/rest/v2/categories', { headers: { 'If-None-Match': '"nope"' } });
    expect(stale.status).toBe(200);
  });

  it('answers HEAD like GET without a body', async () => {
    for (const path of ['/rest/v2/users/alice/things', '/rest/v2/users/bob/activities.atom', '/rest/v2/users/nobody']) {
      const get = await request(app.baseUrl, path);
      const head = await request(app.baseUrl, path, { method: 'HEAD' });
      expect([path, head.status, head.headers['content-type'], head.headers.etag, head.text]).toEqual([path, get.status, get.headers['content-type'], get.headers.etag, '']);
    }
  });
});

describe('every GET endpoint, anonymous and with a token, in JSON and another format', () => {
  it('answers with the right status, type, CORS and Vary headers', async () => {
    const token = await fx.token(alice, ['extendedread']);
    const paths = [
      ['/rest/v2/users/alice', 'xml'],
      ['/rest/v2/users/alice/things', 'yaml'],
      [`/rest/v2/things/${things[0]!.id}`, 'xml'],
      [`/rest/v2/things/${things[0]!.id},${things[1]!.id}`, 'yaml'],
      ['/rest/v2/users/bob/flattrs', 'xml'],
      [`/rest/v2/things/${things[0]!.id}/flattrs`, 'yaml'],
      ['/rest/v2/users/bob/activities', 'atom'],
      ['/rest/v2/categories', 'txt'],
      ['/rest/v2/languages', 'xml'],
    ] as const;
    const own = [['/rest/v2/user', 'yaml'], ['/rest/v2/user/things', 'xml'], ['/rest/v2/user/flattrs', 'yaml'], ['/rest/v2/user/activities', 'atom']] as const;
    const types = { xml: 'text/xml', yaml: 'application/yaml', atom: 'application/atom+xml', txt: 'text/plain' };
    for (const [path, other] of [...paths, ...own]) {
      for (const auth of [false, true]) {
        if (!auth && own.some(([p]) => p === path)) {
          expect((await request(app.baseUrl, path)).status).toBe(401);
          continue;
        }
        const headers: Record<string, string> = auth ? { Authorization: `Bearer ${token}` } : {};
        const json = await request(app.baseUrl, `${path}.json`, { headers });
        const alt = await request(app.baseUrl, `${path}.${other}`, { headers });
        expect([path, auth, json.status, json.headers['content-type']]).toEqual([path, auth, 200, 'application/json; charset=utf-8']);
        expect([path, auth, alt.status, alt.headers['content-type']]).toEqual([path, auth, 200, `${types[other]}; charset=utf-8`]);
        expect(alt.headers['access-control-allow-origin']).toBe('*');
        expect(alt.headers.vary).toBe('Accept');
      }
    }
  });
});
