import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { prng } from './support/prng.js';
import type { UserEntity } from '../src/entities/index.js';
import { prepareSearch, type SearchCaller, type ThingSearch } from '../src/services/search/search.js';
import { searchCountCache } from '../src/services/search/count-cache.js';
import { RelevanceLevelCache, clearRelevanceLevelCaches } from '../src/services/search/relevance-levels.js';
import { searchCacheOutcomes } from '../src/services/search/cache-outcomes.js';
import { MAX_CORRECTED_CHANGES, pruneSearchChanges } from '../src/services/search/changes.js';
import { expiryCleanupJob } from '../src/jobs/jobs.js';
import { windowSortTuning } from '../src/services/search/window-sort.js';

/**
 * Issue 19, search warm under writes: a cached count or set of relevance levels is brought up to date from
 * `search_changes` (src/services/search/changes.ts) when things change, instead of being read again. Checked
 * against the same search without any cache after random writes of every kind, and by how the caches answered
 * (`searchCacheOutcomes`, the figures of /metrics' flattr_search_cache_outcomes_total).
 */

let app: TestApp;
let fx: Fixtures;
let db: pg.Client;
let owners: UserEntity[];

const WORDS = ['music', 'video', 'musical', 'open', 'source', 'photo', 'art', 'sic', 'travel'];
const LANGUAGES = ['en_GB', 'de_DE', 'sv_SE'];
const r = prng(20261205);
const words = (n: number) => Array.from({ length: n }, () => r.pick(WORDS)).join(' ');
const randomTags = () => `{${Array.from({ length: r.int(4) }, () => r.pick(WORDS)).join(',')}}`;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
  owners = [await fx.user({ username: 'changesa' }), await fx.user({ username: 'changesb' })];
  for (let i = 0; i < 120; i++) {
    await fx.thing(r.pick(owners), {
      url: `https://${r.pick(['a', 'b'])}.example/${r.pick(WORDS)}/${i}`,
      title: words(1 + r.int(3)),
      description: r.chance(0.3) ? '' : words(1 + r.int(5)),
      tags: Array.from({ length: r.int(4) }, () => r.pick(WORDS)),
      hidden: r.chance(0.1),
    });
  }
  await db.query('update things set flattrs_count = floor(random() * 4)::int');
});
afterAll(async () => {
  await db?.end();
  await app?.close();
});
beforeEach(() => {
  searchCountCache.clear();
  clearRelevanceLevelCaches();
});

const outcomes = () => ({ ...searchCacheOutcomes });
const em = () => app.orm.em.fork() as EntityManager;

async function directResult(search: ThingSearch, caller: SearchCaller | null) {
  const prepared = prepareSearch(em(), search, caller, app.clock.now());
  return { total: await prepared.count(), ids: (await prepared.page({ offset: 0, limit: 500 })).map((t) => t.id) };
}

async function cachedResult(levels: RelevanceLevelCache, search: ThingSearch, caller: SearchCaller | null) {
  const prepared = prepareSearch(em(), search, caller, app.clock.now(), { countCacheSize: 1000, relevanceLevels: levels });
  return { total: await prepared.count(), ids: (await prepared.page({ offset: 0, limit: 500 })).map((t) => t.id) };
}

/** One random write a filter can see, in its own transaction (sometimes several on one thing). */
async function randomWrite(): Promise<void> {
  const [{ id }] = (await db.query('select id from things order by random() limit 1')).rows as { id: number }[];
  switch (r.int(8)) {
    case 0:
      await db.query(
        `insert into things (owner_id, url, title, description, category_id, language_id, tags, created_at)
         values ($1, $2, $3, $4, 'rest', $5, $6, now())`,
        [r.pick(owners).id, `https://a.example/new/${r.int(1e9)}`, words(1 + r.int(2)), words(r.int(3)), r.pick(LANGUAGES), randomTags()],
      );
      return;
    case 1:
      await db.query('delete from things where id = $1', [id]);
      return;
    case 2:
      await db.query('update things set title = $2 where id = $1', [id, words(1 + r.int(3))]);
      return;
    case 3:
      await db.query('update things set tags = $2 where id = $1', [id, randomTags()]);
      return;
    case 4:
      await db.query('update things set hidden = not hidden where id = $1', [id]);
      return;
    case 5:
      await db.query('update things set language_id = $2, owner_id = $3 where id = $1', [id, r.pick(LANGUAGES), r.pick(owners).id]);
      return;
    case 6:
      // Several changes of one thing in one transaction: the correction must start from its row before the first.
      await db.query('begin');
      await db.query('update things set title = $2 where id = $1', [id, words(2)]);
      await db.query('update things set description = $2, tags = $3 where id = $1', [id, words(3), randomTags()]);
      await db.query('update things set url = $2 where id = $1', [id, `https://b.example/moved/${r.int(1e9)}`]);
      await db.query('commit');
      return;
    default:
      // Flattrs move the tie-breaker only: no generation, no log.
      await db.query('update things set flattrs_count = floor(random() * 4)::int where id % 5 = $1', [r.int(5)]);
  }
}

