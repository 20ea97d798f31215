import { referenceData } from './reference-data.js';
import { DomainError } from './domain-error.js';
import { lineBreakTagsToNewlines, stripTags } from './html-text.js';

/** Spec §12.2 validation texts and normalisations, shared by every way a thing is created or updated. */

const TITLE_MAX = 100;
const DESCRIPTION_MAX = 1000;
const URL_MAX = 2048;
/**
 * Longest tag, in code points. §12.2 sets no limit, but a tag is an entry of the GIN indexes on `tags` and
 * `lower_tags`, whose entries cannot exceed 2712 bytes: a longer tag made the insert fail (500). 255 code points are
 * at most 1020 bytes of UTF-8.
 */
export const TAG_MAX = 255;

/** At most this many tags per thing, counted after normalisation; more is `validation` "Too many tags". */
export const TAGS_PER_THING_MAX = 100;

/**
 * A title or description longer than this many times its limit (in UTF-16 code units, before any cleaning) is
 * refused at once with the same answer as one too long after cleaning. Such an input could only clean down to a
 * valid value if nearly all of it were markup, which no real client sends, and refusing it first keeps the work
 * on a hostile megabyte to one length check. The lenient auto-submit variants cut the raw text there instead.
 */
export const RAW_TEXT_FACTOR = 20;
const TITLE_RAW_MAX = TITLE_MAX * RAW_TEXT_FACTOR;
const DESCRIPTION_RAW_MAX = DESCRIPTION_MAX * RAW_TEXT_FACTOR;

/**
 * §12.2 counts the url in characters. The unique btree index on `url` holds at most 2704 bytes per entry, so a url of
 * 2048 characters outside ASCII (up to 8 KB of UTF-8) made the insert fail (500): the limit applies to the UTF-8 bytes
 * too, which for the ASCII urls of real clients is the same number. U+0000 cannot be stored at all.
 */
function urlFits(url: string, maxLength: number): boolean {
  return url.length <= maxLength && Buffer.byteLength(url, 'utf8') <= maxLength && !url.includes('\u0000');
}

/** Whether some thing could be registered under `url` (the url rule's length and bytes); a lookup skips the query when not. */
export function couldBeThingUrl(url: string): boolean {
  return urlFits(url, URL_MAX);
}

function fail(message: string, field: string): never {
  throw new DomainError('validation', message, field);
}

function codePoints(text: string): number {
  return [...text].length;
}

export function normaliseUrl(raw: string | undefined, isAutoSubmitUrl: (url: URL) => boolean = () => false): string {
  const url = (raw ?? '').trim();
  if (url === '' || !urlFits(url, URL_MAX)) fail('Invalid url', 'url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail('Invalid url', 'url');
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') fail('Invalid url', 'url');
  if (isAutoSubmitUrl(parsed)) fail('Invalid url', 'url');
  return url;
}

export function normaliseTitle(raw: string | undefined, url: string): string {
  if ((raw ?? '').length > TITLE_RAW_MAX) fail('Title is too long', 'title');
  const title = stripTags(raw ?? '').trim();
  if (title === '') return [...url].slice(0, TITLE_MAX).join('');
  if (codePoints(title) > TITLE_MAX) fail('Title is too long', 'title');
  return title;
}

export function normaliseDescription(raw: string | undefined): string {
  if ((raw ?? '').length > DESCRIPTION_RAW_MAX) fail('Description is too long', 'description');
  const description = cleanDescription(raw ?? '');
  if (codePoints(description) > DESCRIPTION_MAX) fail('Description is too long', 'description');
  return description;
}

export function normaliseCategory(raw: string | undefined): string {
  if (raw === undefined) return referenceData.defaultCategory;
  if (!referenceData.categories.some((c) => c.id === raw)) fail('Invalid category', 'category');
  return raw;
}

export function normaliseLanguage(raw: string | undefined): string {
  if (raw === undefined) return referenceData.defaultLanguage;
  if (!referenceData.languages.some((l) => l.id === raw)) fail('Invalid language', 'language');
  return raw;
}

/** `<br>` tags become newlines, other tags go, and the result is trimmed. */
function cleanDescription(raw: string): string {
  return stripTags(lineBreakTagsToNewlines(raw)).trim();
}

/**
 * Trimmed, empties dropped, case-insensitive duplicates removed keeping the first spelling; more than
 * TAGS_PER_THING_MAX tags is `validation` "Too many tags", found at the first tag past the cap, so a list of 90,000
 * tags is not read to its end.
 */
export function normaliseTags(raw: string | string[] | undefined): string[] {
  return collectTags(raw, () => fail('Too many tags', 'tags'));
}

/** Each part is cleaned by `clean` only when it is reached, so nothing past the cap is worked on. */
function collectTags(raw: string | string[] | undefined, onTooMany: () => 'stop', clean: (part: string) => string = (part) => part.trim()): string[] {
  if (raw === undefined) return [];
  const parts = typeof raw === 'string' ? raw.split(',') : raw;
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const part of parts) {
    const tag = clean(part);
    const key = tag.toLowerCase();
    if (tag === '' || seen.has(key)) continue;
    if (tags.length === TAGS_PER_THING_MAX && onTooMany() === 'stop') break;
    if (codePoints(tag) > TAG_MAX) fail('Tag is too long', 'tags');
    seen.add(key);
    tags.push(tag);
  }
  return tags;
}

