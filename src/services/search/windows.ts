/**
 * Sort windows of spec §10.4 (D66). With T = now in unixtime, "flattrs in window W" counts the flattrs with
 * T − W < created_at ≤ T, created_at also in whole seconds: the instants [T − W + 1, T + 1). The trend
 * window (0 ≤ T − created_at < 604800) is the same interval for W = 604800.
 *
 * A window of k days (k = W / 86400: 30, 7 or 1) at an instant T of UTC day D (D·86400 ≤ T < (D+1)·86400) is
 * read in three parts:
 *
 * - the base: the k − 1 whole days [D − k + 1, D − 1], the same for every T of day D, precomputed per thing in
 *   `search_window_base` (window-sort.ts);
 * - the edges: the end of day D − k, [T − W + 1, (D − k + 1)·86400), and the start of day D,
 *   [D·86400, T + 1). Together they span exactly 86 400 s, whatever the window. window-sort.ts reads them from
 *   `flattrs` only for the few candidate things of a page, through `flattrs (thing_id, created_at)`.
 *
 * For k = 1 the base is empty and the edges are the whole window. At the last second of a day
 * (T = (D+1)·86400 − 1) the first edge is empty and the second is all of day D; at midnight (T = D·86400) the
 * second edge is the one second T and the first is all of day D − k but its first second.
 */

export const DAY = 86_400;
export const WINDOW_SECONDS = { flattrs_month: 2_592_000, flattrs_week: 604_800, flattrs_day: 86_400, trend: 604_800 } as const;
export type WindowSort = keyof typeof WINDOW_SECONDS;

/**
 * Days back from D kept in the base: the whole days [D − 29, D − 1] (month) and [D − 6, D − 1] (week), and the
 * upper bounds, which add the partially covered oldest day: [D − 30, D − 1] (month), [D − 7, D − 1] (week, trend).
 */
export const BASE_DAYS = { month: 29, week: 6, monthHi: 30, weekHi: 7 } as const;

export interface WindowPlan {
  /** T: now in unixtime. */
  now: number;
  /** D: the UTC day of T, in days since the epoch. */
  day: number;
  /** r = T − D·86400, seconds since midnight UTC (0 ≤ r < 86400). */
  secondOfDay: number;
  /** k: the window in days. */
  days: number;
  /** Half-open instant ranges [from, to) read from `flattrs`; empty ranges are left out. */
  edges: { from: Date; to: Date }[];
}

/** `YYYY-MM-DD` of a day number (days since 1970-01-01, UTC). */
export const isoDay = (day: number) => new Date(day * DAY * 1000).toISOString().slice(0, 10);
/** The UTC day number of an instant. */
export const dayOf = (now: Date) => Math.floor(Math.floor(now.getTime() / 1000) / DAY);

export function planWindow(now: Date, windowSeconds: number): WindowPlan {
  if (windowSeconds % DAY !== 0 || windowSeconds <= 0) throw new Error(`window of ${windowSeconds} s is not a whole number of days`);
  const t = Math.floor(now.getTime() / 1000);
  const k = windowSeconds / DAY;
  const day = Math.floor(t / DAY);
  const ranges = [
    { from: t - windowSeconds + 1, to: (day - k + 1) * DAY },
    { from: day * DAY, to: t + 1 },
  ];
  if (k === 1) {
    // No whole day in between: the two ranges touch, one range is the whole window.
    ranges.splice(0, 2, { from: t - windowSeconds + 1, to: t + 1 });
  }
  return {
    now: t,
    day,
    secondOfDay: t - day * DAY,
    days: k,
    edges: ranges.filter((r) => r.from < r.to).map((r) => ({ from: new Date(r.from * 1000), to: new Date(r.to * 1000) })),
  };
}
