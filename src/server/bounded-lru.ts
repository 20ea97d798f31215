/**
 * A least-recently-used map bounded by its number of entries and by the characters they hold (`charsOf`), so that a
 * cache of client-supplied text cannot grow with what clients send. One entry larger than the whole budget is not
 * kept. Used for the APQ store (persisted-operations.ts) and the fast path's known documents (graphql-known-documents.ts).
 */
export class CharBoundedLru<K, V> {
  private readonly entries = new Map<K, V>();
  private chars = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxChars: number,
    private readonly charsOf: (key: K, value: V) => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** The value without touching the order. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    const chars = this.charsOf(key, value);
    if (chars > this.maxChars) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.chars -= this.charsOf(key, old);
    }
    this.entries.set(key, value);
    this.chars += chars;
    // Map order is use order: the least recently used go first.
    for (const [oldestKey, oldestValue] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(oldestKey);
      this.chars -= this.charsOf(oldestKey, oldestValue);
    }
  }
}
