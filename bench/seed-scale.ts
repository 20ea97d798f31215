/**
 * `npm run seed:scale -- --things N --users N --flattrs N [--database-url URL] [--reset] [--create] [--seed S]`
 *
 * Fills a database with realistic data at scale, for benchmarks (bench/README.md) and search at a million things:
 *
 * - users `user1`..`userN` with names, cities and a large balance (so every one of them can flattr);
 * - things owned with a power-law skew (owner rank drawn as N·u², so a few users own many things), titles and descriptions drawn from a
 *   vocabulary with Zipf-like word frequencies, 1–6 tags from a tag vocabulary (skewed too, a few capitalised),
 *   48 languages and 7 categories (skewed towards English and text), 3% hidden, created over the last 3 years;
 * - flattrs with a Zipf-like thing popularity (thing rank r drawn as N·u³, so the top 1% of things get about a
 *   fifth of all flattrs) and active users flattring more, spread over the last 12 months (never before the thing
 *   was created, never by its owner), one per user, thing and period (§2.2), ids in time order;
 * - a few subscriptions.
 *
 * Everything is generated inside PostgreSQL with `INSERT ... SELECT generate_series` in one transaction, from a
 * fixed random seed (same options, same data). The database is first migrated with openDatabase. For speed the
 * load runs with the loaded tables' secondary indexes, unique and foreign-key constraints dropped and their user
 * triggers disabled; afterwards every index and constraint is recreated from the definitions the catalog held
 * (so the schema is exactly the migrated one, and the constraints are validated on the whole data), and what the
 * triggers would have written is computed set-based:
 *
 * - `flattrs.period` (trigger `flattrs_period`): `to_char(created_at at time zone 'UTC', 'YYYY-MM')`;
 * - `things.flattrs_count`, `flattrs_user_count`, `last_flattr_at` (`flattrs_counters_insert`): count, distinct
 *   users, newest flattr;
 * - `thing_flattr_days` (`flattrs_days_insert`): per thing and UTC day, count and sum of whole unixtimes;
 * - `things.lower_tags`, `search_text`, `search_vector` (`things_search_columns`): the trigger's own expressions;
 * - `search_window_base` (the sort windows' per-day base, whose staleness `flattrs_search_window_*` would have
 *   flagged) and `search_window_today` (which those triggers keep): emptied, and `search_window_state.as_of` set
 *   to null, so the first window-sorted search rebuilds both;
 * - `search_generation` (`things_search_generation_*`): moved once, so that search caches start afresh.
 *
 * Check queries then prove it: the counters and the day table equal aggregates of `flattrs`, the period matches
 * created_at, and on samples the real triggers (fired inside a rolled-back transaction) produce the same values.
 */
import pg from 'pg';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openDatabase } from '../src/db/database.js';
import { referenceData } from '../src/services/reference-data.js';

export interface SeedOptions {
  databaseUrl: string;
  things: number;
  users: number;
  flattrs: number;
  /** Subscriptions to create; default users / 2. */
  subscriptions?: number;
  /** Empty the tables first (TRUNCATE ... CASCADE); otherwise a database that already holds users is refused. */
  reset?: boolean;
  /** Create the database when it does not exist. */
  create?: boolean;
  /** Random seed in [0, 1) for setseed (default 0.42): the same options give the same data. */
  seed?: number;
  /** The instant the data is relative to (default now). */
  now?: Date;
  log?: (message: string) => void;
}

export interface SeedReport {
  users: number;
  things: number;
  flattrs: number;
  subscriptions: number;
  thingFlattrDays: number;
  seconds: number;
  steps: { step: string; seconds: number }[];
  checks: { check: string; mismatches: number }[];
}

/** The tables the load writes; their secondary indexes, constraints and user triggers are lifted during it. */
const LOADED_TABLES = ['users', 'things', 'flattrs', 'thing_flattr_days', 'subscriptions'];

