import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { xml2js, type Element } from 'xml-js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * GET /rest/v2/things/search (E11, spec §10) and GraphQL `searchThings`, on a small fixture whose expected
 * orders are computed by hand below.
 */

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let bob: UserEntity;
let carol: UserEntity;
const t: Record<string, ThingEntity> = {};
let api: string;

/** Now: every window is measured from here (spec §10.4). */
const NOW = '2026-03-10T12:00:00Z';
const ago = (seconds: number) => new Date(Date.parse(NOW) - seconds * 1000);
const HOUR = 3600;
const DAY = 86_400;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  api = app.config.apiUrl;
  alice = await fx.user({ username: 'alice' });
  bob = await fx.user({ username: 'Bob' });
  carol = await fx.user({ username: 'carol' });
  const flattrers: UserEntity[] = [];
  for (let i = 0; i < 6; i++) flattrers.push(await fx.user({ username: `f${i + 1}` }));
  const [f1, f2, f3, f4, f5] = flattrers as [UserEntity, UserEntity, UserEntity, UserEntity, UserEntity];

  app.clock.set('2026-01-01T00:00:00Z');
  const make = async (key: string, owner: UserEntity, input: Parameters<Fixtures['thing']>[1]) => {
    t[key] = await fx.thing(owner, input);
    app.clock.advance(60);
  };
  // Ids ascend from A to K.
  await make('A', alice, { title: 'Ruby gems guide', description: 'How to publish a gem', url: 'https://alice.example/ruby-gems', tags: ['Ruby', 'gem'], language: 'en_GB', category: 'text' });
  await make('B', alice, { title: 'Python packaging', description: 'Wheels, eggs and a ruby comparison', url: 'https://alice.example/python', tags: ['python', 'packaging'], language: 'en_GB', category: 'software' });
  await make('C', bob, { title: 'Flickr meetup photo', url: 'https://bob.example/photos/1', tags: ['photo', 'flickr'], language: 'sv_SE', category: 'images' });
  await make('D', bob, { title: 'Travel photos', description: 'iPhone pictures of a ruby sunset', url: 'https://bob.example/photos/2', tags: ['photos', 'travel', 'iphone'], language: 'en_GB', category: 'images' });
  await make('E', carol, { title: 'Deprecated gem', description: 'Old stuff', url: 'https://carol.example/old-ruby', tags: ['ruby', 'gem', 'deprecated'], language: 'en_GB', category: 'software' });
  await make('F', carol, { title: 'Games weekly', description: 'game news', url: 'https://carol.example/games', tags: ['game', 'games'], language: 'de_DE', category: 'text' });
  await make('G', alice, { title: 'Secret ruby notes', url: 'https://alice.example/secret', tags: ['ruby'], language: 'en_GB', category: 'text', hidden: true });
  await make('H', bob, { title: 'Illustrated photo & flickr', description: '100% real_photos', url: 'https://bob.example/photos/3?x=1', tags: ['photo', 'flickr', 'illustrations'], language: 'en_GB', category: 'images' });
  await make('I', carol, { title: 'Software games', url: 'https://carol.example/software-games', tags: ['games', 'software'], language: 'en_GB', category: 'software' });
  await make('J', bob, { title: 'Jazz evening', url: 'https://bob.example/jazz', tags: ['music'], language: 'en_GB', category: 'audio' });
  await make('K', carol, { title: 'Kites', url: 'https://carol.example/kites', tags: ['kites'], language: 'en_GB', category: 'people' });

  // Flattrs (age = NOW − created_at):            all  30d  7d  24h  trend
  await fx.flattr(f1, t.A!, ago(31 * DAY)); //     A:  3    2    1   1    604800−10800 = 594000
  await fx.flattr(f2, t.A!, ago(20 * DAY));
  await fx.flattr(f3, t.A!, ago(3 * HOUR));
  await fx.flattr(f1, t.B!, ago(DAY)); //           B:  2    2    2   0    518400 + 172800 = 691200 (age 86400 is outside 24h)
  await fx.flattr(f2, t.B!, ago(5 * DAY));
  await fx.flattr(f1, t.C!, ago(DAY - 1)); //       C:  1    1    1   1    518401
  await fx.flattr(f1, t.E!, ago(10 * DAY)); //      E:  2    1    0   0    0
  await fx.flattr(f2, t.E!, ago(40 * DAY));
  await fx.flattr(f1, t.F!, ago(0)); //             F:  2    1    1   1    604800 (age 0 counts; the future one does not)
  await fx.flattr(f2, t.F!, ago(-60));
  for (const f of [f1, f2, f3, f4, f5]) await fx.flattr(f, t.G!, ago(HOUR)); // G (hidden): 5 everywhere
  await fx.flattr(f1, t.H!, ago(2 * DAY)); //       H:  1    1    1   0    432000
  await fx.flattr(f1, t.J!, ago(DAY)); //           J:  1    1    1   0    518400 (one flattr in 7 days)
  await fx.flattr(f1, t.K!, ago(4 * DAY)); //       K:  2    2    2   0    2·259200 = 518400 (two flattrs in 7 days)
  await fx.flattr(f2, t.K!, ago(4 * DAY));
  //                                                D, I: no flattrs.
  app.clock.set(NOW);
});
afterAll(() => app?.close());

