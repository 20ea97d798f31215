import type { EntityManager } from '@mikro-orm/postgresql';
import { databaseKey } from '../stats.js';
import { query, sql, type Sql } from './sql.js';
import { changesSince } from './changes.js';
import { searchCacheOutcomes } from './cache-outcomes.js';

/**
 * `total_items` of a search (§10.5) is the exact number of matches, and counting a frequent term or tag, or
 * every visible thing, reads a share of the table that grows with it. The answer only changes when a thing a
 * filter can see changes, which `search_generation` records (Migration20261129050000SearchCounts). So this
 * process keeps each count with the generation it was read at, in the same statement (one snapshot), and
 * answers later searches with the same filter from it while the generation is unchanged: one primary-key read
 * instead of the count. When the generation has moved, the count is corrected from the things changed since
 * (changes.ts: each one's row then and now, tested against the filter), so writes elsewhere do not make a popular
 * filter count again; only when the change log cannot say (too many changes, a username change) is it recounted.
 * Exact, never stale.
 *
 * Counts read inside a transaction that has written (so may see its own uncommitted things) are not kept.
 * Bounded: least recently used entries are dropped beyond `maxEntries`.
 */
export class SearchCountCache {
  private readonly entries = new Map<string, { generation: string; total: number }>();
  /** Counts running now: concurrent first searches of a filter wait for one (when it may be shared). */
  private readonly running = new Map<string, Promise<{ total: number; shareable: boolean }>>();

  async count(em: EntityManager, where: Sql, maxEntries: number): Promise<number> {
    if (maxEntries <= 0) return countNow(em, where);
    const key = `${databaseKey(em)}\u0000${where.text}\u0000${JSON.stringify(where.values)}`;
    const hit = this.entries.get(key);
    if (hit) {
      const [current] = await query<{ generation: string }>(em, sql`select generation::text from search_generation where id = 1`);
      if (current && current.generation === hit.generation) return this.keep(key, hit, maxEntries).total;
      const since = await changesSince(em, hit.generation, { where });
      if (since) {
        searchCacheOutcomes.corrected++;
        const total = since.changes.reduce((n, change) => n + (change.after !== null ? 1 : 0) - (change.before !== null ? 1 : 0), hit.total);
        return this.keep(key, { generation: since.generation, total }, maxEntries).total;
      }
    }
    const running = this.running.get(key);
    if (running) {
      const shared = await running.catch(() => null);
      if (shared?.shareable) return shared.total;
    }
    const counting = this.countAndKeep(em, where, key, maxEntries);
    this.running.set(key, counting);
    try {
      return (await counting).total;
    } finally {
      if (this.running.get(key) === counting) this.running.delete(key);
    }
  }

  /** Stores `entry` as the most recently used. */
  private keep(key: string, entry: { generation: string; total: number }, maxEntries: number): { generation: string; total: number } {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  private async countAndKeep(em: EntityManager, where: Sql, key: string, maxEntries: number): Promise<{ total: number; shareable: boolean }> {
    const [row] = await query<{ total: number; generation: string | null; clean: boolean }>(
      em,
      sql`select count(*)::int as total, (select generation::text from search_generation where id = 1) as generation,
        txid_current_if_assigned() is null as clean from things t where ${where}`,
    );
    const { total, generation, clean } = row!;
    searchCacheOutcomes.counted++;
    this.entries.delete(key);
    if (clean && generation !== null) this.keep(key, { generation, total }, maxEntries);
    return { total, shareable: clean };
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

async function countNow(em: EntityManager, where: Sql): Promise<number> {
  const [row] = await query<{ total: number }>(em, sql`select count(*)::int as total from things t where ${where}`);
  return row!.total;
}

export const searchCountCache = new SearchCountCache();