const REAL_WORDS = `open source music video podcast photo art design code game games software linux web blog news
  story travel food recipe garden city night summer winter coffee book books comic film review guide tutorial
  science space history politics climate energy data privacy security network cloud mobile android javascript
  python rust database server api free culture remix creative commons sound live concert album song band radio
  episode season nature ocean mountain river forest bird cat dog family children school learning library
  research paper health sport football running bike cycling street market money economy startup community
  project release update beta tool tools plugin theme font icon camera drawing painting poetry novel fiction
  writing language english swedish german french spanish world europe local global digital analog retro indie
  electronic jazz rock folk classic classical experimental hack maker hardware robot printer kitchen home
  house architecture interview talk lecture conference workshop meetup kids teen women men people portrait
  landscape travelogue diary journal weekly daily monthly annual report notes tips tricks howto diy craft
  knitting sewing wood metal glass paper water fire earth air light dark color black white red green blue
  yellow orange purple love life death time money power freedom justice peace war memory dream future past`
  .split(/\s+/)
  .filter(Boolean);

/** A deterministic PRNG (mulberry32), for the vocabulary only; the data itself is drawn inside PostgreSQL. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct words: the real ones first (so they are the frequent ones), then pronounceable inventions. */
export function vocabulary(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const onsets = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'st', 'tr', 'pl', 'kr', 'sh'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
  const codas = ['', '', 'n', 'r', 's', 'l', 'x', 'nd', 'rt'];
  const words = new Set(REAL_WORDS);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  while (words.size < count) {
    const syllables = 2 + Math.floor(random() * 2);
    let word = '';
    for (let i = 0; i < syllables; i++) word += pick(onsets) + pick(vowels);
    words.add(word + pick(codas));
  }
  return [...words].slice(0, count);
}

/** The real words of the vocabulary, most frequent first: bench/search.ts picks its query terms from these. */
export const FREQUENT_WORDS = REAL_WORDS;
export const WORD_COUNT = 6000;
export const TAG_COUNT = 800;
export const VOCABULARY_SEED = 20261129;

/**
 * A multiplier a coprime with n near n·0.618 (the golden ratio spreads consecutive ranks far apart), so that
 * `(rank * a + offset) % n` is a permutation of 0..n-1 that does not map popular ranks to neighbouring ids.
 */
export function scatter(n: number, salt = 0): { step: number; offset: number } {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  let step = Math.max(1, Math.round(n * (0.6180339887 - salt * 0.05)));
  while (n > 1 && gcd(step, n) !== 1) step++;
  return { step, offset: Math.floor(n * (0.37 + salt * 0.11)) % Math.max(n, 1) };
}

const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;

interface LiftedSchema {
  constraints: { table: string; name: string; definition: string; kind: string }[];
  indexes: { name: string; definition: string }[];
}

/** Secondary indexes and unique/foreign-key constraints of the loaded tables, as the catalog defines them. */
async function liftableSchema(client: pg.ClientBase): Promise<LiftedSchema> {
  const constraints = await client.query<{ table: string; name: string; definition: string; kind: string }>(
    `select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as definition, c.contype as kind
     from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_namespace n on n.oid = r.relnamespace
     where n.nspname = current_schema() and r.relname = any($1) and c.contype in ('u', 'f')
     order by c.contype, c.conname`,
    [LOADED_TABLES],
  );
  const indexes = await client.query<{ name: string; definition: string }>(
    `select i.indexname as name, i.indexdef as definition from pg_indexes i
     where i.schemaname = current_schema() and i.tablename = any($1)
       and not exists (select 1 from pg_constraint c where c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
     order by i.indexname`,
    [LOADED_TABLES],
  );
  return { constraints: constraints.rows, indexes: indexes.rows };
}