const SEARCHES: ThingSearch[] = [
  { query: 'music' },
  { query: 'open source' },
  { query: 'sic', tags: 'art | photo' },
  { tags: 'music' },
  { tags: 'video & !art' },
  { query: 'travel', languages: ['de_DE'] },
  { query: 'photo', url: 'https://a.example/' },
  { query: 'music', user: 'changesb' },
];

describe('search caches corrected from the change log', () => {
  it('stay exact through 20 rounds of random writes of every kind, without counting or scoring again', async () => {
    const levels = new RelevanceLevelCache(1_000_000, 4, 3);
    const callers: (SearchCaller | null)[] = [null, { userId: owners[0]!.id, extendedRead: true }];
    for (const search of SEARCHES) for (const caller of callers) expect(await cachedResult(levels, search, caller)).toEqual(await directResult(search, caller));
    const warm = outcomes();
    let changedMatches = 0;
    for (let round = 0; round < 20; round++) {
      for (let w = 1 + r.int(4); w > 0; w--) await randomWrite();
      for (const search of SEARCHES) {
        for (const caller of callers) {
          const expected = await directResult(search, caller);
          expect(await cachedResult(levels, search, caller), JSON.stringify({ round, search, caller })).toEqual(expected);
          changedMatches += expected.total;
        }
      }
    }
    expect(changedMatches).toBeGreaterThan(0);
    const after = outcomes();
    expect(after.counted - warm.counted).toBe(0);
    expect(after.scored - warm.scored).toBe(0);
    // Tag-only searches count through the count cache; searches with terms take their total from the levels.
    expect(after.corrected - warm.corrected).toBeGreaterThan(50);
    expect(after.levelsCorrected - warm.levelsCorrected).toBeGreaterThan(50);
  }, 180_000);

  it('a burst of unrelated thing writes leaves popular REST searches warm', async () => {
    const withTerms = '/rest/v2/things/search?query=music&tags=music';
    const tagsOnly = '/rest/v2/things/search?tags=music&sort=flattrs';
    const cold = outcomes();
    const first = [await request(app.baseUrl, withTerms)];
    // Its total_items comes from the relevance levels its page is read from: one scoring, no count.
    expect(outcomes()).toEqual({ ...cold, scored: cold.scored + 1 });
    first.push(await request(app.baseUrl, tagsOnly));
    expect(outcomes()).toEqual({ ...cold, scored: cold.scored + 1, counted: cold.counted + 1 });
    for (const res of first) expect(res.status).toBe(200);
    const warm = outcomes();
    for (let i = 0; i < 20; i++) await fx.thing(owners[1]!, { title: `Unrelated ${i}`, tags: ['elsewhere'] });
    expect((await request(app.baseUrl, withTerms)).json()).toEqual(first[0]!.json());
    expect((await request(app.baseUrl, tagsOnly)).json()).toEqual(first[1]!.json());
    const after = outcomes();
    expect(after).toEqual({ ...warm, corrected: warm.corrected + 1, levelsCorrected: warm.levelsCorrected + 1 });
    // A related write is seen at once.
    const related = await fx.thing(owners[1]!, { title: 'music music', tags: ['music'] });
    const seen = (await request(app.baseUrl, withTerms)).json();
    expect(seen.total_items).toBe(first[0]!.json().total_items + 1);
    expect(seen.things.map((t: { id: number }) => t.id)).toContain(related.id);
    expect((await request(app.baseUrl, tagsOnly)).json().total_items).toBe(first[1]!.json().total_items + 1);
  });

  it('counts and scores again when the log cannot say: a username change, a pruned or hand-moved span, too many changes', async () => {
    const levels = new RelevanceLevelCache(1_000_000, 4, 3);
    // One search counted by the count cache, one whose total comes from its relevance levels.
    const searches: ThingSearch[] = [{ tags: 'music | video', user: 'changesa' }, { query: 'music', user: 'changesa' }];
    const check = async () => {
      for (const search of searches) expect(await cachedResult(levels, search, null)).toEqual(await directResult(search, null));
    };
    await check();
    const expectReadAgain = (before: typeof searchCacheOutcomes) => expect(outcomes()).toMatchObject({ counted: before.counted + 1, scored: before.scored + 1 });

    let before = outcomes();
    await db.query(`update users set username = 'changesx' where id = $1`, [owners[0]!.id]);
    await db.query(`update users set username = 'changesa' where id = $1`, [owners[0]!.id]);
    await check();
    expectReadAgain(before);

    before = outcomes();
    await db.query(`update things set title = title || ' music' where id = (select min(id) from things where owner_id = $1)`, [owners[0]!.id]);
    await db.query('delete from search_changes where generation = (select generation from search_generation where id = 1)');
    await check();
    expectReadAgain(before);

    before = outcomes();
    await db.query('update search_generation set generation = generation + 1 where id = 1');
    await check();
    expectReadAgain(before);

    before = outcomes();
    // One transaction logging more changes than a correction applies.
    await db.query('begin');
    for (let i = 0; i <= MAX_CORRECTED_CHANGES / 100; i++) await db.query(`update things set description = description || ' x'`);
    await db.query('commit');
    // The trigger logs one row more than a correction applies, then stops: the log of a bulk update stays bounded.
    const [{ logged }] = (await db.query('select count(*)::int as logged from search_changes where generation = (select generation from search_generation where id = 1)')).rows;
    expect(logged).toBe(MAX_CORRECTED_CHANGES + 1);
    await check();
    expectReadAgain(before);
  });

  it('the expiry-cleanup job prunes generations too old for any correction, in batches', async () => {
    const [{ g }] = (await db.query('select generation::int as g from search_generation where id = 1')).rows;
    const countWhere = async (condition: string) => (await db.query(`select count(*)::int as n from search_changes where ${condition}`, [g])).rows[0].n as number;
    const older = await countWhere('generation < $1');
    const atG = await countWhere('generation = $1');
    expect(older).toBeGreaterThan(0);
    expect(atG).toBeGreaterThan(0);
    // A cache read at generation g can still be corrected up to g + MAX_CORRECTED_CHANGES: its rows stay.
    await db.query('update search_generation set generation = generation + $1 where id = 1', [MAX_CORRECTED_CHANGES - 1]);
    expect(await pruneSearchChanges(em(), 1_000_000)).toBe(older);
    expect(await expiryCleanupJob.run({ em: em(), now: app.clock.now() } as never)).toMatchObject({ searchChanges: 0 });
    expect(await countWhere('generation >= $1')).toBe(atG);
    const kept = await fx.thing(owners[0]!, { title: 'Kept' });
    expect(await expiryCleanupJob.run({ em: em(), now: app.clock.now() } as never)).toMatchObject({ searchChanges: atG });
    expect((await db.query('select generation::int, thing_id from search_changes')).rows).toEqual([{ generation: g + MAX_CORRECTED_CHANGES, thing_id: kept.id }]);
  });

  it('logs each change with the thing as it was, in the transaction that moved the generation', async () => {
    const thing = await fx.thing(owners[0]!, { title: 'Logged', tags: ['logged'] });
    const { rows: created } = await db.query('select generation::int, old_row from search_changes where thing_id = $1 order by id', [thing.id]);
    expect(created).toEqual([{ generation: expect.any(Number), old_row: null }]);
    await db.query('begin');
    await db.query(`update things set title = 'Logged twice' where id = $1`, [thing.id]);
    await db.query(`update things set tags = '{again}' where id = $1`, [thing.id]);
    await db.query('commit');
    await db.query('begin');
    await db.query(`update things set title = 'Rolled back' where id = $1`, [thing.id]);
    await db.query('rollback');
    const { rows } = await db.query(
      `select generation::int, old_row->>'title' as title, old_row->'lower_tags' as tags from search_changes where thing_id = $1 order by id`,
      [thing.id],
    );
    expect(rows.slice(1)).toEqual([
      { generation: created[0].generation + 1, title: 'Logged', tags: ['logged'] },
      { generation: created[0].generation + 1, title: 'Logged twice', tags: ['logged'] },
    ]);
    const [{ generation }] = (await db.query('select generation::int from search_generation where id = 1')).rows;
    expect(generation).toBe(created[0].generation + 1);
  });
});