const letters = (...keys: string[]) => keys.map((k) => t[k]!.id);
const ids = (body: { things: { id: number }[] }) => body.things.map((x) => x.id);
const search = (query: string, headers: Record<string, string> = {}) => request(app.baseUrl, `/rest/v2/things/search${query}`, { headers });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function order(query: string, headers: Record<string, string> = {}): Promise<number[]> {
  const res = await search(query, headers);
  expect(res.status, `${query}: ${res.text}`).toBe(200);
  return ids(res.json());
}

const INVALID = { error: 'invalid_parameters', error_description: 'One or many parameters are missing or invalid', error_uri: 'http://developers.flattr.net/api/resources/things/' };
const INVALID_TAGS = { ...INVALID, error_description: 'Invalid tags expression' };

// All-time flattrs, the order of `flattrs` and of `relevance` without a query:
// A 3; K, F, E, B 2 (id desc); J, H, C 1; I, D 0.
const BY_FLATTRS = ['A', 'K', 'F', 'E', 'B', 'J', 'H', 'C', 'I', 'D'];

describe('envelope (§8.8)', () => {
  it('has total_items, items, page and full thing objects, keys in order', async () => {
    const res = await search('?count=2');
    expect(res.status).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['total_items', 'items', 'page', 'things']);
    expect(body).toMatchObject({ total_items: 10, items: 2, page: 1 });
    expect(body.things[0]).toEqual({
      type: 'thing',
      resource: `${api}/things/${t.A!.id}`,
      link: `${app.config.siteUrl}/thing/${t.A!.id}`,
      id: t.A!.id,
      url: 'https://alice.example/ruby-gems',
      flattrs: 3,
      flattrs_user_count: 3,
      title: 'Ruby gems guide',
      description: 'How to publish a gem',
      tags: ['Ruby', 'gem'],
      language: 'en_GB',
      category: 'text',
      created_at: t.A!.createdAt.getTime() / 1000,
      owner: { type: 'user', resource: `${api}/users/alice`, link: `${app.config.siteUrl}/profile/alice`, username: 'alice' },
      hidden: false,
      image: '',
    });
  });

  it('renders things for the caller, and full owners with full', async () => {
    const token = await fx.token(bob);
    const res = await search('?count=1&full=1', bearer(token));
    const [first] = res.json().things;
    expect(first).toMatchObject({ id: t.A!.id, flattred: false, subscribed: false });
    expect(first.owner).toEqual({
      type: 'user',
      resource: `${api}/users/alice`,
      link: `${app.config.siteUrl}/profile/alice`,
      username: 'alice',
      firstname: '',
      lastname: '',
      avatar: '',
      about: '',
      city: '',
      country: '',
      url: '',
    });
    // Bob's own thing carries the owner fields.
    // Bob's things by flattrs: J (1, highest id) first.
    const own = (await search(`?user=bob&sort=flattrs&count=1`, bearer(token))).json().things[0];
    expect(own).toMatchObject({ id: t.J!.id, flattred: false, subscribed: false, last_flattr_at: ago(DAY).getTime() / 1000, updated_at: 0 });
  });

  it('paginates with count and page, page past the end giving items 0 (§4.5)', async () => {
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push((await search(`?count=3&page=${page}`)).json());
    expect(pages.map((p) => [p.total_items, p.items, p.page])).toEqual([
      [10, 3, 1],
      [10, 3, 2],
      [10, 3, 3],
      [10, 1, 4],
    ]);
    expect(pages.flatMap(ids)).toEqual(letters(...BY_FLATTRS));
    expect((await search('?count=3&page=5')).json()).toEqual({ total_items: 10, items: 0, page: 5, things: [] });
    expect((await search('?page=99999999999999999999')).json()).toMatchObject({ total_items: 10, items: 0, things: [] });
  });

  it('lowers count to MAX_PAGE_SIZE and rejects invalid count/page', async () => {
    expect((await search('?count=100000')).json().items).toBe(10);
    for (const bad of ['count=0', 'count=-1', 'count=x', 'page=0', 'page=1.5']) {
      const res = await search(`?${bad}`);
      expect([bad, res.status, res.json()]).toEqual([bad, 400, INVALID]);
    }
  });

  it('renders as XML with root <search> (§5.7) and as YAML (§5.8)', async () => {
    const xml = await search('.xml?count=1&query=kites');
    expect(xml.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(xml.text).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<search>\n {2}<total_items type="integer">1<\/total_items>\n {2}<items type="integer">1<\/items>\n {2}<page type="integer">1<\/page>\n {2}<things type="array">\n {4}<thing>\n {6}<type>thing<\/type>/,
    );
    const parsed = readXml(xml.text);
    expect(parsed.root).toBe('search');
    const json = (await search('?count=1&query=kites')).json();
    expect(parsed.value).toEqual(json);

    const yaml = await search('?count=1&query=kites', { Accept: 'application/yaml' });
    expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(yaml.text.startsWith('---\ntotal_items: 1\nitems: 1\npage: 1\nthings:\n  - type: "thing"\n')).toBe(true);
    expect(parseYaml(yaml.text)).toEqual(json);

    const empty = await search('.xml?user=nobody');
    expect(readXml(empty.text)).toEqual({ root: 'search', value: { total_items: 0, items: 0, page: 1, things: [] } });
    expect((await search('.yaml?user=nobody')).text).toBe('---\ntotal_items: 0\nitems: 0\npage: 1\nthings: []\n');
  });

  it('offers neither Activity Streams nor Atom (§5.2)', async () => {
    expect((await search('.as')).status).toBe(406);
    expect((await search('.atom')).status).toBe(406);
  });

  it('wins over /things/:id and keeps unknown segments a 404 (§9.0)', async () => {
    expect((await request(app.baseUrl, '/rest/v2/things/search/')).status).toBe(200);
    const other = await request(app.baseUrl, '/rest/v2/things/nothing_here');
    expect(other.json().error_description).toBe('The resource was not found');
  });
});

