import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { prng } from './support/prng.js';
import type { UserEntity } from '../src/entities/index.js';
import { prepareSearch, type SearchCaller, type ThingSearch } from '../src/services/search/search.js';
import { RelevanceLevelCache, clearRelevanceLevelCaches } from '../src/services/search/relevance-levels.js';

/**
 * The relevance order read level by level from the process's cache (relevance-levels.ts) must be exactly the
 * order the direct query gives (which test/search-model.test.ts checks against the spec): on random searches,
 * at random pages, while flattrs move the tie-breaker without moving the generation, and after changes that do.
 */

let app: TestApp;
let fx: Fixtures;
let db: pg.Client;
let owners: UserEntity[];

const WORDS = ['music', 'video', 'musical', 'open', 'source', 'photo', 'art', 'sic', 'deo', 'travel'];
const SEED = 20261129;

const r = prng(SEED);
const words = (n: number) => Array.from({ length: n }, () => (r.chance(0.2) ? r.pick(WORDS).toUpperCase() : r.pick(WORDS))).join(' ');

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
  owners = [await fx.user({ username: 'levelsa' }), await fx.user({ username: 'levelsb' })];
  for (let i = 0; i < 160; i++) {
    await fx.thing(r.pick(owners), {
      url: `https://${r.pick(['a', 'b'])}.example/${r.pick(WORDS)}/${i}`,
      title: words(1 + r.int(3)),
      description: r.chance(0.3) ? '' : words(1 + r.int(6)),
      tags: Array.from({ length: r.int(4) }, () => r.pick(WORDS)),
      hidden: r.chance(0.1),
    });
  }
  // Many ties on flattrs, so the id tie-break matters too.
  await db.query('update things set flattrs_count = floor(random() * 4)::int');
});
afterAll(async () => {
  await db?.end();
  await app?.close();
});

function randomSearch(): ThingSearch {
  const search: ThingSearch = { sort: 'relevance', query: Array.from({ length: 1 + r.int(2) }, () => r.pick(WORDS)).join(' ') };
  if (r.chance(0.3)) search.tags = r.pick(['music', '!video', 'art | photo', 'open source']);
  if (r.chance(0.2)) search.url = 'https://a.example/';
  return search;
}

async function direct(search: ThingSearch, caller: SearchCaller | null, offset: number, limit: number) {
  return (await prepareSearch(app.orm.em.fork() as EntityManager, search, caller, app.clock.now()).page({ offset, limit })).map((t) => t.id);
}

async function viaLevels(cache: RelevanceLevelCache, search: ThingSearch, caller: SearchCaller | null, offset: number, limit: number) {
  const prepared = prepareSearch(app.orm.em.fork() as EntityManager, search, caller, app.clock.now(), { relevanceLevels: cache });
  return (await prepared.page({ offset, limit })).map((t) => t.id);
}

describe('relevance levels', () => {
  it('give the direct order on 300 random searches and pages, with small levels, large levels walked in batches, and a mix', async () => {
    const caches = [new RelevanceLevelCache(1_000_000, 1_000_000), new RelevanceLevelCache(1_000_000, 0, 3), new RelevanceLevelCache(1_000_000, 4, 2)];
    const callers: (SearchCaller | null)[] = [null, { userId: owners[0]!.id, extendedRead: true }];
    let nonEmpty = 0;
    for (let i = 0; i < 300; i++) {
      const search = randomSearch();
      const caller = r.pick(callers);
      const limit = 1 + r.int(10);
      const offset = r.int(5) * limit;
      const expected = await direct(search, caller, offset, limit);
      if (expected.length > 0) nonEmpty++;
      for (const [c, cache] of caches.entries()) {
        expect(await viaLevels(cache, search, caller, offset, limit), JSON.stringify({ i, c, search, caller, offset, limit })).toEqual(expected);
      }
      // Flattrs move between searches; they never move the generation, and the levels must follow them.
      if (i % 10 === 0) await db.query('update things set flattrs_count = floor(random() * 4)::int where id % 7 = $1', [i % 7]);
    }
    expect(nonEmpty).toBeGreaterThan(150);
  });

  it('follow changes that move the generation: an edited title changes the levels', async () => {
    const cache = new RelevanceLevelCache();
    const search: ThingSearch = { sort: 'relevance', query: 'zebra' };
    expect(await viaLevels(cache, search, null, 0, 10)).toEqual([]);
    const thing = await fx.thing(owners[0]!, { title: 'Plain', description: 'a zebra here' });
    const other = await fx.thing(owners[1]!, { title: 'Zebra crossing' });
    expect(await viaLevels(cache, search, null, 0, 10)).toEqual([other.id, thing.id]);
    await db.query(`update things set title = 'Zebra zebra' where id = $1`, [thing.id]);
    await db.query(`update things set flattrs_count = 100 where id = $1`, [thing.id]);
    expect(await viaLevels(cache, search, null, 0, 10)).toEqual([thing.id, other.id]);
    expect(await viaLevels(cache, search, null, 0, 10)).toEqual(await direct(search, null, 0, 10));
  });

  it('score a filter once when its first searches arrive together', async () => {
    const cache = new RelevanceLevelCache();
    const scorings = vi.spyOn(cache as unknown as { score: () => unknown }, 'score');
    const search: ThingSearch = { sort: 'relevance', query: 'music' };
    const pages = await Promise.all(Array.from({ length: 5 }, () => viaLevels(cache, search, null, 0, 5)));
    expect(scorings).toHaveBeenCalledTimes(1);
    expect(new Set(pages.map((p) => p.join()))).toEqual(new Set([(await direct(search, null, 0, 5)).join()]));
  });

  it('serve REST searches from the cache: a thing inserted behind the triggers is not seen until the generation moves', async () => {
    clearRelevanceLevelCaches();
    const order = async () => (await request(app.baseUrl, '/rest/v2/things/search?query=quagga&count=10')).json().things.map((t: { id: number }) => t.id);
    const first = await fx.thing(owners[0]!, { title: 'Quagga one' });
    expect(await order()).toEqual([first.id]);
    await db.query('begin');
    await db.query('set local session_replication_role = replica');
    const { rows } = await db.query(
      `insert into things (owner_id, url, title, description, category_id, language_id, tags, lower_tags, search_text, created_at)
       values ($1, 'https://example.org/quagga', 'Quagga two', '', 'rest', 'en_GB', '{}', '{}', 'quagga two', now()) returning id`,
      [owners[0]!.id],
    );
    await db.query('commit');
    expect(await order()).toEqual([first.id]);
    await db.query('update search_generation set generation = generation + 1');
    expect(await order()).toEqual([rows[0].id, first.id]); // title and url beat title alone
  });
});