describe('window sorts choose their path from the search total', () => {
  const capped = /select count\(\*\)::int as n from \(select 1 from things t where/;
  const lists = /with l1 as materialized/;
  const ran = (from: number, pattern: RegExp) => app.queries.slice(from).some((q) => pattern.test(q));

  it('orders a filter whole when its total is under smallFilter, walks the lists otherwise, with no capped count of its own', async () => {
    const saved = { ...windowSortTuning };
    try {
      const visible = (await directResult({ sort: 'trend' }, null)).total;
      const few = { tags: 'music', sort: 'trend' } as ThingSearch;
      const fewTotal = (await directResult(few, null)).total;
      windowSortTuning.smallFilter = Math.ceil((fewTotal + visible) / 2);
      expect(fewTotal).toBeLessThan(windowSortTuning.smallFilter);
      for (const [search, whole] of [
        [few, true],
        [{ sort: 'trend' } as ThingSearch, false],
      ] as const) {
        const expected = await directResult(search, null);
        const from = app.queries.length;
        const prepared = prepareSearch(em(), search, null, app.clock.now(), { countCacheSize: 1000 });
        expect({ total: await prepared.count(), ids: (await prepared.page({ offset: 0, limit: 500 })).map((t) => t.id) }).toEqual(expected);
        expect(ran(from, capped), JSON.stringify(search)).toBe(false);
        expect(ran(from, lists), JSON.stringify(search)).toBe(!whole);
      }
      // Without a count cache the page counts for itself, capped at smallFilter.
      const from = app.queries.length;
      await prepareSearch(em(), few, null, app.clock.now()).page({ offset: 0, limit: 10 });
      expect(ran(from, capped)).toBe(true);
    } finally {
      Object.assign(windowSortTuning, saved);
    }
  });
});
