import type { EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '../listings.js';
import { databaseKey } from '../stats.js';
import { query, sql, type Sql } from './sql.js';

/**
 * The `relevance` order with query terms (§10.4): score desc, then flattrs desc, id desc. The score of a thing
 * depends only on its title, description, url and tags, so it changes only when `search_generation` moves
 * (Migration20261129050000SearchCounts); the tie-breaker, flattrs, changes with every flattr.
 *
 * Computing the order directly scores every match (a frequent term matches a third of the things: seconds at a
 * million). Instead this process keeps, per filter and generation, the matches grouped by score ("levels"):
 * how many things each level holds and, for levels of at most `maxIdsPerLevel` things, their ids. A page is then
 * read level by level from the highest score, each level in live (flattrs, id) order:
 *
 * - a small level: its ids, ordered by the things' current flattrs (a primary-key lookup each);
 * - a large level: the (flattrs, id) index walked from the top, keeping the matches of that score, in batches
 *   (a large level is at least `maxIdsPerLevel` matches, so a batch finds some of them early).
 *
 * Exact while the generation is unchanged (membership and scores cannot change without moving it); the first
 * search of a filter after a change pays the full scoring once. Levels read inside a transaction that wrote are
 * not kept. Bounded: least recently used filters are dropped beyond `maxIds` stored ids in all.
 */

interface Level {
  score: number;
  size: number;
  /** The level's thing ids, or null for a level larger than maxIdsPerLevel. */
  ids: Int32Array | null;
}

interface Entry {
  generation: string;
  levels: Level[];
  storedIds: number;
}

export interface RelevanceQuery {
  /** The filters over `things t` (the search's WHERE). */
  where: Sql;
  /** The score expression over `things t` and the lowered fields `l`. */
  score: Sql;
  /** The FROM addition that defines `l`. */
  lowerFields: Sql;
  /** The tie-break order (flattrs desc, id desc). */
  byFlattrs: Sql;
}

export class RelevanceLevelCache {
  private readonly entries = new Map<string, Entry>();
  /** Scorings running now, so that concurrent first searches of a filter wait for one instead of each scoring. */
  private readonly running = new Map<string, Promise<{ levels: Level[]; shareable: boolean }>>();
  private storedIds = 0;

  constructor(
    private readonly maxIds = 2_000_000,
    readonly maxIdsPerLevel = 10_000,
    /** Rows read per step of a large level's index walk. */
    private readonly walkBatch = 500,
  ) {}

  async page(em: EntityManager, q: RelevanceQuery, page: Page): Promise<number[]> {
    const levels = await this.levels(em, q);
    const result: number[] = [];
    let skip = page.offset;
    for (const level of levels) {
      if (result.length >= page.limit) break;
      if (skip >= level.size) {
        skip -= level.size;
        continue;
      }
      const want = page.limit - result.length;
      result.push(...(level.ids ? await smallLevelPage(em, q, level.ids, skip, want) : await walkLevel(em, q, level.score, skip, want, this.walkBatch)));
      skip = 0;
    }
    return result;
  }

  clear(): void {
    this.entries.clear();
    this.storedIds = 0;
  }

  private async levels(em: EntityManager, q: RelevanceQuery): Promise<Level[]> {
    const key = `${databaseKey(em)}\u0000${q.where.text}\u0000${q.score.text}\u0000${JSON.stringify([...q.where.values, ...q.score.values])}`;
    const hit = this.entries.get(key);
    if (hit) {
      const [current] = await query<{ generation: string }>(em, sql`select generation::text from search_generation where id = 1`);
      if (current?.generation === hit.generation) {
        this.entries.delete(key);
        this.entries.set(key, hit);
        return hit.levels;
      }
      this.drop(key);
    }
    const running = this.running.get(key);
    if (running) {
      const shared = await running.catch(() => null);
      if (shared?.shareable) return shared.levels;
    }
    const scoring = this.score(em, q, key);
    this.running.set(key, scoring);
    try {
      return (await scoring).levels;
    } finally {
      if (this.running.get(key) === scoring) this.running.delete(key);
    }
  }

  private async score(em: EntityManager, q: RelevanceQuery, key: string): Promise<{ levels: Level[]; shareable: boolean }> {
    const rows = await query<{ score: number; size: number; ids: number[] | null; generation: string | null; clean: boolean }>(
      em,
      sql`select s.score, count(*)::int as size,
          case when count(*) <= ${this.maxIdsPerLevel} then array_agg(s.id) end as ids,
          (select generation::text from search_generation where id = 1) as generation,
          txid_current_if_assigned() is null as clean
        from (select t.id, (${q.score})::int as score from things t ${q.lowerFields} where ${q.where}) s
        group by s.score order by s.score desc`,
    );
    const levels = rows.map((r) => ({ score: r.score, size: r.size, ids: r.ids ? Int32Array.from(r.ids) : null }));
    const first = rows[0];
    // A scoring inside a transaction that wrote may include its uncommitted things: used by that search only.
    const shareable = first !== undefined && first.clean;
    // No match at all: nothing to read a generation from, and nothing worth keeping.
    if (first && first.clean && first.generation !== null) {
      const storedIds = levels.reduce((n, level) => n + (level.ids?.length ?? 0), 0);
      if (storedIds <= this.maxIds) {
        this.entries.set(key, { generation: first.generation, levels, storedIds });
        this.storedIds += storedIds;
        while (this.storedIds > this.maxIds) this.drop(this.entries.keys().next().value!);
      }
    }
    return { levels, shareable };
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.storedIds -= entry.storedIds;
  }
}

/** A small level's things in live (flattrs, id) order. The filter is applied again: a change committed since the levels were read cannot slip in. */
async function smallLevelPage(em: EntityManager, q: RelevanceQuery, ids: Int32Array, offset: number, limit: number): Promise<number[]> {
  const rows = await query<{ id: number }>(
    em,
    sql`select t.id from things t where t.id = any(${`{${ids.join(',')}}`}::int[]) and ${q.where}
      order by ${q.byFlattrs} offset ${offset} limit ${limit}`,
  );
  return rows.map((r) => r.id);
}

/** A large level: the matches in (flattrs, id) order from the index, in batches, keeping those of this score. */
async function walkLevel(em: EntityManager, q: RelevanceQuery, score: number, offset: number, limit: number, batch: number): Promise<number[]> {
  const result: number[] = [];
  let skip = offset;
  let after: { flattrs: number; id: number } | null = null;
  for (;;) {
    const resume: Sql = after ? sql`and (t.flattrs_count, t.id) < (${after.flattrs}, ${after.id})` : sql``;
    const rows: { id: number; flattrs: number; score: number }[] = await query(
      em,
      sql`select t.id, t.flattrs_count as flattrs, (${q.score})::int as score from things t ${q.lowerFields}
        where ${q.where} ${resume} order by ${q.byFlattrs} limit ${batch}`,
    );
    for (const row of rows) {
      if (row.score !== score) continue;
      if (skip > 0) skip--;
      else if (result.push(row.id) >= limit) return result;
    }
    if (rows.length < batch) return result;
    const last = rows[rows.length - 1]!;
    after = { flattrs: last.flattrs, id: last.id };
  }
}

const caches = new Map<number, RelevanceLevelCache>();

/** The process's cache holding at most `maxIds` ids (SEARCH_RELEVANCE_CACHE_IDS), or null when that is 0. */
export function relevanceLevelCache(maxIds: number): RelevanceLevelCache | null {
  if (maxIds <= 0) return null;
  let cache = caches.get(maxIds);
  if (!cache) caches.set(maxIds, (cache = new RelevanceLevelCache(maxIds)));
  return cache;
}

/** Empties every cache (tests). */
export function clearRelevanceLevelCaches(): void {
  for (const cache of caches.values()) cache.clear();
}
