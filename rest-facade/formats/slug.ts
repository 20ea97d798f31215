/** Longest slug kept in an activity object URL (D82). */
export const MAX_SLUG_LENGTH = 80;

/**
 * D82: the slug of a thing title. Apostrophes (`'` and `’`) are removed, every run of
 * characters other than ASCII letters and digits becomes one `-`, `-` is trimmed from
 * both ends, and the result is cut to 80 characters with a trailing `-` trimmed again.
 * May return the empty string.
 */
export function slugify(title: string): string {
  const slug = trimDashes(title.replace(/['\u2019]/g, '').replace(/[^A-Za-z0-9]+/g, '-'));
  return trimDashes(slug.slice(0, MAX_SLUG_LENGTH));
}

/**
 * `-` trimmed from both ends by index, not with `/^-+|-+$/g` or `/-+$/`: an unanchored `-+$` retries at every `-` of a
 * run that does not end the string, which is quadratic in the run's length (issue 14).
 */
function trimDashes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 0x2d) start++;
  while (end > start && text.charCodeAt(end - 1) === 0x2d) end--;
  return text.slice(start, end);
}

/** §13.4: `{site}/thing/{id}/{slug}`, or `{site}/thing/{id}` when the slug is empty. */
export function thingObjectUrl(siteUrl: string, id: number, title: string): string {
  const base = `${siteUrl}/thing/${id}`;
  const slug = slugify(title);
  return slug === '' ? base : `${base}/${slug}`;
}
