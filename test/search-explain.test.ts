import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { prepareSearch, type ThingSearch } from '../src/services/search/search.js';

/**
 * EXPLAIN ANALYZE of the queries the search really sends, on 50,000 things and ~90,000 flattrs over a year: every
 * selective filter is served by its index; the window sorts read their two lists in index order
 * (search_window_base's bound indexes, search_window_today's (day, flattrs)) and the flattrs table only per
 * candidate thing (flattrs_thing_created_idx) and for flattrs after now (flattrs_created_idx), never a day of
 * it. Set SEARCH_EXPLAIN_LOG=1 to print the plans.
 */

const THINGS = 50_000;
const USERS = 1_000;
const FLATTRS = 100_000;
const NOW = new Date('2026-03-10T12:00:00Z');

let app: TestApp;
let db: pg.Client;
let firstUser: number;

beforeAll(async () => {
  app = await startTestApp();
  db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
  const users = await db.query(
    `insert into users (username, email, registered_at) select 'bulk' || i, 'bulk' || i || '@example.org', '2025-01-01Z' from generate_series(1, ${USERS}) i returning id`,
  );
  firstUser = Math.min(...users.rows.map((r) => r.id as number));
  // Titles and descriptions of random hex words; a few rare words, tags, languages and categories to look for.
  await db.query(
    `insert into things (owner_id, url, title, description, category_id, language_id, tags, hidden, created_at)
     select $1::int + i % ${USERS},
       'https://site' || (i % 200) || '.example/post/' || i,
       substr(md5(i::text), 1, 6) || ' ' || substr(md5((i * 7)::text), 1, 6) || case when i % 5000 = 7 then ' Zebrafish' else '' end,
       md5((i * 13)::text) || ' ' || md5((i * 17)::text),
       case when i % 300 = 1 then 'people' else (array['text', 'images', 'software', 'audio', 'video'])[1 + i % 5] end,
       case when i % 500 = 1 then 'sv_SE' else (array['en_GB', 'de_DE', 'fr_FR'])[1 + i % 3] end,
       array['Tag' || (i * 7 % 500), 'tag' || (i * 11 % 500), 'common' || (i % 3)] || case when i % 2000 = 3 then array['Rare-Tag'] else array[]::text[] end,
       i % 20 = 0,
       timestamptz '2026-01-01Z' + i * interval '1 minute'
     from generate_series(1, ${THINGS}) i`,
    [firstUser],
  );
  const { rows } = await db.query('select min(id)::int as first from things');
  await db.query(
    `insert into flattrs (user_id, thing_id, created_at, period)
     select $1::int + g % ${USERS}, $2::int + (g::bigint * 7919) % ${THINGS}, $3::timestamptz - ((g::bigint * 104729) % (365 * 86400)) * interval '1 second', ''
     from generate_series(1, ${FLATTRS}) g
     on conflict do nothing`,
    [firstUser, rows[0].first, NOW.toISOString()],
  );
  await db.query('analyze');
}, 300_000);
afterAll(async () => {
  await db?.end();
  await app?.close();
});

/** Runs a page and a count of the search, capturing the SQL sent, and explains each statement. */
async function explain(search: ThingSearch, offset = 0): Promise<{ plans: string[]; ms: number[] }> {
  const knex = app.orm.em.getKnex();
  const captured: { sql: string; bindings: unknown[] }[] = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => {
    if (q.sql.includes('things t')) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  knex.on('query', listener);
  try {
    const prepared = prepareSearch(app.orm.em.fork(), search, null, NOW);
    await prepared.count();
    await prepared.page({ offset, limit: 31 });
  } finally {
    knex.removeListener('query', listener);
  }
  const plans: string[] = [];
  const ms: number[] = [];
  for (const q of captured) {
    let n = 0;
    const text = q.sql.replace(/\?/g, () => `$${++n}`);
    // The planner settings window-sort.ts sets for its list queries.
    const lists = q.sql.includes('l1 as materialized') ? 'off' : 'on';
    await db.query(`select set_config('enable_bitmapscan', '${lists}', false), set_config('enable_sort', '${lists}', false), set_config('jit', 'off', false)`);
    const { rows } = await db.query(`explain (analyze, buffers, costs off) ${text}`, q.bindings);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    plans.push(plan);
    ms.push(Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1]));
    if (process.env.SEARCH_EXPLAIN_LOG) console.log(`-- ${JSON.stringify(search)}\n${text}\n${JSON.stringify(q.bindings)}\n${plan}\n`);
  }
  return { plans, ms };
}

