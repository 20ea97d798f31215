import type { EntityManager } from '@mikro-orm/postgresql';
import type { Page } from '../listings.js';
import { databaseKey } from '../stats.js';
import { query, sql, type Sql } from './sql.js';
import { changesSince, type ChangesSince } from './changes.js';
import { searchCacheOutcomes } from './cache-outcomes.js';

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
 * Exact while the generation is unchanged (membership and scores cannot change without moving it). When it has
 * moved, the levels are corrected from the things changed since (changes.ts: each one's score then and now, or
 * no match), so writes elsewhere leave a popular filter's levels warm; only when the change log cannot say is the
 * filter scored again. Levels read inside a transaction that wrote are not kept. Bounded: least recently used
 * filters are dropped beyond `maxIds` stored ids in all.
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

  /**
   * The number of matches: the levels' sizes, from the same scoring (or correction) as the pages. A search in this
   * order takes its `total_items` from here instead of a separate count, which at a million things cost as much again.
   */
  async total(em: EntityManager, q: RelevanceQuery): Promise<number> {
    return (await this.levels(em, q)).reduce((n, level) => n + level.size, 0);
  }

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
      const since = await changesSince(em, hit.generation, { where: q.where, score: q.score, lowerFields: q.lowerFields });
      const corrected = since && this.corrected(hit, since);
      this.drop(key);
      if (corrected) {
        searchCacheOutcomes.levelsCorrected++;
        this.store(key, corrected);
        return corrected.levels;
      }
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
    // One row per level, or one row of nulls when nothing matches: the generation comes with the levels either way,
    // so that an empty result is kept (and corrected) like any other.
    const rows = await query<{ score: number | null; size: number; ids: number[] | null; generation: string | null; clean: boolean }>(
      em,
      sql`select level.score, level.size, level.ids, head.generation, head.clean
        from (select (select generation::text from search_generation where id = 1) as generation,
              txid_current_if_assigned() is null as clean) head
        left join (
          select s.score, count(*)::int as size, case when count(*) <= ${this.maxIdsPerLevel} then array_agg(s.id) end as ids
          from (select t.id, (${q.score})::int as score from things t ${q.lowerFields} where ${q.where}) s
          group by s.score
        ) level on true
        order by level.score desc`,
    );
    searchCacheOutcomes.scored++;
    const levels = rows.flatMap((r) => (r.score === null ? [] : [{ score: r.score, size: r.size, ids: r.ids ? Int32Array.from(r.ids) : null }]));
    const { generation, clean } = rows[0]!;
    // A scoring inside a transaction that wrote may include its uncommitted things: used by that search only.
    if (clean && generation !== null) this.store(key, { generation, levels, storedIds: storedIdsOf(levels) });
    return { levels, shareable: clean };
  }

  /** Keeps `entry` as the most recently used, within `maxIds` stored ids. */
  private store(key: string, entry: Entry): void {
    this.drop(key);
    if (entry.storedIds > this.maxIds) return;
    this.entries.set(key, entry);
    this.storedIds += entry.storedIds;
    while (this.storedIds > this.maxIds) this.drop(this.entries.keys().next().value!);
  }

  /**
   * `entry` with `since` applied: each changed thing leaves the level of its old score and joins the level of its
   * new one. New arrays throughout, since pages being read may still hold the old ones. Null when a change does
   * not fit the entry (its old level is missing), which would mean the entry was not exact: the caller scores again.
   */
  private corrected(entry: Entry, since: ChangesSince): Entry | null {
    const levels = new Map(entry.levels.map((level) => [level.score, { ...level }]));
    const leaving = new Map<number, Set<number>>();
    const joining = new Map<number, number[]>();
    for (const change of since.changes) {
      if (change.before !== null) {
        const level = levels.get(change.before);
        if (!level) return null;
        level.size--;
        if (level.ids) leaving.set(level.score, (leaving.get(level.score) ?? new Set()).add(change.id));
      }
      if (change.after !== null) {
        let level = levels.get(change.after);
        if (!level) levels.set(change.after, (level = { score: change.after, size: 0, ids: new Int32Array(0) }));
        level.size++;
        if (level.ids) joining.set(level.score, [...(joining.get(level.score) ?? []), change.id]);
      }
    }
    for (const level of levels.values()) {
      if (!level.ids || (!leaving.has(level.score) && !joining.has(level.score))) continue;
      const gone = leaving.get(level.score);
      const ids = [...(gone ? level.ids.filter((id) => !gone.has(id)) : level.ids), ...(joining.get(level.score) ?? [])];
      level.ids = ids.length <= this.maxIdsPerLevel ? Int32Array.from(ids) : null;
    }
    const kept = [...levels.values()].filter((level) => level.size > 0).sort((a, b) => b.score - a.score);
    return { generation: since.generation, levels: kept, storedIds: storedIdsOf(kept) };
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

const storedIdsOf = (levels: readonly Level[]) => levels.reduce((n, level) => n + (level.ids?.length ?? 0), 0);

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
