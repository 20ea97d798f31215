import { thingObjectUrl } from './slug.js';

export type ActivityVerb = 'like' | 'post';

export interface ActivityInput {
  verb: ActivityVerb;
  /** An ISO 8601 instant carrying `Z` or an offset, or a Date (see {@link formatPublished}). */
  published: string | Date;
  /** The flattring user (`like`) or the thing's owner (`post`), §12.7. */
  actor: { username: string };
  thing: { id: number; title: string };
}

export interface ActivityContext {
  /** `SITE_URL`, without a trailing slash. */
  siteUrl: string;
  /** `TAG_AUTHORITY`. */
  tagAuthority: string;
}

export interface ActivityActor {
  displayName: string;
  url: string;
  objectType: 'person';
}

export interface ActivityObject {
  displayName: string;
  url: string;
  objectType: 'bookmark';
}

/** One §13.1 item; keys are created in this order, so JSON output follows it. */
export interface ActivityItem {
  published: string;
  title: string;
  actor: ActivityActor;
  verb: ActivityVerb;
  object: ActivityObject;
  id: string;
}

export interface ActivityStreamsDocument {
  items: ActivityItem[];
}

// Date and time, then `Z` or a numeric offset (`+01:00`, `+0100`, `+01`). An instant
// without a zone would be read in the server's local time, so it is refused.
const INSTANT = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * D79: `YYYY-MM-DDTHH:MM:SS+00:00` in UTC. Fractional seconds are dropped (truncated).
 * Throws a RangeError for anything that is not an instant with a zone, or whose year
 * does not fit in four digits.
 */
export function formatPublished(value: string | Date): string {
  let ms: number;
  if (value instanceof Date) {
    ms = value.getTime();
  } else {
    if (!INSTANT.test(value)) throw new RangeError(`Not an ISO 8601 instant with a zone: ${JSON.stringify(value)}`);
    ms = Date.parse(value.replace(',', '.'));
  }
  if (!Number.isFinite(ms)) throw new RangeError(`Invalid instant: ${String(value)}`);
  const iso = new Date(ms).toISOString();
  // Years 0000–9999 give `YYYY-MM-DDTHH:MM:SS.sssZ`; others get a sign and six digits.
  if (iso.length !== 24) throw new RangeError(`Year out of range: ${iso}`);
  return `${iso.slice(0, 19)}+00:00`;
}

/** `{site}/profile/{lc(username)}`, the username percent-encoded as a path segment (§1.3). */
export function profileUrl(siteUrl: string, username: string): string {
  return `${siteUrl}/profile/${encodeURIComponent(username.toLowerCase())}`;
}

/** §13.1 item for one derived activity (§12.7). */
export function activityItem(input: ActivityInput, ctx: ActivityContext): ActivityItem {
  const published = formatPublished(input.published);
  const { username } = input.actor;
  const { id, title } = input.thing;
  const action = input.verb === 'like' ? 'flattred' : 'submitted';
  const idKind = input.verb === 'like' ? 'flattr' : 'thing';
  return {
    published,
    title: `${username} ${action} "${title}"`,
    actor: { displayName: username, url: profileUrl(ctx.siteUrl, username), objectType: 'person' },
    verb: input.verb,
    object: { displayName: title, url: thingObjectUrl(ctx.siteUrl, id, title), objectType: 'bookmark' },
    id: `tag:${ctx.tagAuthority},${published.slice(0, 10)}:${username}/${idKind}/${id}`,
  };
}

/** The §13.1 document: exactly one key, `items`. */
export function activityStreamsDocument(items: ActivityItem[]): ActivityStreamsDocument {
  return { items };
}
