/**
 * Windows over lists ordered by (created_at desc, id desc), as src/services/listings.ts asks for them: keyset bounds
 * (`after`, `before`: the sort keys of items, which need not exist any more), an `offset` for page numbers, and
 * `fromEnd` for the items closest to `before` (or to the end). Each list's statement puts these conditions on its own
 * `(created_at, id)` index.
 */
export interface CreatedWindow {
  limit: number;
  offset?: number;
  after?: { createdAt: Date; id: number } | null;
  before?: { createdAt: Date; id: number } | null;
  fromEnd?: boolean;
}

/** What picks a window's statement text: which bounds it has and its direction. */
export interface CreatedWindowShape {
  after: boolean;
  before: boolean;
  ascending: boolean;
}

export function shapeOf(window: CreatedWindow): CreatedWindowShape {
  return { after: Boolean(window.after), before: Boolean(window.before), ascending: window.fromEnd === true };
}

/** `1010`-like key of a shape, for statement names. */
export const shapeKey = (shape: CreatedWindowShape) => `${+shape.after}${+shape.before}${+shape.ascending}`;

/**
 * The bound conditions on `alias`'s (created_at, id), as row comparisons, numbering their parameters from
 * `firstParameter` (time, then id, for each bound present), and the ORDER BY of the window's direction.
 */
export function createdWindowSql(alias: string, shape: CreatedWindowShape, firstParameter: number): { bounds: string[]; orderBy: string } {
  const bounds: string[] = [];
  let next = firstParameter;
  if (shape.after) bounds.push(`(${alias}.created_at, ${alias}.id) < ($${next++}::timestamptz, $${next++}::int)`);
  if (shape.before) bounds.push(`(${alias}.created_at, ${alias}.id) > ($${next++}::timestamptz, $${next++}::int)`);
  const direction = shape.ascending ? 'asc' : 'desc';
  return { bounds, orderBy: `${alias}.created_at ${direction}, ${alias}.id ${direction}` };
}

/** The bound parameters, in the order createdWindowSql numbers them. */
export function createdWindowValues(window: CreatedWindow): unknown[] {
  const values: unknown[] = [];
  if (window.after) values.push(window.after.createdAt.toISOString(), window.after.id);
  if (window.before) values.push(window.before.createdAt.toISOString(), window.before.id);
  return values;
}

/** Rows read from the end (`fromEnd`) come back in display order, newest first; any list's window. */
export function inDisplayOrder<T>(rows: T[], window: { fromEnd?: boolean }): T[] {
  return window.fromEnd ? rows.reverse() : rows;
}