// Lenient variants for auto-submit metadata (spec §11.3, D70): the author of an auto-submit URL is not the
// API caller, so over-long texts are cut and unknown ids replaced by the defaults instead of rejected.

/** §12.2 title cleaning, then cut to 100 code points; an empty result becomes the url (first 100). */
export function lenientTitle(raw: string | undefined, url: string): string {
  const title = stripTags(withoutNul(cutAt(raw ?? '', TITLE_RAW_MAX))).trim();
  return [...(title === '' ? url : title)].slice(0, TITLE_MAX).join('');
}

/** §12.2 description cleaning, then cut to 1000 code points. */
export function lenientDescription(raw: string | undefined): string {
  const description = cleanDescription(withoutNul(cutAt(raw ?? '', DESCRIPTION_RAW_MAX)));
  return [...description].slice(0, DESCRIPTION_MAX).join('');
}

/** Auto-submit tags: §12.2 normalisation of a comma list, each tag cut to TAG_MAX code points, the first TAGS_PER_THING_MAX kept. */
export function lenientTags(raw: string | undefined): string[] {
  return collectTags(withoutNul(raw ?? ''), () => 'stop', (part) => [...part.trim()].slice(0, TAG_MAX).join('').trim());
}

/** The first `max` UTF-16 code units of `text`, one fewer when the cut would split a surrogate pair. */
function cutAt(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** U+0000 cannot be stored in PostgreSQL text; the lenient auto-submit metadata drops it. */
function withoutNul(text: string): string {
  return text.replace(/\u0000/g, '');
}

/** A known category id, or the default (`rest`). */
export function lenientCategory(raw: string | undefined): string {
  return raw !== undefined && referenceData.categories.some((c) => c.id === raw) ? raw : referenceData.defaultCategory;
}

/** A known language id, or the default (`en_GB`). */
export function lenientLanguage(raw: string | undefined): string {
  return raw !== undefined && referenceData.languages.some((l) => l.id === raw) ? raw : referenceData.defaultLanguage;
}

/** Auto-submit `hidden`: true for 1, true, yes, on (any case, trimmed); false for anything else. */
export function lenientHidden(raw: string | undefined): boolean {
  return ['1', 'true', 'yes', 'on'].includes((raw ?? '').trim().toLowerCase());
}

/**
 * An absolute http/https URL with a non-empty host, of at most `maxLength` characters (2048: the url rule
 * of §12.2 and §11.3).
 */
export function isAbsoluteHttpUrl(url: string, maxLength: number = URL_MAX): boolean {
  if (url === '' || !urlFits(url, maxLength)) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}