/** Fills the database; see the file comment. Returns counts, timings and the check results (all zero). */
export async function seedScale(options: SeedOptions): Promise<SeedReport> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const started = performance.now();
  const steps: SeedReport['steps'] = [];
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    log(`seed:scale: ${name}...`);
    const result = await work();
    steps.push({ step: name, seconds: seconds(t) });
    log(`seed:scale: ${name} done in ${seconds(t)} s`);
    return result;
  };
  const { things: nThings, users: nUsers, flattrs: nFlattrs } = options;
  for (const [name, value] of Object.entries({ things: nThings, users: nUsers, flattrs: nFlattrs })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a whole number >= 0`);
  }
  if (nThings > 0 && nUsers < 2) throw new Error('--users must be at least 2 when there are things (nobody flattrs their own thing)');
  const nSubscriptions = options.subscriptions ?? Math.floor(nUsers / 2);
  const seed = options.seed ?? 0.42;
  const now = options.now ?? new Date();

  if (options.create) await createDatabaseIfMissing(options.databaseUrl, log);
  await step('migrate (openDatabase)', async () => {
    const orm = await openDatabase({ databaseUrl: options.databaseUrl, poolMax: 2 });
    await orm.close();
  });

  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const existing = await client.query<{ n: string }>('select count(*) as n from users');
    if (Number(existing.rows[0]!.n) > 0 && !options.reset) {
      throw new Error('the database already holds users: pass --reset to empty it first');
    }
    // Session settings for a bulk load; a single process, so the seeded random() sequence is reproducible.
    await client.query(`set work_mem = '256MB'; set maintenance_work_mem = '1GB'; set synchronous_commit = off;
      set max_parallel_workers_per_gather = 0; set max_parallel_maintenance_workers = 1; set jit = off`);

    const words = vocabulary(WORD_COUNT, VOCABULARY_SEED);
    const tags = vocabulary(TAG_COUNT + 40, VOCABULARY_SEED + 1).slice(0, TAG_COUNT);
    const languages = referenceData.languages.map((l) => l.id);
    const categories = referenceData.categories.map((c) => c.id);
    const nowIso = now.toISOString();

    await client.query('begin');
    if (options.reset) {
      await step('reset (truncate)', () =>
        client.query(`truncate users, things, flattrs, thing_flattr_days, subscriptions, oauth_clients, oauth_authorization_codes,
          oauth_access_tokens, web_sessions restart identity cascade`),
      );
    }
    const lifted = await liftableSchema(client);
    await step('lift indexes, constraints and triggers', async () => {
      for (const c of lifted.constraints.filter((c) => c.kind === 'f')) await client.query(`alter table ${c.table} drop constraint ${pg.escapeIdentifier(c.name)}`);
      for (const c of lifted.constraints.filter((c) => c.kind === 'u')) await client.query(`alter table ${c.table} drop constraint ${pg.escapeIdentifier(c.name)}`);
      for (const i of lifted.indexes) await client.query(`drop index ${pg.escapeIdentifier(i.name)}`);
      for (const table of ['things', 'flattrs']) await client.query(`alter table ${table} disable trigger user`);
    });
    await client.query('select setseed($1)', [seed]);

    await step(`users (${nUsers})`, () =>
      client.query(
        `insert into users (id, username, email, password_hash, firstname, lastname, about, city, country, url, registered_at, balance_cents)
         select i, 'user' || i, 'user' || i || '@example.org', null,
           (array['Anna','Erik','Maja','Lars','Sofia','Jonas','Elin','Oskar','Ida','Nils','Clara','Hugo','Alice','Leo','Ebba','Axel'])[1 + floor(random() * 16)::int],
           (array['Andersson','Johansson','Karlsson','Nilsson','Eriksson','Larsson','Olsson','Persson','Svensson','Gustafsson','Smith','Müller','Dubois','García'])[1 + floor(random() * 14)::int],
           case when random() < 0.3 then 'Writes about ' || ($1::text[])[1 + floor(random() * 60)::int] || ' and ' || ($1::text[])[1 + floor(random() * 60)::int] else '' end,
           (array['Stockholm','Malmö','Göteborg','Berlin','Paris','London','Oslo','Helsinki','','',''])[1 + floor(random() * 11)::int],
           (array['Sweden','Germany','France','United Kingdom','Norway','Finland','',''])[1 + floor(random() * 8)::int],
           case when random() < 0.2 then 'https://user' || i || '.example.net/' else '' end,
           $2::timestamptz - interval '4 years' * (1 - i::float8 / $3::int) - interval '1 minute' * floor(random() * 600),
           100000000
         from generate_series(1, $3::int) i`,
        [REAL_WORDS, nowIso, nUsers],
      ),
    );

    const owners = scatter(nUsers, 0);
    await step(`things (${nThings})`, () =>
      client.query(
        // r: one row of random draws per thing; then the columns; then the trigger's derived columns.
        `insert into things (id, owner_id, url, title, description, category_id, language_id, tags, hidden, image, created_at, updated_at,
                             lower_tags, search_text, search_vector)
         select b.id, b.owner_id, b.url, b.title, b.description, b.category_id, b.language_id, b.tags, b.hidden, b.image, b.created_at, b.updated_at,
           array(select flattr_lower(tag) from unnest(b.tags) with ordinality as u(tag, n) order by n),
           flattr_lower(concat_ws(E'\\n', b.title, b.description, b.url, array_to_string(b.tags, E'\\n'))),
           setweight(to_tsvector('simple', flattr_lower(b.title)), 'A') ||
           setweight(to_tsvector('simple', flattr_lower(array_to_string(b.tags, ' '))), 'B') ||
           setweight(to_tsvector('simple', flattr_lower(b.description)), 'C') ||
           setweight(to_tsvector('simple', flattr_lower(b.url)), 'D')
         from (
           select r.i as id,
             1 + ((floor($5::int * r.owner ^ 2)::bigint * $6::bigint + $11::bigint) % $5::int)::int as owner_id,
             'https://' || (array['example.org','blog.example.com','music.example.net','video.example.org','photos.example.com',
                                  'code.example.io','news.example.se','podcast.example.fm','art.example.de','games.example.co'])[1 + (r.i % 10)]
               || '/' || ($2::text[])[1 + floor(3000 * r.w1 ^ 2)::int] || '/' || r.i as url,
             left(initcap(array_to_string(array(select ($2::text[])[1 + floor($7::int * random() ^ 3)::int]
                                                  from generate_series(1, 2 + floor(r.len * 5)::int)), ' ')), 100) as title,
             array_to_string(array(select ($2::text[])[1 + floor($7::int * random() ^ 3)::int]
                                   from generate_series(1, 6 + floor(r.len * 20)::int + (r.i % 3))), ' ') as description,
             ($4::text[])[1 + floor(7 * r.cat ^ 2)::int] as category_id,
             case when r.lang < 0.55 then 'en_GB' else ($3::text[])[1 + floor(48 * (r.lang - 0.55) / 0.45)::int] end as language_id,
             array(select distinct on (lower(t)) t from (
                     select case when random() < 0.05 then initcap(tg) else tg end as t
                     from (select ($8::text[])[1 + floor($9::int * random() ^ 2.5)::int] as tg
                           from generate_series(1, 1 + floor(r.ntags * 6)::int)) x) y order by lower(t)) as tags,
             r.hidden < 0.03 as hidden,
             case when r.image < 0.25 then 'https://img.example.org/' || r.i || '.jpg' else '' end as image,
             $1::timestamptz - interval '3 years' * (1 - r.i::float8 / $10::int) + interval '1 second' * floor(r.w1 * 3600) as created_at,
             case when r.hidden > 0.9 then $1::timestamptz - interval '1 day' * floor(r.image * 30) else null end as updated_at
           from (select i, random() as owner, random() as w1, random() as len, random() as cat, random() as lang, random() as ntags,
                        random() as hidden, random() as image
                 from generate_series(1, $10::int) i) r
         ) b`,
        [nowIso, words, languages, categories, nUsers, owners.step, WORD_COUNT, tags, TAG_COUNT, nThings, owners.offset],
      ),
    );

    // Candidates (oversampled), then: not the owner's own thing, not before the thing existed, one per user/thing/period.
    const popular = scatter(nThings, 0);
    const flattrers = scatter(nUsers, 1);
    await step(`flattrs (${nFlattrs})`, async () => {
      if (nFlattrs === 0 || nThings === 0) return;
      const candidates = Math.ceil(nFlattrs * 1.15) + 1000;
      await client.query(
        `insert into flattrs (id, user_id, thing_id, created_at, period, source)
         select row_number() over (order by d.created_at, d.user_id, d.thing_id), d.user_id, d.thing_id, d.created_at,
                to_char(d.created_at at time zone 'UTC', 'YYYY-MM'), d.source
         from (select * from (
           select distinct on (c.user_id, c.thing_id, to_char(c.created_at at time zone 'UTC', 'YYYY-MM')) c.*
           from (
             select g.user_id, g.thing_id,
               $1::timestamptz - (($1::timestamptz - greatest(t.created_at, $1::timestamptz - interval '365 days')) * (g.when_ ^ 1.3)) as created_at,
               case when g.src < 0.05 then 'subscription' else 'click' end as source,
               g.k
             from (select k,
                          1 + ((floor($2::int * random() ^ 3)::bigint * $3::bigint + $8::bigint) % $2::int)::int as thing_id,
                          1 + ((floor($4::int * random() ^ 2)::bigint * $5::bigint + $9::bigint) % $4::int)::int as user_id,
                          random() as when_, random() as src
                   from generate_series(1, $6::int) k) g
             join things t on t.id = g.thing_id
             where t.owner_id <> g.user_id
           ) c
           order by c.user_id, c.thing_id, to_char(c.created_at at time zone 'UTC', 'YYYY-MM'), c.k
         ) e order by e.k limit $7::int) d`,
        [nowIso, nThings, popular.step, nUsers, flattrers.step, candidates, nFlattrs, popular.offset, flattrers.offset],
      );
    });

    await step(`subscriptions (${nSubscriptions})`, async () => {
      if (nSubscriptions === 0 || nThings === 0) return;
      await client.query(
        `insert into subscriptions (user_id, thing_id, active, created_at, started_at)
         select distinct on (s.user_id, s.thing_id) s.user_id, s.thing_id, s.active, s.at, s.at
         from (select 1 + floor($2::int * random())::int as user_id,
                      1 + ((floor($3::int * random() ^ 3)::bigint * $4::bigint + $6::bigint) % $3::int)::int as thing_id,
                      random() < 0.85 as active,
                      $1::timestamptz - interval '300 days' * random() as at
               from generate_series(1, $5::int)) s
         join things t on t.id = s.thing_id and t.owner_id <> s.user_id
         order by s.user_id, s.thing_id`,
        [nowIso, nUsers, nThings, popular.step, nSubscriptions, popular.offset],
      );
    });

    await step('derived columns (flattr counters, thing_flattr_days)', async () => {
      await client.query(
        `update things t set flattrs_count = f.n, flattrs_user_count = f.u, last_flattr_at = f.m
         from (select thing_id, count(*)::int as n, count(distinct user_id)::int as u, max(created_at) as m from flattrs group by thing_id) f
         where f.thing_id = t.id`,
      );
      await client.query(
        `insert into thing_flattr_days (thing_id, day, flattrs, epoch_sum)
         select thing_id, (created_at at time zone 'UTC')::date, count(*), sum(floor(extract(epoch from created_at))::bigint)
         from flattrs group by 1, 2`,
      );
      await client.query('delete from search_window_base');
      await client.query('delete from search_window_today');
      await client.query('update search_window_state set as_of = null, base_generation = null where id = 1');
      // Things were written with their triggers off: move the search generation, so that no server keeps
      // counts or relevance levels from before the load.
      await client.query('update search_generation set generation = generation + 1 where id = 1');
    });

    await step('sequences', async () => {
      for (const table of ['users', 'things', 'flattrs', 'subscriptions']) {
        await client.query(`select setval(pg_get_serial_sequence('${table}', 'id'), greatest((select max(id) from ${table}), 1), (select count(*) > 0 from ${table}))`);
      }
    });

    await step('recreate indexes, constraints and triggers', async () => {
      for (const i of lifted.indexes) await client.query(i.definition);
      for (const c of lifted.constraints.filter((c) => c.kind === 'u')) await client.query(`alter table ${c.table} add constraint ${pg.escapeIdentifier(c.name)} ${c.definition}`);
      for (const c of lifted.constraints.filter((c) => c.kind === 'f')) await client.query(`alter table ${c.table} add constraint ${pg.escapeIdentifier(c.name)} ${c.definition}`);
      for (const table of ['things', 'flattrs']) await client.query(`alter table ${table} enable trigger user`);
    });
    await step('commit', () => client.query('commit'));
    await step('vacuum analyze', () => client.query(`vacuum (analyze) ${LOADED_TABLES.join(', ')}`));

    const checks = await step('checks', () => checkDerivedData(client));
    const counts = await client.query<Record<string, string>>(
      `select (select count(*) from users) as users, (select count(*) from things) as things, (select count(*) from flattrs) as flattrs,
              (select count(*) from subscriptions) as subscriptions, (select count(*) from thing_flattr_days) as days`,
    );
    const c = counts.rows[0]!;
    const report: SeedReport = {
      users: Number(c.users),
      things: Number(c.things),
      flattrs: Number(c.flattrs),
      subscriptions: Number(c.subscriptions),
      thingFlattrDays: Number(c.days),
      seconds: seconds(started),
      steps,
      checks,
    };
    const failed = checks.filter((check) => check.mismatches !== 0);
    if (failed.length > 0) throw new Error(`seed:scale checks failed: ${JSON.stringify(failed)}`);
    return report;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/**
 * The check queries: each counts rows that differ from what the triggers would have written (all must be 0).
 * The first three compare with aggregates over `flattrs`; the last two fire the real triggers on samples inside a
 * transaction that is rolled back.
 */
export async function checkDerivedData(client: pg.ClientBase, sample = 500): Promise<{ check: string; mismatches: number }[]> {
  const one = async (check: string, text: string, values: unknown[] = []) => {
    const result = await client.query<{ n: string }>(text, values);
    return { check, mismatches: Number(result.rows[0]!.n) };
  };
  const results = [
    await one(
      'things counters = aggregates of flattrs',
      `select count(*) as n from things t
       left join (select thing_id, count(*) as c, count(distinct user_id) as u, max(created_at) as m from flattrs group by thing_id) f on f.thing_id = t.id
       where t.flattrs_count <> coalesce(f.c, 0) or t.flattrs_user_count <> coalesce(f.u, 0) or t.last_flattr_at is distinct from f.m`,
    ),
    await one(
      'thing_flattr_days = flattrs per thing and UTC day',
      `select count(*) as n from thing_flattr_days d
       full join (select thing_id, (created_at at time zone 'UTC')::date as day, count(*) as c, sum(floor(extract(epoch from created_at))::bigint) as s
                  from flattrs group by 1, 2) f on f.thing_id = d.thing_id and f.day = d.day
       where d.thing_id is null or f.thing_id is null or d.flattrs <> f.c or d.epoch_sum <> f.s`,
    ),
    await one('flattrs.period = UTC month of created_at', `select count(*) as n from flattrs where period <> to_char(created_at at time zone 'UTC', 'YYYY-MM')`),
  ];
  // The search columns, recomputed by the real trigger on a sample.
  await client.query('begin');
  try {
    await client.query(
      `create temp table seed_check_things on commit drop as
       select id, lower_tags, search_text, search_vector from things order by random() limit $1`,
      [sample],
    );
    await client.query('update things t set title = t.title from seed_check_things s where s.id = t.id');
    results.push(
      await one(
        'search columns = trigger things_search_columns (sample)',
        `select count(*) as n from things t join seed_check_things s on s.id = t.id
         where t.lower_tags <> s.lower_tags or t.search_text <> s.search_text or t.search_vector::text <> s.search_vector::text`,
      ),
    );
  } finally {
    await client.query('rollback');
  }
  // The flattr triggers: delete sampled flattrs and insert them again with the triggers enabled; the counters and
  // the day rows must come back to the same values.
  await client.query('begin');
  try {
    await client.query(
      `create temp table seed_check_flattrs on commit drop as select * from flattrs where id in (select id from flattrs order by random() limit $1)`,
      [sample],
    );
    await client.query(
      `create temp table seed_check_before on commit drop as
       select t.id, t.flattrs_count, t.flattrs_user_count, t.last_flattr_at,
              (select coalesce(array_agg(d.day || ':' || d.flattrs || ':' || d.epoch_sum order by d.day), '{}') from thing_flattr_days d where d.thing_id = t.id) as days
       from things t where t.id in (select thing_id from seed_check_flattrs)`,
    );
    // One statement per row: the triggers are AFTER ROW, so within one statement they would all see its final state.
    await client.query(`do $$ declare k int; r flattrs%rowtype; begin
      for k in select id from seed_check_flattrs order by id loop delete from flattrs where id = k; end loop;
      for r in select * from seed_check_flattrs order by id loop insert into flattrs select r.*; end loop;
    end $$`);
    results.push(
      await one(
        'counters and days unchanged by delete + re-insert through the triggers (sample)',
        `select count(*) as n from things t join seed_check_before b on b.id = t.id
         where t.flattrs_count <> b.flattrs_count or t.flattrs_user_count <> b.flattrs_user_count or t.last_flattr_at is distinct from b.last_flattr_at
            or (select coalesce(array_agg(d.day || ':' || d.flattrs || ':' || d.epoch_sum order by d.day), '{}') from thing_flattr_days d where d.thing_id = t.id) <> b.days`,
      ),
    );
  } finally {
    await client.query('rollback');
  }
  return results;
}

/** CREATE DATABASE through the server's `postgres` database, when the named one does not exist. */
export async function createDatabaseIfMissing(databaseUrl: string, log: (message: string) => void = () => undefined): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
    log(`seed:scale: created database ${name}`);
    return true;
  } finally {
    await admin.end();
  }
}

const USAGE = `Usage: npm run seed:scale -- --things N --users N --flattrs N [--subscriptions N] [--database-url URL] [--reset] [--create] [--seed 0.42]
  Fills the database (DATABASE_URL by default) with generated data; see bench/seed-scale.ts.
  --reset   empty users, things, flattrs, subscriptions and OAuth data first
  --create  create the database if it does not exist`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      things: { type: 'string' },
      users: { type: 'string' },
      flattrs: { type: 'string' },
      subscriptions: { type: 'string' },
      'database-url': { type: 'string' },
      reset: { type: 'boolean', default: false },
      create: { type: 'boolean', default: false },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const number = (name: string, raw: string | undefined, fallback?: number): number => {
    if (raw === undefined) {
      if (fallback !== undefined) return fallback;
      throw new Error(`missing --${name}\n${USAGE}`);
    }
    if (!/^\d+$/.test(raw.replace(/_/g, ''))) throw new Error(`--${name} must be a whole number`);
    return Number(raw.replace(/_/g, ''));
  };
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error(`no database: pass --database-url or set DATABASE_URL\n${USAGE}`);
  const report = await seedScale({
    databaseUrl,
    things: number('things', values.things),
    users: number('users', values.users),
    flattrs: number('flattrs', values.flattrs),
    subscriptions: values.subscriptions === undefined ? undefined : number('subscriptions', values.subscriptions),
    reset: values.reset,
    create: values.create,
    seed: values.seed === undefined ? undefined : Number(values.seed),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    process.stderr.write(`seed:scale failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
