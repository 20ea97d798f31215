import { DomainError } from './domain-error.js';
import {
  isAbsoluteHttpUrl,
  lenientCategory,
  lenientDescription,
  lenientHidden,
  lenientLanguage,
  lenientTitle,
  lenientTags,
} from './thing-rules.js';

/**
 * Auto-submit URLs (spec §11): recognition (§11.2) and parsing (§11.3). Pure functions, shared by
 * flattr-by-URL (E16), thing creation (§12.2: a thing's url is never an auto-submit URL) and lookup (E7).
 */

const FLATTR_AUTHORITIES = ['flattr.com', 'www.flattr.com'];
const AUTO_SUBMIT_PATHS = ['/submit/auto', '/submit/auto/'];

function toUrl(url: string | URL): URL | null {
  if (url instanceof URL) return url;
  try {
    return new URL(url.trim());
  } catch {
    return null;
  }
}

/**
 * The authority (host, plus port when it is not the scheme's default) as the WHATWG URL parser
 * normalises it: host lower-cased, default port dropped, user info left out.
 */
function authorityOf(url: URL): string {
  return url.host.toLowerCase();
}

/**
 * Spec §11.2 (D69): http/https; authority flattr.com, www.flattr.com or the authority of `siteUrl`
 * (host and port, the default port dropped); path exactly `/submit/auto` or `/submit/auto/`.
 */
export function isAutoSubmitUrl(url: string | URL, siteUrl?: string): boolean {
  const parsed = toUrl(url);
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return false;
  if (!AUTO_SUBMIT_PATHS.includes(parsed.pathname)) return false;
  const authorities = [...FLATTR_AUTHORITIES];
  const site = siteUrl === undefined ? null : toUrl(siteUrl);
  if (site) authorities.push(authorityOf(site));
  return authorities.includes(authorityOf(parsed));
}

/** What an auto-submit URL says (§11.3), with the metadata already made lenient (D70). */
export interface AutoSubmitRequest {
  /** The inner url, trimmed: the thing's url. */
  url: string;
  /** Username of the owner (trimmed); null when absent or empty. */
  userId: string | null;
  /** The partner-only `owner` identifier (trimmed); null when absent or empty. Not supported (D68). */
  owner: string | null;
  /** Metadata for a new thing. */
  title: string;
  description: string;
  category: string;
  language: string;
  tags: string[];
  hidden: boolean;
}

/**
 * Spec §11.3. The query is decoded as in §4.1 (form decoding, first occurrence of a name wins). An inner
 * `url` that is missing or not an absolute http/https URL of at most 2048 characters is `400 validation`
 * "Invalid url". Assumes `isAutoSubmitUrl` was checked by the caller.
 */
export function parseAutoSubmitUrl(url: string | URL): AutoSubmitRequest {
  const parsed = toUrl(url);
  const params = new URLSearchParams(parsed?.search ?? '');
  const value = (name: string): string | undefined => params.get(name) ?? undefined;
  const trimmedOrNull = (name: string): string | null => {
    const text = value(name)?.trim() ?? '';
    return text === '' ? null : text;
  };

  const inner = (value('url') ?? '').trim();
  if (!isAbsoluteHttpUrl(inner)) throw new DomainError('validation', 'Invalid url');
  return {
    url: inner,
    userId: trimmedOrNull('user_id'),
    owner: trimmedOrNull('owner'),
    title: lenientTitle(value('title'), inner),
    description: lenientDescription(value('description')),
    category: lenientCategory(value('category')),
    language: lenientLanguage(value('language')),
    tags: lenientTags(value('tags')),
    hidden: lenientHidden(value('hidden')),
  };
}
