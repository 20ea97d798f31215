/** Longest slug kept in an activity object URL (D82). */
export const MAX_SLUG_LENGTH = 80;

/**
 * D82: the slug of a thing title. Apostrophes (`'` and `’`) are removed, every run of
 * characters other than ASCII letters and digits becomes one `-`, `-` is trimmed from
 * both ends, and the result is cut to 80 characters with a trailing `-` trimmed again.
 * May return the empty string.
 */
export function slugify(title: string): string {
  const slug = title
    .replace(/['\u2019]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, MAX_SLUG_LENGTH).replace(/-+$/, '');
}

/** §13.4: `{site}/thing/{id}/{slug}`, or `{site}/thing/{id}` when the slug is empty. */
export function thingObjectUrl(siteUrl: string, id: number, title: string): string {
  const base = `${siteUrl}/thing/${id}`;
  const slug = slugify(title);
  return slug === '' ? base : `${base}/${slug}`;
}
