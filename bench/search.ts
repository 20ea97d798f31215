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
import { vocabulary, VOCABULARY_SEED, WORD_COUNT } from './seed-scale.js';
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
  ];
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

export async function runSearchBench(options: SearchBenchOptions): Promise<void> {
  const started = Date.now();
  const sizes = [options.small, options.large];
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
  const results: Record<string, Measured[]> = {};
  try {
    for (const d of datasets) servers.push(await startOurServer({ databaseUrl: d.url, port: await freePort() }));
    for (const shape of list) {
      const requests: LoadRequest[] = shape.variants.map((params) => ({ method: 'GET', path: `/rest/v2/things/search?${toQueryString(params)}` }));
      for (const server of servers) {
        const check = await fetch(server.baseUrl + requests[0]!.path);
        const text = await check.text();
        if (check.status !== 200) throw new Error(`${shape.id}: ${check.status} ${text.slice(0, 300)}`);
      }
      results[shape.id] = [];
      // Alternate which size goes first.
      const order = list.indexOf(shape) % 2 === 0 ? [0, 1] : [1, 0];
      const measured: Measured[] = [];
      for (const i of order) {
        log(`${shape.id} at ${sizes[i]} things`);
        const writer = options.writeRate ? startWriteLoad(datasets[i]!.url, options.writeRate) : null;
        try {
          measured[i] = await measure(servers[i]!, requests, { connections: options.connections, duration: options.duration, warmup: options.warmup });
        } finally {
          const writes = await writer?.stop();
          if (writer) log(`  ${writes} thing writes in the background`);
        }
      }
      results[shape.id] = measured;
    }
  } finally {
    for (const s of servers) await s.stop();
  }

  log('EXPLAIN ANALYZE of each shape');
  const explains: Record<string, ExplainedStatement[][]> = {};
  for (const [i, d] of datasets.entries()) {
    const orm = await MikroORM.init(ormOptions({ databaseUrl: d.url, poolMax: 2 }));
    try {
      for (const shape of list) (explains[shape.id] ??= [])[i] = await explainShape(orm, d.url, shape.variants[0]!);
    } finally {
      await orm.close();
    }
  }

  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
  const [s, l] = sizes.map(label) as [string, string];
  // A run in which no request completed (each took longer than the run) has no latency: shown as "-", and missed.
  const p = (m: Measured, key: 'p50' | 'p99') => (m.requests > 0 ? m[key] : Number.NaN);
  const rows = list.map((shape) => {
    const [a, b] = results[shape.id]!;
    const ratio = p(b!, 'p50') / p(a!, 'p50');
    return [shape.id, fmt(p(a!, 'p50')), fmt(p(a!, 'p99')), fmt(a!.rps, 0), fmt(p(b!, 'p50')), fmt(p(b!, 'p99')), fmt(b!.rps, 0), fmt(ratio, 2), fmt(p(b!, 'p99') / p(a!, 'p99'), 2), ratio < 3 ? 'yes' : 'NO'];
  });
  const out: string[] = [];
  const m = machine();
  out.push('');
  out.push(`Search bench (issue 6), ${new Date().toISOString()}: ${m.nproc} cores, ${m.cpu}, ${m.ramGiB} GiB, Node ${m.node}`);
  out.push(`datasets: ${datasets.map((d) => `${d.name} (${d.reused ? 'reused' : `seeded in ${d.seedSeconds} s`})`).join(', ')}`);
  out.push(`GET /rest/v2/things/search, autocannon ${options.connections} connections x ${options.duration} s after ${options.warmup} s warm-up per shape and size`);
  out.push('');
  out.push(
    table(
      ['shape', `${s} p50`, `${s} p99`, `${s} req/s`, `${l} p50`, `${l} p99`, `${l} req/s`, `p50 ${l}/${s}`, `p99 ${l}/${s}`, '< 3'],
      rows,
    ),
  );
  out.push('');
  out.push(`EXPLAIN ANALYZE at ${l} (per statement: execution ms, plan nodes; indexes used):`);
  for (const shape of list) {
    out.push(`  ${shape.id} (${toQueryString(shape.variants[0]!)}):`);
    for (const st of explains[shape.id]![1] ?? []) {
      out.push(`    ${fmt(st.ms, 2).padStart(8)} ms  indexes: ${st.indexes.join(', ') || '(none)'}`);
      out.push(`                 ${st.nodes.join(' > ').slice(0, 220)}`);
    }
  }
  const met = rows.filter((r) => r[9] === 'yes').length;
  out.push('');
  out.push(`${l}/${s} p50 latency ratio < 3: ${met} of ${rows.length} shapes; total time ${fmt((Date.now() - started) / 1000, 0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
  const file = writeResults('search', {
    kind: 'search',
    date: new Date().toISOString(),
    machine: m,
    datasets: datasets.map((d) => ({ ...d, url: undefined })),
    options,
    shapes: list.map((shape) => ({
      id: shape.id,
      what: shape.what,
      variants: shape.variants,
      results: Object.fromEntries(sizes.map((size, i) => [size, results[shape.id]![i]])),
      p50Ratio: results[shape.id]![1]!.requests > 0 ? results[shape.id]![1]!.p50 / results[shape.id]![0]!.p50 : null,
      explain: Object.fromEntries(sizes.map((size, i) => [size, explains[shape.id]![i]])),
    })),
    seconds: Math.round((Date.now() - started) / 1000),
  });
  process.stdout.write(`results written to ${file}\n`);
}
