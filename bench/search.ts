/**
 * `npm run bench -- search` (issue 6 item 5): representative searches (free text, tag expressions with & | !, each
 * sort, deep pages, filters) against our server at 10k and at 1M things, side by side: p50, p99 and throughput at
 * each size and the 1M/10k latency ratio (goal < 3). Then the EXPLAIN ANALYZE of every SQL statement each shape
 * runs, at both sizes, reduced to the plan nodes and the indexes they use (full plans in the JSON).
 *
 * The datasets are seed:scale's: `--large` things with users = things/10 and flattrs = 5·things (1M / 100k / 5M),
 * and `--small` with the same proportions.
 */
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { ormOptions } from '../src/db/orm-options.js';
import { prepareSearch, type SearchSort, type ThingSearch } from '../src/services/search/search.js';
import { RelevanceLevelCache } from '../src/services/search/relevance-levels.js';
import { mulberry32, vocabulary, TAG_COUNT, VOCABULARY_SEED, WORD_COUNT } from './seed-scale.js';
import { ensureDataset, fmt, freePort, log, machine, measure, query, startOurServer, table, writeResults, type Dataset, type Measured, type ServerHandle } from './lib.js';
import type { LoadRequest } from './load.js';

export interface SearchBenchOptions {
  small: number;
  large: number;
  connections: number;
  duration: number;
  warmup: number;
  reseed?: boolean;
  /**
   * Thing writes per second in the background while each shape is measured (issue 19): each inserts a thing and
   * deletes the one inserted before, so every write moves `search_generation` (what the search caches are keyed by)
   * and the dataset ends as it was. 0: none.
   */
  writeRate?: number;
  /**
   * Several write rates, each measured in turn per shape and size on the same servers (e.g. [0, 5]); a table of
   * p99 at each rate ÷ p99 at the first follows (issue 19: ≤ 3 under 5 writes/s). Overrides `writeRate`.
   */
  writeRates?: number[];
  /** How many distinct requests of the diverse stream the count probe times at each size (0: none; default 100). */
  probe?: number;
  /** Shape ids to run (default all). When absent, taken from `--only id,id` on the command line. */
  only?: string[];
}

/** `--only a,b` or `--only=a,b` from the command line (run.ts parses it but passes it to the API bench only). */
function onlyFromArgv(argv: readonly string[] = process.argv): string[] | undefined {
  for (const [i, arg] of argv.entries()) {
    if (arg === '--only' && argv[i + 1]) return argv[i + 1]!.split(',');
    if (arg.startsWith('--only=')) return arg.slice('--only='.length).split(',');
  }
  return undefined;
}

interface Shape {
  id: string;
  what: string;
  /** REST query strings (several variants of the same shape, cycled). */
  variants: Record<string, string>[];
  /** The diverse scenario: its requests are drawn per run from diverseRequests, not cycled from `variants`. */
  diverse?: boolean;
}

const RARE = vocabulary(WORD_COUNT, VOCABULARY_SEED).slice(2500, 2510);

