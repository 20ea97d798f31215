import type { GraphQLContext } from './context.js';
import { badUserInput } from './errors.js';
import type { ListWindow } from '../src/services/listings.js';

/**
 * Relay cursor connections (https://relay.dev/graphql/connections.htm) over keyset pagination.
 *
 * A cursor is opaque to clients: base64url of JSON `{"v":1,"k":[...]}` holding the item's sort key (for the
 * created-at lists `[createdAt ISO string, id]`). A page after a cursor starts right after that key, whether or not
 * the item still exists, so rows inserted or deleted elsewhere never make a page repeat or skip an item that existed
 * at both reads. Search is ordered by computed scores, so its cursors hold a position instead (`{"v":1,"o":n}`,
 * see `offsetConnection`).
 *
 * `first` and `last` are 0 to the page-size cap (MAX_PAGE_SIZE, 100 by default), 30 items when neither is given;
 * anything else, a malformed cursor, or `first` together with `last`, is BAD_USER_INPUT naming the argument.
 * `offset` (list connections only) skips items from the start: it serves page-numbered clients such as the REST v2
 * facade, which reads page N directly; it goes with `first` only.
 */

export const DEFAULT_PAGE_SIZE = 30;
const CURSOR_VERSION = 1;

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  offset?: number | null;
}

/** How a list's items are keyed and read. */
export interface KeysetList<Item, Key> {
  keyOf(item: Item): Key;
  /** The key as JSON values, for the cursor. */
  encodeKey(key: Key): unknown[];
  /** The key back from a cursor's JSON values; null when they are not a key of this list. */
  decodeKey(raw: unknown[]): Key | null;
  /** The items of the window, in display order. */
  load(window: ListWindow<Key>): Promise<Item[]>;
  count(): Promise<number>;
}

export interface Edge<Item> {
  cursor: string;
  node: Item;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface ConnectionResult<Item> {
  edges: Edge<Item>[];
  pageInfo: PageInfo;
  totalCount: () => Promise<number>;
}

function encodeCursor(payload: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, ...payload })).toString('base64url');
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,1024}$/;

function decodeCursor(cursor: string, argument: string): Record<string, unknown> {
  let payload: unknown;
  try {
    if (!CURSOR_TEXT.test(cursor)) throw new Error('not base64url');
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badUserInput(`Invalid cursor in "${argument}": use a cursor this connection returned`, argument);
  }
  if (typeof payload !== 'object' || payload === null || (payload as { v?: unknown }).v !== CURSOR_VERSION) {
    throw badUserInput(`Invalid cursor in "${argument}": use a cursor this connection returned`, argument);
  }
  return payload as Record<string, unknown>;
}

function keyFromCursor<Key>(list: KeysetList<unknown, Key>, cursor: string | null | undefined, argument: string): Key | null {
  if (cursor == null) return null;
  const payload = decodeCursor(cursor, argument);
  const key = Array.isArray(payload.k) ? list.decodeKey(payload.k) : null;
  if (key === null) throw badUserInput(`Invalid cursor in "${argument}": it belongs to another connection`, argument);
  return key;
}

function checkSize(value: number | null | undefined, argument: string, max: number): void {
  if (value == null) return;
  if (value < 0 || value > max) throw badUserInput(`"${argument}" must be between 0 and ${max}`, argument, { max });
}

function checkArgs(args: ConnectionArgs, ctx: GraphQLContext): void {
  checkSize(args.first, 'first', ctx.config.maxPageSize);
  checkSize(args.last, 'last', ctx.config.maxPageSize);
  if (args.first != null && args.last != null) throw badUserInput('Pass "first" or "last", not both', 'last');
  if (args.offset != null) {
    if (args.offset < 0) throw badUserInput('"offset" must be 0 or more', 'offset');
    if (args.last != null || args.after != null || args.before != null) {
      throw badUserInput('"offset" goes with "first" only, not with cursors or "last"', 'offset');
    }
  }
}

/** A value computed on first use: pageInfo flags that need a query are only read when selected. */
function lazy<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

/**
 * An edge whose cursor is encoded when a client selects it (the REST facade never does: most pages need none). A
 * class, so that an edge is one small object: an object literal with a getter made a new getter function and a cursor
 * closure for every item of every page.
 */
class LazyEdge<Item> implements Edge<Item> {
  #encoded: string | undefined;

  constructor(
    readonly node: Item,
    private readonly position: number,
    private readonly encode: (node: Item, position: number) => string,
  ) {}

