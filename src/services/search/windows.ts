/**
 * Sort windows of spec §10.4 (D66). With T = now in unixtime, "flattrs in window W" counts the flattrs with
 * T − W < created_at ≤ T, created_at also in whole seconds: the instants [T − W + 1, T + 1). The trend
 * window (0 ≤ T − created_at < 604800) is the same interval for W = 604800.
 *
 * The interval is read in three parts: whole UTC days from `thing_flattr_days` (one row per thing and day),
 * and the partial days at both ends straight from `flattrs` through its `created_at` index. So a query reads
 * at most two days of flattrs, whatever the window, and stays exact to the second.
 */

export const DAY = 86_400;
export const WINDOW_SECONDS = { flattrs_month: 2_592_000, flattrs_week: 604_800, flattrs_day: 86_400, trend: 604_800 } as const;
export type WindowSort = keyof typeof WINDOW_SECONDS;

export interface WindowPlan {
  /** T: now in unixtime. */
  now: number;
  /** Whole days [fromDay, toDay) as `YYYY-MM-DD` (UTC), or null when the window covers no whole day. */
  days: { fromDay: string; toDay: string } | null;
  /** Half-open instant ranges [from, to) read from `flattrs`; empty ranges are left out. */
  ranges: { from: Date; to: Date }[];
}

const isoDay = (unix: number) => new Date(unix * 1000).toISOString().slice(0, 10);
const instant = (unix: number) => new Date(unix * 1000);

export function planWindow(now: Date, windowSeconds: number): WindowPlan {
  const t = Math.floor(now.getTime() / 1000);
  const start = t - windowSeconds + 1;
  const end = t + 1;
  const firstWholeDay = Math.ceil(start / DAY) * DAY;
  const endOfWholeDays = Math.floor(end / DAY) * DAY;
  const ranges: { from: number; to: number }[] = [];
  let days: WindowPlan['days'] = null;
  if (firstWholeDay > endOfWholeDays) {
    // Start and end fall within one day.
    ranges.push({ from: start, to: end });
  } else {
    ranges.push({ from: start, to: firstWholeDay }, { from: endOfWholeDays, to: end });
    if (firstWholeDay < endOfWholeDays) days = { fromDay: isoDay(firstWholeDay), toDay: isoDay(endOfWholeDays) };
  }
  return {
    now: t,
    days,
    ranges: ranges.filter((r) => r.from < r.to).map((r) => ({ from: instant(r.from), to: instant(r.to) })),
  };
}
