import type { EntityManager } from '@mikro-orm/postgresql';
import { databaseKey } from '../stats.js';
import { query, sql, type Sql } from './sql.js';

/**
 * `total_items` of a search (§10.5) is the exact number of matches, and counting a frequent term or tag, or
 * every visible thing, reads a share of the table that grows with it. The answer only changes when a thing a
 * filter can see changes, which `search_generation` records (Migration20261129050000SearchCounts). So this
 * process keeps each count with the generation it was read at, in the same statement (one snapshot), and
 * answers later searches with the same filter from it while the generation is unchanged: one primary-key read
 * instead of the count. Exact, never stale; the first search of a filter after a change pays the count.
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
      if (current && current.generation === hit.generation) {
        this.entries.delete(key);
        this.entries.set(key, hit);
        return hit.total;
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

  private async countAndKeep(em: EntityManager, where: Sql, key: string, maxEntries: number): Promise<{ total: number; shareable: boolean }> {
    const [row] = await query<{ total: number; generation: string | null; clean: boolean }>(
      em,
      sql`select count(*)::int as total, (select generation::text from search_generation where id = 1) as generation,
        txid_current_if_assigned() is null as clean from things t where ${where}`,
    );
    const { total, generation, clean } = row!;
    this.entries.delete(key);
    if (clean && generation !== null) {
      this.entries.set(key, { generation, total });
      if (this.entries.size > maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
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