describe('filters (§10.2)', () => {
  it('query: every term, case-insensitive substring of title, description, url or a tag', async () => {
    expect(await order('?query=ruby')).toEqual(letters('A', 'E', 'B', 'D'));
    expect(await order('?query=RUBY+gem')).toEqual(letters('A', 'E'));
    // A term matching only inside a tag ("illustrations") counts as a match.
    expect(await order('?query=illustration')).toEqual(letters('H'));
    expect(await order('?query=%20%20kites%09')).toEqual(letters('K'));
    // Terms never span two fields ("guide" ends A's title, "How" starts its description).
    expect(await order('?query=guidehow')).toEqual([]);
    // A newline separates terms like any whitespace: "guide" and "how" both occur in A.
    expect(await order('?query=guide%0Ahow')).toEqual(letters('A'));
  });

  it('query: LIKE wildcards and quotes are plain characters', async () => {
    expect(await order('?query=100%25')).toEqual(letters('H'));
    expect(await order('?query=_')).toEqual(letters('H'));
    expect(await order('?query=%25')).toEqual(letters('H'));
    expect(await order('?query=%5C')).toEqual([]);
    expect(await order('?query=%22ruby%22')).toEqual([]);
    expect(await order("?query=O'Reilly")).toEqual([]);
    expect(await order('?query=real_photos')).toEqual(letters('H'));
  });

  it('query: whitespace only filters nothing', async () => {
    expect(await order('?query=+++')).toEqual(letters(...BY_FLATTRS));
  });

  it('url: a trimmed, exact, case-sensitive prefix (D62)', async () => {
    expect(await order('?url=https://bob.example/photos/&sort=flattrs')).toEqual(letters('H', 'C', 'D'));
    expect(await order(`?url=${encodeURIComponent('https://bob.example/photos/3?x=1')}`)).toEqual(letters('H'));
    expect(await order('?url=%20https://bob.example/photos/1%20')).toEqual(letters('C'));
    expect(await order('?url=HTTPS://bob.example')).toEqual([]);
    expect(await order('?url=https://bob.example/photos/_')).toEqual([]);
    expect(await order('?url=https://bob.example/photos/%25')).toEqual([]);
  });

  it('language and category: comma lists of exact ids', async () => {
    expect(await order('?language=sv_SE,de_DE')).toEqual(letters('F', 'C'));
    expect(await order('?language=%20sv_SE%20,,')).toEqual(letters('C'));
    expect(await order('?language=sv_se')).toEqual([]);
    expect(await order('?category=images')).toEqual(letters('H', 'C', 'D'));
    expect(await order('?category=software,text&language=en_GB')).toEqual(letters('A', 'E', 'B', 'I'));
  });

  it('user: the owner, case-insensitive', async () => {
    expect(await order('?user=ALICE')).toEqual(letters('A', 'B'));
    expect(await order('?user=bob&category=images')).toEqual(letters('H', 'C', 'D'));
  });

  it('an unknown user, language or category matches nothing; it is not an error (D55)', async () => {
    for (const q of ['?user=nobody', '?language=xx_XX', '?category=nope']) {
      const res = await search(q);
      expect([q, res.status, res.json()]).toEqual([q, 200, { total_items: 0, items: 0, page: 1, things: [] }]);
    }
  });

  it('treats empty values as absent (D14)', async () => {
    const all = await order('?query=&url=&tags=&language=&category=&user=&sort=&count=&page=');
    expect(all).toEqual(letters(...BY_FLATTRS));
  });

  it('tags: the worked expressions of §10.3, case-insensitive', async () => {
    expect(await order('?tags=RUBY')).toEqual(letters('A', 'E'));
    expect(await order('?tags=game+%7C+games+!+software')).toEqual(letters('F'));
    expect(await order('?tags=photo+%26+flickr+!illustrations')).toEqual(letters('C'));
    expect(await order('?tags=photos+%26+travel+%26+iphone+!flickr')).toEqual(letters('D'));
    expect(await order('?tags=gem+ruby+%7C+python')).toEqual(letters('A', 'E'));
    expect(await order('?tags=!(ruby+%7C+photo)+games')).toEqual(letters('F', 'I'));
    expect(await order('?tags=python,iphone')).toEqual(letters('B', 'D'));
    expect(await order('?tags=!!ruby')).toEqual(letters('A', 'E'));
    // NOT alone is tested against every candidate.
    expect(await order('?tags=!ruby')).toEqual(letters('K', 'F', 'B', 'J', 'H', 'C', 'I', 'D'));
    expect(await order('?tags=%20%20')).toEqual(letters(...BY_FLATTRS));
  });

  it('tags: a malformed expression is 400 "Invalid tags expression"', async () => {
    for (const bad of ['a+%7C', '%26+a', 'a+!', '()', '(a', 'a)', 'a+%7C+%7C+b', 'a+%26+%26+b', ',a', '!']) {
      const res = await search(`?tags=${bad}`);
      expect([bad, res.status, res.json()]).toEqual([bad, 400, INVALID_TAGS]);
    }
  });

  it('combines every filter with AND (the §16.5 example)', async () => {
    const res = await search('?query=gem&category=software,text&tags=ruby+%7C+gem+!deprecated&sort=flattrs_week&count=10');
    expect(res.json()).toMatchObject({ total_items: 1, items: 1, page: 1 });
    expect(ids(res.json())).toEqual(letters('A'));
  });
});