function shapes(bigOwner: string): Shape[] {
  const v = (...list: Record<string, string>[]) => list;
  return [
    { id: 'text-common', what: 'one frequent term (relevance)', variants: v({ query: 'music' }, { query: 'video' }, { query: 'podcast' }, { query: 'photo' }) },
    { id: 'text-rare', what: 'one rare term (relevance)', variants: RARE.slice(0, 5).map((w) => ({ query: w })) },
    { id: 'text-two-terms', what: 'two terms (relevance)', variants: v({ query: 'music video' }, { query: 'open source' }, { query: 'photo travel' }) },
    { id: 'tags-one', what: 'tags=music', variants: v({ tags: 'music' }, { tags: 'video' }, { tags: 'podcast' }) },
    { id: 'tags-and', what: 'tags a & b', variants: v({ tags: 'music & video' }, { tags: 'photo & art' }, { tags: 'open & source' }) },
    { id: 'tags-or', what: 'tags a | b', variants: v({ tags: 'music | podcast' }, { tags: 'photo | art' }, { tags: 'game | games' }) },
    { id: 'tags-not', what: 'tags a & !b', variants: v({ tags: 'music & !video' }, { tags: 'photo & !art' }) },
    { id: 'tags-nested', what: 'tags (a | b) & !c', variants: v({ tags: '(music | podcast) & !video' }, { tags: '(photo, art) !design' }) },
    { id: 'text+tags', what: 'query and tags', variants: v({ query: 'music', tags: 'video | podcast' }, { query: 'open', tags: 'source & !art' }) },
    { id: 'sort-relevance', what: 'no filter, relevance', variants: v({ sort: 'relevance' }) },
    { id: 'sort-flattrs', what: 'no filter, flattrs', variants: v({ sort: 'flattrs' }) },
    { id: 'sort-flattrs_month', what: 'no filter, flattrs_month', variants: v({ sort: 'flattrs_month' }) },
    { id: 'sort-flattrs_week', what: 'no filter, flattrs_week', variants: v({ sort: 'flattrs_week' }) },
    { id: 'sort-flattrs_day', what: 'no filter, flattrs_day', variants: v({ sort: 'flattrs_day' }) },
    { id: 'sort-trend', what: 'no filter, trend', variants: v({ sort: 'trend' }) },
    { id: 'tags+trend', what: 'tags=music, trend', variants: v({ tags: 'music', sort: 'trend' }, { tags: 'video', sort: 'trend' }) },
    { id: 'deep-flattrs', what: 'flattrs, page 200 of 20', variants: v({ sort: 'flattrs', page: '200', count: '20' }) },
    { id: 'deep-text', what: 'query=music, page 100 of 20', variants: v({ query: 'music', page: '100', count: '20' }) },
    { id: 'deep-trend', what: 'trend, page 100 of 20', variants: v({ sort: 'trend', page: '100', count: '20' }) },
    { id: 'language+category', what: 'language=de_DE, category=video', variants: v({ language: 'de_DE', category: 'video', sort: 'flattrs' }) },
    { id: 'user', what: 'user=<owner of many things>', variants: v({ user: bigOwner }) },
    { id: 'diverse', what: 'Zipf-drawn terms and tag expressions, thousands of distinct requests', variants: diverseRequests(3, DIVERSE_SEED).map((r) => r.params), diverse: true },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The diverse scenario (issue 19). The shapes above repeat one query each, so after the first request they measure
// the per-filter caches (count-cache.ts, relevance-levels.ts). Real searches are varied: here every request draws
// its terms and tags from the seed's own vocabularies with a Zipf law (P(rank r) ∝ 1/r, the usual shape of query
// logs), so the head words recur, and hit the caches as they would in production, while most requests are a filter
// the server has not seen yet.

/** The Zipf exponent of the draws: 1, the classic law of word and query frequencies. */
const ZIPF_EXPONENT = 1;
export const DIVERSE_SEED = 19;
/** Per measured run: requests for the warm-up, and for the run itself (more than a 10k run at 4 connections sends). */
const DIVERSE_WARM = 5_000;
const DIVERSE_MEASURED = 30_000;

/** The mix of the diverse stream (weights in %). */
const DIVERSE_KINDS: [kind: string, weight: number][] = [
  ['one term', 25],
  ['two terms', 15],
  ['tag', 20],
  ['tags a & b', 15],
  ['tags a | b', 12],
  ['tags a & !b', 13],
];

export interface DiverseRequest {
  params: Record<string, string>;
  kind: string;
  /** The filter (terms and tags), what the per-filter caches are keyed by; sort and page are not part of it. */
  filter: string;
}

/** Ranks 0..n-1 with P(r) ∝ 1/(r+1)^s, by inverse CDF. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * `count` requests of the diverse stream, deterministic for a seed. Terms come from seed:scale's word vocabulary and
 * tags from its tag vocabulary, both most frequent first (the seed draws them with rank ∝ u³ and u^2.5), so a
 * Zipf draw by rank asks mostly for frequent words, as users do. Sort: relevance 70%, flattrs 15%, trend 15%;
 * page 1 (75%), 2 (17%) or 3 (8%) of 30.
 */
export function diverseRequests(count: number, seed: number): DiverseRequest[] {
  const random = mulberry32(seed);
  const words = vocabulary(WORD_COUNT, VOCABULARY_SEED);
  const tags = vocabulary(TAG_COUNT + 40, VOCABULARY_SEED + 1).slice(0, TAG_COUNT);
  const wordRank = zipf(words.length, ZIPF_EXPONENT, random);
  const tagRank = zipf(tags.length, ZIPF_EXPONENT, random);
  const word = () => words[wordRank()]!;
  const tag = () => tags[tagRank()]!;
  const two = (draw: () => string): [string, string] => {
    const a = draw();
    let b = draw();
    while (b === a) b = draw();
    return [a, b];
  };
  const total = DIVERSE_KINDS.reduce((n, [, w]) => n + w, 0);
  const out: DiverseRequest[] = [];
  for (let i = 0; i < count; i++) {
    let x = random() * total;
    const kind = DIVERSE_KINDS.find(([, w]) => (x -= w) < 0)?.[0] ?? DIVERSE_KINDS[0]![0];
    const params: Record<string, string> = {};
    if (kind === 'one term') params.query = word();
    else if (kind === 'two terms') params.query = two(word).join(' ');
    else if (kind === 'tag') params.tags = tag();
    else {
      const [a, b] = two(tag);
      params.tags = kind === 'tags a & b' ? `${a} & ${b}` : kind === 'tags a | b' ? `${a} | ${b}` : `${a} & !${b}`;
    }
    const filter = JSON.stringify([params.query ?? null, params.tags ?? null]);
    const s = random();
    if (s >= 0.85) params.sort = 'trend';
    else if (s >= 0.7) params.sort = 'flattrs';
    const p = random();
    if (p >= 0.92) params.page = '3';
    else if (p >= 0.75) params.page = '2';
    out.push({ params, kind, filter });
  }
  return out;
}

/** The diverse stream's slices for the n-th measured run (0-based): a warm-up slice and a measured slice, disjoint. */
function diverseSlices(run: number): { warm: DiverseRequest[]; measured: DiverseRequest[] } {
  const stream = diverseRequests((run + 1) * (DIVERSE_WARM + DIVERSE_MEASURED), DIVERSE_SEED);
  const start = run * (DIVERSE_WARM + DIVERSE_MEASURED);
  return { warm: stream.slice(start, start + DIVERSE_WARM), measured: stream.slice(start + DIVERSE_WARM, start + DIVERSE_WARM + DIVERSE_MEASURED) };
}

/** The order in which bench/load.ts sends a request list for a seed (its `shuffled`, the same mulberry32 permutation). */
function loadOrder<T>(items: T[], seed: number): T[] {
  const random = mulberry32(seed >>> 0 || 1);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const toQueryString = (params: Record<string, string>) => new URLSearchParams(params).toString().replace(/\+/g, '%20');

function toSearch(params: Record<string, string>): { search: ThingSearch; offset: number; limit: number } {
  const count = Number(params.count ?? 30);
  const page = Number(params.page ?? 1);
  return {
    search: {
      query: params.query ?? null,
      tags: params.tags ?? null,
      languages: params.language ? params.language.split(',') : null,
      categories: params.category ? params.category.split(',') : null,
      user: params.user ?? null,
      sort: (params.sort ?? 'relevance') as SearchSort,
    },
    offset: (page - 1) * count,
    // resolveOffsetConnection reads one more to know whether there is a next page.
    limit: count + 1,
  };
}

interface ExplainedStatement {
  sql: string;
  ms: number;
  nodes: string[];
  indexes: string[];
  plan: string;
}

/** Runs the shape's first variant through the search service, capturing its SQL, then EXPLAIN ANALYZEs each statement. */
async function explainShape(orm: MikroORM, url: string, params: Record<string, string>): Promise<ExplainedStatement[]> {
  const captured: { sql: string; bindings: unknown[] }[] = [];
  const knex = orm.em.getKnex();
  const listener = (q: { sql: string; bindings?: unknown[] }) => captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  knex.on('query', listener);
  try {
    const em = orm.em.fork() as EntityManager;
    const { search, offset, limit } = toSearch(params);
    const prepared = prepareSearch(em, search, null, new Date());
    await prepared.count();
    await prepared.page({ offset, limit });
  } finally {
    knex.off('query', listener);
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const out: ExplainedStatement[] = [];
  try {
    for (const { sql, bindings } of captured) {
      if (!/^\s*(with|select)\b/i.test(sql)) continue;
      // knex placeholders: `?` → $n (none of these statements has a literal `?`).
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const result = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, costs off, timing off) ${text}`, bindings as unknown[]);
      const lines = result.rows.map((r) => r['QUERY PLAN']);
      const exec = lines.find((l) => l.startsWith('Execution Time'));
      const nodes = lines
        .map((l) => l.trim().replace(/^->\s*/, ''))
        .filter((l) => /^(Index|Bitmap|Seq Scan|Parallel|Gather|Finalize|Partial|Limit|Sort|Incremental Sort|Hash|Nested Loop|Merge|Aggregate|HashAggregate|GroupAggregate|Unique|CTE|Append|Subquery)/.test(l))
        .map((l) => l.replace(/\s+\(actual.*$/, ''));
      const indexes = [...new Set(lines.flatMap((l) => [...l.matchAll(/(?:Index(?: Only)? Scan(?: Backward)?|Bitmap Index Scan) (?:using |on )(\S+)/g)].map((m) => m[1]!)))];
      out.push({ sql: text.replace(/\s+/g, ' ').slice(0, 300), ms: Number(/([\d.]+) ms/.exec(exec ?? '')?.[1] ?? Number.NaN), nodes, indexes, plan: lines.join('\n') });
    }
  } finally {
    await client.end();
  }
  return out;
}

/** The count caps of option (a) in the probe: an exact count up to the cap, "more than" above it. */
const COUNT_CAP = 10_000;
const SMALL_COUNT_CAP = 1_000;

export interface ProbeRow {
  kind: string;
  params: Record<string, string>;
  total: number;
  /** The exact count statement (what a count-cache miss runs), ms. */
  countMs: number;
  /** The page statements on a cache miss (a fresh relevance-level cache: a search with terms scores its matches), ms. */
  pageMs: number;
  /** Option (a): `count(*)` over at most COUNT_CAP + 1 matches, ms, and what it gives. */
  cappedMs: number;
  capped: number;
  /** The same with SMALL_COUNT_CAP. */
  smallCappedMs: number;
  /** Option (b): the planner's row estimate of the filter (EXPLAIN without ANALYZE), ms, and the estimate. */
  estimateMs: number;
  estimate: number;
}

export interface ProbeResult {
  sample: number;
  rows: ProbeRow[];
  /** EXPLAIN ANALYZE of the count statement of the slowest counts. */
  slowest: { params: Record<string, string>; total: number; countMs: number; pageMs: number; plan: string[] }[];
  /** Option (c) for terms: the cost per thing written of testing it against the `terms` most frequent words (strpos each). */
  termTableTriggerMs: { terms: number; msPerThing: number };
  /** Option (c) for tags: building a per-tag count table once (ms) and its rows. */
  tagTable: { buildMs: number; rows: number };
}

const since = (t: number) => performance.now() - t;

/**
 * What `total_items` costs in the diverse stream when the caches miss, and what the alternatives would cost: for the
 * first `sample` distinct filters of the stream (one request each, single client, one after another), the exact
 * count statement alone, the page statements alone (both as on a cache miss), a count capped at COUNT_CAP, and the
 * planner's estimate; then EXPLAIN ANALYZE of the slowest counts, and the two costs a counts table kept by the
 * triggers would add.
 */
async function countProbe(orm: MikroORM, url: string, stream: DiverseRequest[], sample: number): Promise<ProbeResult> {
  const seen = new Set<string>();
  const picked = stream.filter((r) => !seen.has(r.filter) && seen.add(r.filter)).slice(0, sample);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const knex = orm.em.getKnex();
  const rows: ProbeRow[] = [];
  const countSql = new Map<ProbeRow, { text: string; values: unknown[] }>();
  try {
    for (const r of picked) {
      const { search, offset, limit } = toSearch(r.params);
      const captured: { sql: string; bindings: unknown[] }[] = [];
      const listener = (q: { sql: string; bindings?: unknown[] }) => captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
      knex.on('query', listener);
      let total: number;
      try {
        total = await prepareSearch(orm.em.fork() as EntityManager, search, null, new Date(), { countCacheSize: 0 }).count();
      } finally {
        knex.off('query', listener);
      }
      const statement = captured.find((c) => /count\(\*\)/.test(c.sql))!;
      let n = 0;
      const text = statement.sql.replace(/\?/g, () => `$${++n}`);
      const where = /from things t where ([\s\S]*)$/.exec(text)![1]!;
      // The count statement alone on the probe's own connection, as the capped count and the estimate are timed.
      let t = performance.now();
      await client.query(text, statement.bindings);
      const countMs = since(t);
      t = performance.now();
      await prepareSearch(orm.em.fork() as EntityManager, search, null, new Date(), { relevanceLevels: new RelevanceLevelCache() }).page({ offset, limit });
      const pageMs = since(t);
      t = performance.now();
      const capped = Number((await client.query<{ n: number }>(`select count(*)::int as n from (select 1 from things t where ${where} limit ${COUNT_CAP + 1}) s`, statement.bindings)).rows[0]!.n);
      const cappedMs = since(t);
      t = performance.now();
      await client.query(`select count(*)::int as n from (select 1 from things t where ${where} limit ${SMALL_COUNT_CAP + 1}) s`, statement.bindings);
      const smallCappedMs = since(t);
      t = performance.now();
      const plan = (await client.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(`explain (format json) select 1 from things t where ${where}`, statement.bindings)).rows[0]!['QUERY PLAN'];
      const estimateMs = since(t);
      const row: ProbeRow = { kind: r.kind, params: r.params, total, countMs, pageMs, cappedMs, capped, smallCappedMs, estimateMs, estimate: plan[0].Plan['Plan Rows'] };
      rows.push(row);
      countSql.set(row, { text, values: statement.bindings });
    }
    const slowest = [];
    for (const row of [...rows].sort((a, b) => b.countMs - a.countMs).slice(0, 3)) {
      const { text, values } = countSql.get(row)!;
      const result = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, values);
      slowest.push({ params: row.params, total: row.total, countMs: row.countMs, pageMs: row.pageMs, plan: result.rows.map((x) => x['QUERY PLAN']) });
    }
    // (c) for terms: what a trigger keeping per-term counts would add to each thing write, for the 1000 most frequent words.
    const terms = vocabulary(WORD_COUNT, VOCABULARY_SEED).slice(0, 1000);
    let t = performance.now();
    await client.query(`select sum((strpos(t.search_text, w) > 0)::int) from (select search_text from things order by id limit 1000) t cross join unnest($1::text[]) w`, [terms]);
    const termTableTriggerMs = { terms: terms.length, msPerThing: since(t) / 1000 };
    // (c) for tags: the table itself, built once (the triggers would then move one row per tag of a written thing).
    t = performance.now();
    const tagRows = await client.query(`select tag, count(*) from things t, unnest(t.lower_tags) tag where not t.hidden group by tag`);
    const tagTable = { buildMs: since(t), rows: tagRows.rowCount ?? 0 };
    return { sample: picked.length, rows, slowest, termTableTriggerMs, tagTable };
  } finally {
    await client.end();
  }
}

/** p-th percentile (0..1) of numbers, nearest rank. */
function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Relevance searches with terms take total_items from their relevance levels (search.ts): no count statement of their own. */
const fromLevels = (r: ProbeRow) => (r.params.sort ?? 'relevance') === 'relevance' && Boolean(r.params.query);

function probeReport(label: string, probe: ProbeResult): string[] {
  const out: string[] = [];
  const stat = (xs: number[]) => `${fmt(percentile(xs, 0.5), 1)} / ${fmt(percentile(xs, 0.9), 1)} / ${fmt(Math.max(...xs), 1)}`;
  const big = probe.rows.filter((r) => r.total > COUNT_CAP);
  const error = (r: ProbeRow) => Math.max(r.estimate, 1) / Math.max(r.total, 1);
  out.push(`Count probe at ${label}: ${probe.sample} distinct diverse filters, one request each, single client, caches missed (ms p50 / p90 / max):`);
  out.push(
    table(
      ['statement', 'ms p50 / p90 / max', 'note'],
      [
        ['exact count (today)', stat(probe.rows.map((r) => r.countMs)), `${big.length} of ${probe.rows.length} filters match more than ${COUNT_CAP}`],
        ['page (cache miss)', stat(probe.rows.map((r) => r.pageMs)), 'relevance with terms scores every match on a miss'],
        ['count + page', stat(probe.rows.map((r) => r.countMs + r.pageMs)), `count is ${fmt((100 * probe.rows.reduce((n, r) => n + r.countMs, 0)) / probe.rows.reduce((n, r) => n + r.countMs + r.pageMs, 0), 0)}% of the sum`],
        [`(a) count capped at ${COUNT_CAP}`, stat(probe.rows.map((r) => r.cappedMs)), 'exact up to the cap'],
        ['page + (a)', stat(probe.rows.map((r) => r.cappedMs + r.pageMs)), 'what a miss would cost with (a)'],
        ['as served now', stat(probe.rows.map((r) => r.pageMs + (fromLevels(r) ? 0 : r.countMs))), 'relevance with terms: total_items from its levels'],
        ['as served now, (a)', stat(probe.rows.map((r) => r.pageMs + (fromLevels(r) ? 0 : r.cappedMs))), 'the same, other counts capped'],
        [`(a) count capped at ${SMALL_COUNT_CAP}`, stat(probe.rows.map((r) => r.smallCappedMs)), 'exact up to the cap'],
        ['(b) planner estimate', stat(probe.rows.map((r) => r.estimateMs)), big.length ? `estimate/exact above the cap: p50 ${fmt(percentile(big.map(error), 0.5), 2)}, min ${fmt(Math.min(...big.map(error)), 2)}, max ${fmt(Math.max(...big.map(error)), 2)}` : ''],
      ],
    ),
  );
  out.push(
    `(c) counts kept by triggers: a per-tag table has ${probe.tagTable.rows} rows (built in ${fmt(probe.tagTable.buildMs, 0)} ms) and serves the single-tag filters ` +
      `(${probe.rows.filter((r) => r.kind === 'tag').length} of ${probe.rows.length}); per-term counts for the ${probe.termTableTriggerMs.terms} most frequent words cost ` +
      `${fmt(probe.termTableTriggerMs.msPerThing, 3)} ms per thing written (strpos of each) and serve single-term filters (${probe.rows.filter((r) => r.kind === 'one term').length}).`,
  );
  out.push('Slowest counts:');
  for (const s of probe.slowest) {
    out.push(`  ${toQueryString(s.params)}: ${s.total} matches, count ${fmt(s.countMs, 0)} ms, page ${fmt(s.pageMs, 0)} ms`);
    for (const line of s.plan.filter((l) => /Scan|Aggregate|Heap Blocks|Buffers|Execution|Recheck/.test(l)).slice(0, 8)) out.push(`      ${line.trim().slice(0, 160)}`);
  }
  return out;
}

/** `perSecond` thing writes a second on `url` until stopped (see SearchBenchOptions.writeRate); resolves to how many. */
function startWriteLoad(url: string, perSecond: number): { stop(): Promise<number> } {
  const client = new pg.Client({ connectionString: url });
  let stopped = false;
  let writes = 0;
  const loop = (async () => {
    await client.connect();
    const [owner] = (await client.query<{ id: number }>('select id from users order by id limit 1')).rows;
    let previous: number | null = null;
    const started = Date.now();
    while (!stopped) {
      const { rows } = await client.query<{ id: number }>(
        `insert into things (owner_id, url, title, description, category_id, language_id, created_at)
           values ($1, 'https://bench-writes.example/' || $2::text, 'Bench write ' || $2::text, 'written during the search bench', 'text', 'en_GB', now()) returning id`,
        [owner!.id, `${process.pid}-${writes}`],
      );
      if (previous !== null) await client.query('delete from things where id = $1', [previous]);
      previous = rows[0]!.id;
      writes++;
      const due = started + (writes * 1000) / perSecond;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    }
    if (previous !== null) await client.query('delete from things where id = $1', [previous]);
  })();
  return {
    async stop() {
      stopped = true;
      await loop.finally(() => client.end());
      return writes;
    },
  };
}

/** What the diverse scenario sent in one measured run, and how much of it the caches could have served. */
interface DiverseRun {
  /** Requests the run sent (from the load's order of its slice). */
  sent: number;
  distinctFilters: number;
  /** Requests whose filter had been asked before on that server (warm-up, an earlier run, or earlier in this run). */
  repeatedFilter: number;
}

export async function runSearchBench(options: SearchBenchOptions): Promise<void> {
  const started = Date.now();
  const sizes = [options.small, options.large];
  const rates = options.writeRates?.length ? options.writeRates : [options.writeRate ?? 0];
  const datasets: Dataset[] = [];
  for (const things of sizes) {
    const t = Date.now();
    datasets.push(await ensureDataset({ things, users: Math.max(100, Math.round(things / 10)), flattrs: things * 5 }, { reseed: options.reseed }));
    log(`dataset of ${things} things ready in ${fmt((Date.now() - t) / 1000, 0)} s`);
  }
  // The owner of the most visible things in the small dataset; the same username exists in the large one.
  const [owner] = await query<{ username: string }>(
    datasets[0]!.url,
    `select u.username from users u join things t on t.owner_id = u.id and not t.hidden group by u.id order by count(*) desc limit 1`,
  );
  const only = options.only ?? onlyFromArgv();
  const list = shapes(owner!.username).filter((shape) => !only || only.includes(shape.id));
  if (only) {
    const unknown = only.filter((id) => !shapes(owner!.username).some((shape) => shape.id === id));
    if (unknown.length > 0 || list.length === 0) throw new Error(`--only: unknown search shapes ${unknown.join(', ')}`);
  }

  const servers: ServerHandle[] = [];
  // results[rate index][shape id][size index]
  const results: Record<string, Measured[]>[] = rates.map(() => ({}));
  const diverseRuns: DiverseRun[][] = rates.map(() => []);
  const toRequest = (params: Record<string, string>): LoadRequest => ({ method: 'GET', path: `/rest/v2/things/search?${toQueryString(params)}` });
  try {
    for (const d of datasets) servers.push(await startOurServer({ databaseUrl: d.url, port: await freePort() }));
    // Per server, the diverse filters it has been asked (what its caches may hold).
    const seenFilters = servers.map(() => new Set<string>());
    for (const shape of list) {
      const checks = shape.diverse ? shape.variants.slice(0, 3) : shape.variants.slice(0, 1);
      for (const server of servers) {
        for (const params of checks) {
          const check = await fetch(server.baseUrl + toRequest(params).path);
          const text = await check.text();
          if (check.status !== 200) throw new Error(`${shape.id}: ${check.status} ${text.slice(0, 300)}`);
        }
      }
      // Alternate which size goes first.
      const order = list.indexOf(shape) % 2 === 0 ? [0, 1] : [1, 0];
      for (const [r, rate] of rates.entries()) {
        const measured: Measured[] = [];
        // The diverse stream: each rate gets slices of its own (the same at both sizes), so no run replays another's.
        const slices = shape.diverse ? diverseSlices(r) : null;
        for (const i of order) {
          log(`${shape.id} at ${sizes[i]} things${rates.length > 1 || rate ? `, ${rate} writes/s` : ''}`);
          const writer = rate ? startWriteLoad(datasets[i]!.url, rate) : null;
          try {
            if (slices) {
              const load = { connections: options.connections, duration: options.duration, warmup: 0 };
              const warm = options.warmup > 0 ? await measure(servers[i]!, slices.warm.map((x) => toRequest(x.params)), { ...load, duration: options.warmup }) : null;
              measured[i] = await measure(servers[i]!, slices.measured.map((x) => toRequest(x.params)), load);
              // What was sent, in the order bench/load.ts sends it (seed 1: measure's default).
              const seen = seenFilters[i]!;
              for (const x of loadOrder(slices.warm, 1).slice(0, warm?.requests ?? 0)) seen.add(x.filter);
              const sent = loadOrder(slices.measured, 1).slice(0, measured[i]!.requests);
              let repeatedFilter = 0;
              for (const x of sent) {
                if (seen.has(x.filter)) repeatedFilter++;
                else seen.add(x.filter);
              }
              diverseRuns[r]![i] = { sent: sent.length, distinctFilters: new Set(sent.map((x) => x.filter)).size, repeatedFilter };
              if (sent.length >= slices.measured.length) log(`  the run sent its whole slice (${sent.length}): requests repeated`);
            } else {
              measured[i] = await measure(servers[i]!, shape.variants.map(toRequest), { connections: options.connections, duration: options.duration, warmup: options.warmup });
            }
          } finally {
            const writes = await writer?.stop();
            if (writer) log(`  ${writes} thing writes in the background`);
          }
          const m = measured[i]!;
          if (m.errors || m.timeouts || m.non2xx) log(`  ${m.errors} errors, ${m.timeouts} timeouts, ${m.non2xx} non-2xx ${JSON.stringify(m.errorBodies)}`);
        }
        results[r]![shape.id] = measured;
      }
    }
  } finally {
    for (const s of servers) await s.stop();
  }

  log('EXPLAIN ANALYZE of each shape');
  const explains: Record<string, ExplainedStatement[][]> = {};
  const probes: (ProbeResult | null)[] = [];
  for (const [i, d] of datasets.entries()) {
    const orm = await MikroORM.init(ormOptions({ databaseUrl: d.url, poolMax: 2 }));
    try {
      for (const shape of list.filter((x) => !x.diverse)) (explains[shape.id] ??= [])[i] = await explainShape(orm, d.url, shape.variants[0]!);
      const probeSize = options.probe ?? 100;
      if (list.some((x) => x.diverse) && probeSize > 0) {
        log(`count probe at ${sizes[i]} things (${probeSize} diverse filters)`);
        probes[i] = await countProbe(orm, d.url, diverseSlices(0).measured, probeSize);
      } else probes[i] = null;
    } finally {
      await orm.close();
    }
  }

  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
  const [s, l] = sizes.map(label) as [string, string];
  // A run in which no request completed (each took longer than the run) has no latency: shown as "-", and missed.
  const p = (m: Measured, key: 'p50' | 'p99') => (m.requests > 0 ? m[key] : Number.NaN);
  const out: string[] = [];
  const m = machine();
  out.push('');
  out.push(`Search bench (issues 6 and 19), ${new Date().toISOString()}: ${m.nproc} cores, ${m.cpu}, ${m.ramGiB} GiB, Node ${m.node}`);
  out.push(`datasets: ${datasets.map((d) => `${d.name} (${d.reused ? 'reused' : `seeded in ${d.seedSeconds} s`})`).join(', ')}`);
  out.push(`GET /rest/v2/things/search, autocannon ${options.connections} connections x ${options.duration} s after ${options.warmup} s warm-up per shape and size`);
  const tables: { rate: number; rows: string[][] }[] = [];
  for (const [r, rate] of rates.entries()) {
    const rows = list.map((shape) => {
      const [a, b] = results[r]![shape.id]!;
      const ratio = p(b!, 'p50') / p(a!, 'p50');
      return [shape.id, fmt(p(a!, 'p50')), fmt(p(a!, 'p99')), fmt(a!.rps, 0), fmt(p(b!, 'p50')), fmt(p(b!, 'p99')), fmt(b!.rps, 0), fmt(ratio, 2), fmt(p(b!, 'p99') / p(a!, 'p99'), 2), ratio < 3 ? 'yes' : 'NO'];
    });
    tables.push({ rate, rows });
    out.push('');
    if (rates.length > 1 || rate) out.push(`With ${rate} thing writes/s in the background:`);
    out.push(table(['shape', `${s} p50`, `${s} p99`, `${s} req/s`, `${l} p50`, `${l} p99`, `${l} req/s`, `p50 ${l}/${s}`, `p99 ${l}/${s}`, '< 3'], rows));
  }
  if (rates.length > 1) {
    out.push('');
    out.push(`p99 under writes ÷ p99 with ${rates[0]} writes/s (issue 19: <= 3 at ${l}):`);
    out.push(
      table(
        ['shape', ...rates.slice(1).flatMap((rate) => [`${s} @${rate}/s`, `${l} @${rate}/s`]), '<= 3'],
        list.map((shape) => {
          const ratios = rates.slice(1).flatMap((_, k) => [0, 1].map((i) => p(results[k + 1]![shape.id]![i]!, 'p99') / p(results[0]![shape.id]![i]!, 'p99')));
          const large = ratios.filter((_, k) => k % 2 === 1);
          return [shape.id, ...ratios.map((x) => fmt(x, 2)), large.every((x) => x <= 3) ? 'yes' : 'NO'];
        }),
      ),
    );
  }
  if (list.some((x) => x.diverse)) {
    out.push('');
    out.push('Diverse stream: requests sent, distinct filters among them, and the share whose filter that server had been asked before (the most the per-filter caches could serve):');
    for (const [r, rate] of rates.entries()) {
      for (const [i] of sizes.entries()) {
        const run = diverseRuns[r]![i];
        if (run) out.push(`  ${label(sizes[i]!)}, ${rate} writes/s: ${run.sent} sent, ${run.distinctFilters} distinct filters, ${fmt((100 * run.repeatedFilter) / Math.max(1, run.sent), 0)}% repeated`);
      }
    }
    for (const [i, probe] of probes.entries()) {
      if (!probe) continue;
      out.push('');
      out.push(...probeReport(label(sizes[i]!), probe));
    }
  }
  out.push('');
  out.push(`EXPLAIN ANALYZE at ${l} (per statement: execution ms, plan nodes; indexes used):`);
  for (const shape of list.filter((x) => !x.diverse)) {
    out.push(`  ${shape.id} (${toQueryString(shape.variants[0]!)}):`);
    for (const st of explains[shape.id]![1] ?? []) {
      out.push(`    ${fmt(st.ms, 2).padStart(8)} ms  indexes: ${st.indexes.join(', ') || '(none)'}`);
      out.push(`                 ${st.nodes.join(' > ').slice(0, 220)}`);
    }
  }
  const met = tables[0]!.rows.filter((r) => r[9] === 'yes').length;
  out.push('');
  out.push(`${l}/${s} p50 latency ratio < 3 (${rates[0]} writes/s): ${met} of ${tables[0]!.rows.length} shapes; total time ${fmt((Date.now() - started) / 1000, 0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
  const file = writeResults('search', {
    kind: 'search',
    date: new Date().toISOString(),
    machine: m,
    datasets: datasets.map((d) => ({ ...d, url: undefined })),
    options: { ...options, writeRates: rates },
    shapes: list.map((shape) => ({
      id: shape.id,
      what: shape.what,
      variants: shape.diverse ? `diverseRequests(seed ${DIVERSE_SEED}): ${DIVERSE_WARM} warm-up + ${DIVERSE_MEASURED} measured per write rate` : shape.variants,
      byWriteRate: Object.fromEntries(
        rates.map((rate, r) => [
          rate,
          {
            results: Object.fromEntries(sizes.map((size, i) => [size, results[r]![shape.id]![i]])),
            p50Ratio: results[r]![shape.id]![1]!.requests > 0 ? results[r]![shape.id]![1]!.p50 / results[r]![shape.id]![0]!.p50 : null,
            p99Ratio: results[r]![shape.id]![1]!.requests > 0 ? results[r]![shape.id]![1]!.p99 / results[r]![shape.id]![0]!.p99 : null,
            ...(shape.diverse ? { sent: Object.fromEntries(sizes.map((size, i) => [size, diverseRuns[r]![i]])) } : {}),
          },
        ]),
      ),
      ...(shape.diverse ? { probe: Object.fromEntries(sizes.map((size, i) => [size, probes[i]])) } : { explain: Object.fromEntries(sizes.map((size, i) => [size, explains[shape.id]![i]])) }),
    })),
    seconds: Math.round((Date.now() - started) / 1000),
  });
  process.stdout.write(`results written to ${file}\n`);
}