  get cursor(): string {
    return (this.#encoded ??= this.encode(this.node, this.position));
  }
}

function pageInfo(flags: { hasNextPage: () => boolean | Promise<boolean>; hasPreviousPage: () => boolean | Promise<boolean> }, edges: Edge<unknown>[]): PageInfo {
  const info = {} as PageInfo;
  Object.defineProperty(info, 'startCursor', { enumerable: true, get: () => edges[0]?.cursor ?? null });
  Object.defineProperty(info, 'endCursor', { enumerable: true, get: () => edges.at(-1)?.cursor ?? null });
  // Getters: graphql-js awaits a promise a field resolves to, so a flag that needs a query costs it only when asked.
  Object.defineProperty(info, 'hasNextPage', { enumerable: true, get: flags.hasNextPage });
  Object.defineProperty(info, 'hasPreviousPage', { enumerable: true, get: flags.hasPreviousPage });
  return info;
}

/**
 * The window `keysetConnection` reads first for these arguments when they ask for a plain forward page (`first` and
 * `offset`, no cursor, no `last`): one item more than the page, which tells whether a next page exists. Null for any
 * other page, and for arguments `keysetConnection` rejects or that read nothing (`first: 0`). A parent field uses it
 * to read the page in its own statement (schema/prefetched-things.ts).
 */
export function forwardPageWindow(args: ConnectionArgs, maxPageSize: number): { limit: number; offset: number } | null {
  if (args.last != null || args.after != null || args.before != null) return null;
  const size = args.first ?? DEFAULT_PAGE_SIZE;
  const offset = args.offset ?? 0;
  if (!Number.isSafeInteger(size) || size < 1 || size > maxPageSize || !Number.isSafeInteger(offset) || offset < 0) return null;
  return { limit: size + 1, offset };
}

/** Resolves a connection field over a keyset list. */
export async function keysetConnection<Item, Key>(args: ConnectionArgs, ctx: GraphQLContext, list: KeysetList<Item, Key>): Promise<ConnectionResult<Item>> {
  checkArgs(args, ctx);
  const after = keyFromCursor(list, args.after, 'after');
  const before = keyFromCursor(list, args.before, 'before');
  const fromEnd = args.last != null;
  const size = args.first ?? args.last ?? DEFAULT_PAGE_SIZE;
  const offset = args.offset ?? 0;
  const rows = size === 0 ? [] : await list.load({ limit: size + 1, offset, after, before, fromEnd });
  const more = rows.length > size;
  const items = more ? (fromEnd ? rows.slice(rows.length - size) : rows.slice(0, size)) : rows;
  const encode = (node: Item) => encodeCursor({ k: list.encodeKey(list.keyOf(node)) });
  const edges = items.map((node, i) => new LazyEdge(node, i, encode));
  const firstKey = items.length > 0 ? list.keyOf(items[0]!) : null;
  const lastKey = items.length > 0 ? list.keyOf(items.at(-1)!) : null;
  // The flag of the direction read comes with the page; the other one is a one-row query, run only when selected.
  const anyBefore = lazy(async () => {
    if (firstKey === null && before === null && after === null) return false;
    return (await list.load({ limit: 1, before: firstKey ?? after ?? before, fromEnd: true })).length > 0;
  });
  const anyAfter = lazy(async () => {
    if (lastKey === null && before === null && after === null) return false;
    return (await list.load({ limit: 1, after: lastKey ?? before ?? after })).length > 0;
  });
  return {
    edges,
    pageInfo: pageInfo(
      {
        hasNextPage: () => (fromEnd ? (before === null ? false : anyAfter()) : more),
        hasPreviousPage: () => (fromEnd ? more : offset > 0 || (after === null ? false : anyBefore())),
      },
      edges,
    ),
    totalCount: lazy(() => list.count()),
  };
}

/** How a list read by position is read (search, whose order is computed). */
export interface OffsetList<Item> {
  load(window: { offset: number; limit: number }): Promise<readonly Item[]>;
  count(): Promise<number>;
}

function positionFromCursor(cursor: string | null | undefined, argument: string): number | null {
  if (cursor == null) return null;
  const payload = decodeCursor(cursor, argument);
  const position = payload.o;
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
    throw badUserInput(`Invalid cursor in "${argument}": it belongs to another connection`, argument);
  }
  return position;
}

/**
 * Resolves a connection over a list read by position. Its cursors hold the position (opaque, versioned like the
 * keyset ones), so a page after a cursor shifts when items ahead of it enter or leave the list between two reads.
 */
export async function offsetConnection<Item>(args: ConnectionArgs, ctx: GraphQLContext, list: OffsetList<Item>): Promise<ConnectionResult<Item>> {
  checkArgs(args, ctx);
  const totalCount = lazy(() => list.count());
  const after = positionFromCursor(args.after, 'after');
  const before = positionFromCursor(args.before, 'before');
  let start = args.offset ?? (after === null ? 0 : after + 1);
  let end = before ?? Number.POSITIVE_INFINITY;
  if (args.last != null) {
    if (end === Number.POSITIVE_INFINITY) end = await totalCount();
    start = Math.max(start, end - args.last);
  } else {
    end = Math.min(end, start + (args.first ?? DEFAULT_PAGE_SIZE));
  }
  const limit = Math.max(0, end - start);
  // One more than asked tells whether a next page exists.
  const rows = limit === 0 ? [] : await list.load({ offset: start, limit: limit + 1 });
  const items = rows.slice(0, limit);
  const encode = (_node: Item, i: number) => encodeCursor({ o: start + i });
  const edges = items.map((node, i) => new LazyEdge(node, i, encode));
  return {
    edges,
    pageInfo: pageInfo({ hasNextPage: () => rows.length > limit || (before !== null && end < before), hasPreviousPage: () => start > 0 }, edges),
    totalCount,
  };
}