describe('sort orders (§10.4) at the injected clock', () => {
  it('relevance: the score, then flattrs, then id', async () => {
    // ruby: A 4+3+1 = 8, E 3+1 = 4, B 2 (flattrs 2), D 2 (flattrs 0).
    expect(await order('?query=ruby&sort=relevance')).toEqual(letters('A', 'E', 'B', 'D'));
    // photo: H 4+3+2+1 = 10, C 4+3+1 = 8, D 4+1 = 5 ("photos" is not the tag "photo").
    expect(await order('?query=photo')).toEqual(letters('H', 'C', 'D'));
    // photos: D 4+3+1 = 8, H 2+1 = 3, C 1.
    expect(await order('?query=photos')).toEqual(letters('D', 'H', 'C'));
    // Every url holds "example": all score 1, so flattrs then id decide.
    expect(await order('?query=example')).toEqual(letters(...BY_FLATTRS));
    // No query: every score is 0.
    expect(await order('')).toEqual(letters(...BY_FLATTRS));
  });

  it('flattrs: all-time flattrs, then id', async () => {
    expect(await order('?sort=flattrs')).toEqual(letters(...BY_FLATTRS));
  });

  it('flattrs_month: flattrs in the last 30 days, then flattrs, then id', async () => {
    // 2: A (3), K, B (2); 1: F, E (2), J, H, C (1); 0: I, D.
    expect(await order('?sort=flattrs_month')).toEqual(letters('A', 'K', 'B', 'F', 'E', 'J', 'H', 'C', 'I', 'D'));
  });

  it('flattrs_week: flattrs in the last 7 days, then flattrs, then id', async () => {
    // 2: K, B; 1: A (3), F (2), J, H, C (1); 0: E (2), I, D.
    expect(await order('?sort=flattrs_week')).toEqual(letters('K', 'B', 'A', 'F', 'J', 'H', 'C', 'E', 'I', 'D'));
  });

  it('flattrs_day: T − 86400 < created_at ≤ T exactly (age 86400 and future flattrs are out)', async () => {
    // 1: A (3), F (2), C (1, age 86399); 0: K, E, B (2), J, H (1), I, D.
    expect(await order('?sort=flattrs_day')).toEqual(letters('A', 'F', 'C', 'K', 'E', 'B', 'J', 'H', 'I', 'D'));
  });

  it('trend: recency-weighted 7-day flattrs, then 7-day flattrs, then flattrs, then id', async () => {
    // B 691200, F 604800, A 594000, C 518401, K 518400 (2 in 7 days), J 518400 (1), H 432000; then E (2), I, D.
    expect(await order('?sort=trend')).toEqual(letters('B', 'F', 'A', 'C', 'K', 'J', 'H', 'E', 'I', 'D'));
  });

  it('follows the clock: a day later the windows have moved', async () => {
    app.clock.set(new Date(Date.parse(NOW) + DAY));
    try {
      // Ages now: A 27h, B 2d/6d, C 2d−1s, F 1d (and the future one 1d−60s), H 3d, J 2d, K 5d.
      // 24h: F has the one made 60 s after the old now; nobody else.
      expect((await order('?sort=flattrs_day')).slice(0, 1)).toEqual(letters('F'));
    } finally {
      app.clock.set(NOW);
    }
  });

  it('pages across the things with and without flattrs in the window', async () => {
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push(ids((await search(`?sort=flattrs_week&count=3&page=${page}`)).json()));
    expect(pages).toEqual([letters('K', 'B', 'A'), letters('F', 'J', 'H'), letters('C', 'E', 'I'), letters('D')]);
    // trend: B F A C | K J H E | I D; seven things have flattrs in the window.
    expect(ids((await search('?sort=trend&count=4&page=2')).json())).toEqual(letters('K', 'J', 'H', 'E'));
    expect(ids((await search('?sort=trend&count=4&page=3')).json())).toEqual(letters('I', 'D'));
  });

  it('combines window sorts with filters', async () => {
    expect(await order('?sort=flattrs_week&user=bob')).toEqual(letters('J', 'H', 'C', 'D'));
    expect(await order('?sort=trend&tags=!ruby&category=images')).toEqual(letters('C', 'H', 'D'));
  });

  it('rejects an unknown sort (400), case-sensitively', async () => {
    for (const bad of ['nope', 'RELEVANCE', 'text_rank']) {
      const res = await search(`?sort=${bad}`);
      expect([bad, res.status, res.json()]).toEqual([bad, 400, INVALID]);
    }
  });
});