describe('search on ~50k things uses its indexes', () => {
  it('has the data', async () => {
    const { rows } = await db.query('select (select count(*) from things)::int as things, (select count(*) from flattrs)::int as flattrs, (select count(*) from thing_flattr_days)::int as days');
    expect(rows[0].things).toBe(THINGS);
    expect(rows[0].flattrs).toBeGreaterThan(FLATTRS * 0.7);
    expect(rows[0].days).toBeGreaterThan(0);
  });

  const cases: [string, ThingSearch, string[], number?][] = [
    ['query term (trigram)', { query: 'zebrafish' }, ['things_search_text_trgm_idx']],
    ['two query terms (trigram)', { query: 'zebrafish 0' }, ['things_search_text_trgm_idx']],
    ['tags TAG (GIN @>)', { tags: 'rare-tag' }, ['things_lower_tags_gin_idx']],
    ['tags OR (BitmapOr)', { tags: 'rare-tag | tag1' }, ['things_lower_tags_gin_idx', 'BitmapOr']],
    ['tags AND (BitmapAnd or recheck)', { tags: 'tag7 & tag77' }, ['things_lower_tags_gin_idx']],
    ['url prefix (pattern ops)', { url: 'https://site42.example/post/1' }, ['things_url_prefix_idx']],
    ['language', { languages: ['sv_SE'] }, ['things_language_category_flattrs_idx']],
    ['language and category, flattrs order', { languages: ['sv_SE'], categories: ['people'], sort: 'flattrs' }, ['things_language_category_flattrs_idx']],
    ['category', { categories: ['people'] }, ['things_category_idx']],
    ['user', { user: 'BULK42' }, ['users_username_lower_unique', 'things_owner_created_idx']],
    ['sort flattrs, no filter', { sort: 'flattrs' }, ['things_flattrs_count_id_idx']],
    ['relevance without query', { sort: 'relevance' }, ['things_flattrs_count_id_idx']],
    // Window sorts: the static list by its bound index, today's list by (day, flattrs), the partial oldest day per
    // candidate through flattrs_thing_created_idx; never thing_flattr_days.
    ['flattrs_week', { sort: 'flattrs_week' }, ['search_window_base_week_hi_idx', 'search_window_today_flattrs_idx', 'flattrs_thing_created_idx']],
    // Past the things with flattrs in the window, the rest comes in (flattrs, id) index order.
    ['flattrs_day, a page just past the hot things', { sort: 'flattrs_day' }, ['search_window_base_day_hi_idx', 'things_flattrs_count_id_idx'], 300],
    ['flattrs_month', { sort: 'flattrs_month' }, ['search_window_base_month_hi_idx', 'search_window_today_flattrs_idx']],
    ['flattrs_month, deep page', { sort: 'flattrs_month' }, ['search_window_base_month_hi_idx', 'search_window_today_flattrs_idx'], 2000],
    ['flattrs_day', { sort: 'flattrs_day' }, ['search_window_base_day_hi_idx', 'search_window_today_flattrs_idx']],
    ['trend', { sort: 'trend' }, ['search_window_base_trend_idx', 'search_window_today_flattrs_idx']],
    ['trend with a common tag', { sort: 'trend', tags: 'common1' }, ['search_window_base_trend_idx', 'search_window_today_flattrs_idx']],
    // A selective filter (under 1000 matches) is found through its index and ordered whole.
    ['trend with a rare tag', { sort: 'trend', tags: 'rare-tag' }, ['things_lower_tags_gin_idx', 'search_window_base_pkey']],
    ['textSearch (GraphQL)', { textSearch: 'zebrafish', sort: 'text_rank' }, ['things_search_vector_idx']],
  ];

  for (const [name, search, indexes, offset] of cases) {
    it(name, async () => {
      const { plans, ms } = await explain(search, offset);
      const all = plans.join('\n');
      for (const index of indexes) expect(all, `${name} should use ${index}:\n${all}`).toContain(index);
      // Never a full scan of flattrs; the window sorts never read thing_flattr_days per request.
      expect(all).not.toMatch(/Seq Scan on flattrs/);
      if (search.sort && search.sort !== 'relevance' && search.sort !== 'flattrs' && search.sort !== 'text_rank') {
        expect(all, `${name}:\n${all}`).not.toContain('thing_flattr_days');
        // Neither list is scanned whole and sorted (a day of rows; search_window_today has one page here, which
        // the planner may read whole per lookup).
        expect(all, `${name}:\n${all}`).not.toMatch(/Seq Scan on search_window_base|Bitmap Heap Scan on search_window|Sort Key: w\.flattrs|Sort Key: b\.\w+_hi/);
      }
      for (const m of ms) expect(m, `${name}:\n${all}`).toBeLessThan(1000);
    });
  }

  it('finds what the generated data says', async () => {
    const count = (search: ThingSearch) => prepareSearch(app.orm.em.fork(), search, null, NOW).count();
    // i % 5000 = 7: ten things, none hidden (hidden: i % 20 = 0).
    expect(await count({ query: 'ZEBRAFISH' })).toBe(10);
    // i % 2000 = 3: 25 things.
    expect(await count({ tags: 'RARE-TAG' })).toBe(25);
    // i % 200 = 42: 250 things.
    expect(await count({ url: 'https://site42.example/post/' })).toBe(250);
    // i % 500 = 1: 100 things; i % 300 = 1: 167 things.
    expect(await count({ languages: ['sv_SE'] })).toBe(100);
    expect(await count({ categories: ['people'] })).toBe(167);
    // Not hidden: 47,500.
    expect(await count({})).toBe(THINGS - THINGS / 20);
  });
});