describe('hidden things (§10.1, D61)', () => {
  it('never appear for anonymous callers, other users, or the owner without extendedread', async () => {
    const bobToken = await fx.token(bob, ['extendedread']);
    const aliceToken = await fx.token(alice, ['thing', 'email']);
    for (const headers of [{}, bearer(bobToken), bearer(aliceToken)]) {
      const res = await search('?query=secret', headers);
      expect(res.json()).toEqual({ total_items: 0, items: 0, page: 1, things: [] });
    }
  });

  it("include the caller's own hidden things with extendedread", async () => {
    const token = await fx.token(alice, ['extendedread']);
    const res = await search('?sort=flattrs_day', bearer(token));
    expect(res.json().total_items).toBe(11);
    expect(ids(res.json())).toEqual(letters('G', 'A', 'F', 'C', 'K', 'E', 'B', 'J', 'H', 'I', 'D'));
    expect(res.json().things[0]).toMatchObject({ id: t.G!.id, hidden: true, last_flattr_at: ago(HOUR).getTime() / 1000, updated_at: 0 });
    expect(await order('?tags=ruby', bearer(token))).toEqual(letters('G', 'A', 'E'));
    // Score of G for "ruby": 4 (title) + 3 (tag) = 7.
    expect(await order('?query=ruby', bearer(token))).toEqual(letters('A', 'G', 'E', 'B', 'D'));
  });
});

describe('GraphQL searchThings', () => {
  async function gql(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const res = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return res.json();
  }

  it('returns a connection with totalCount, paginated with first/after and last', async () => {
    const first = await gql('{ searchThings(sort: FLATTRS_WEEK, first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { databaseId } } } }');
    const conn = first.data.searchThings;
    expect(conn.totalCount).toBe(10);
    expect(conn.edges.map((e: any) => e.node.databaseId)).toEqual(letters('K', 'B', 'A'));
    expect(conn.pageInfo.hasNextPage).toBe(true);
    const next = await gql('query($after: String) { searchThings(sort: FLATTRS_WEEK, first: 3, after: $after) { edges { node { databaseId } } } }', {
      after: conn.pageInfo.endCursor,
    });
    expect(next.data.searchThings.edges.map((e: any) => e.node.databaseId)).toEqual(letters('F', 'J', 'H'));
    const last = await gql('{ searchThings(sort: FLATTRS_WEEK, last: 2) { edges { node { databaseId } } } }');
    expect(last.data.searchThings.edges.map((e: any) => e.node.databaseId)).toEqual(letters('I', 'D'));
  });

  it('takes lists for languages and categories', async () => {
    const res = await gql('{ searchThings(languages: ["sv_SE", "de_DE"], categories: ["text", "images"]) { totalCount edges { node { databaseId } } } }');
    expect(res.data.searchThings.edges.map((e: any) => e.node.databaseId)).toEqual(letters('F', 'C'));
    // Unknown ids match nothing, however many; an empty list filters nothing.
    const many = await gql('query($l: [String!]) { searchThings(languages: $l) { totalCount } }', { l: [...Array(5000).keys()].map((i) => `x${i}`).concat('sv_SE') });
    expect(many.data.searchThings.totalCount).toBe(1);
    const none = await gql('{ searchThings(languages: [], categories: []) { totalCount } }');
    expect(none.data.searchThings.totalCount).toBe(10);
    const unknown = await gql('{ searchThings(categories: ["nope"]) { totalCount } }');
    expect(unknown.data.searchThings.totalCount).toBe(0);
  });

  it('reports where a tag expression is wrong', async () => {
    const res = await gql('{ searchThings(tags: "photo & (flickr | ") { totalCount } }');
    expect(res.errors[0].message).toBe('Invalid tags expression at position 19: expected a tag, "!" or "(" after "|" but found the end of the expression');
    expect(res.errors[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_PARAMETERS',
      argument: 'tags',
      position: 19,
      found: null,
      detail: 'expected a tag, "!" or "(" after "|" but found the end of the expression',
    });
  });

  it('offers a full-text filter and rank besides the REST semantics (textSearch, TEXT_RANK)', async () => {
    const res = await gql('{ searchThings(textSearch: "games", sort: TEXT_RANK) { totalCount edges { node { databaseId } } } }');
    // F: "games" in title (A) and tags (B); I: title (A) and tags (B) too, fewer flattrs.
    expect(res.data.searchThings.edges.map((e: any) => e.node.databaseId)).toEqual(letters('F', 'I'));
    const phrase = await gql('{ searchThings(textSearch: "\\"ruby sunset\\"", sort: TEXT_RANK) { edges { node { databaseId } } } }');
    expect(phrase.data.searchThings.edges.map((e: any) => e.node.databaseId)).toEqual(letters('D'));
    const not = await gql('{ searchThings(textSearch: "gem -deprecated", sort: TEXT_RANK) { edges { node { databaseId } } } }');
    expect(not.data.searchThings.edges.map((e: any) => e.node.databaseId)).toEqual(letters('A'));
  });
});

/** Reads a §5.7 document back into a plain value. */
function readXml(xml: string): { root: string; value: unknown } {
  const doc = xml2js(xml, { compact: false }) as Element;
  const root = doc.elements![0]!;
  return { root: root.name!, value: fromElement(root) };
}

function fromElement(e: Element): unknown {
  const attrs = e.attributes ?? {};
  const children = e.elements ?? [];
  if (attrs.nil === 'true') return null;
  if (attrs.type === 'array') return children.filter((c) => c.type === 'element').map(fromElement);
  const text = children.filter((c) => c.type === 'text').map((c) => String(c.text)).join('');
  if (attrs.type === 'integer') return Number(text);
  if (attrs.type === 'boolean') return text === 'true';
  const elements = children.filter((c) => c.type === 'element');
  if (elements.length > 0) return Object.fromEntries(elements.map((c) => [c.name!, fromElement(c)]));
  return text;
}
