import { js2xml, type Element } from 'xml-js';
import { formatPublished, profileUrl, type ActivityItem } from './activity-streams.js';
import { escapeXmlText } from './xml.js';

export const ATOM_NS = 'http://www.w3.org/2005/Atom';
export const ACTIVITY_NS = 'http://activitystrea.ms/spec/1.0/';
export const ACTIVITY_SCHEMA = 'http://activitystrea.ms/schema/1.0/';

export interface AtomFeed {
  /** Feed id (13.2 table), e.g. `{api}/users/{lc(u)}/activities?type=incoming`. */
  id: string;
  title: string;
  /** The feed user: the user of the path, or the thing's owner for E14. */
  author: { username: string };
  /** `SITE_URL`, without a trailing slash. */
  siteUrl: string;
  /** The injected clock; gives `updated` when there are no entries. */
  now: Date;
}

export type AtomFeedSource =
  | { kind: 'activities'; username: string; type: 'outgoing' | 'incoming' }
  | { kind: 'user-things'; username: string }
  | { kind: 'user-flattrs'; username: string }
  | { kind: 'thing-flattrs'; thingId: number; thingTitle: string };

/**
 * Feed id and title from the §13.2 table. `apiUrl` is `API_URL` without a trailing
 * slash; `/user/...` endpoints pass the token owner's username.
 */
export function atomFeedHeader(apiUrl: string, source: AtomFeedSource): { id: string; title: string } {
  switch (source.kind) {
    case 'activities': {
      const base = `${userBase(apiUrl, source.username)}/activities`;
      return source.type === 'incoming'
        ? { id: `${base}?type=incoming`, title: `Activities on things by ${source.username}` }
        : { id: base, title: `Activities by ${source.username}` };
    }
    case 'user-things':
      return { id: `${userBase(apiUrl, source.username)}/things`, title: `Things by ${source.username}` };
    case 'user-flattrs':
      return { id: `${userBase(apiUrl, source.username)}/flattrs`, title: `Flattrs by ${source.username}` };
    case 'thing-flattrs':
      return { id: `${apiUrl}/things/${source.thingId}/flattrs`, title: `Flattrs on "${source.thingTitle}"` };
  }
}

function userBase(apiUrl: string, username: string): string {
  return `${apiUrl}/users/${encodeURIComponent(username.toLowerCase())}`;
}

/** Self link: the feed id with `.atom` inserted before any query string (or fragment). */
export function atomSelfHref(feedId: string): string {
  const cut = feedId.search(/[?#]/);
  return cut < 0 ? `${feedId}.atom` : `${feedId.slice(0, cut)}.atom${feedId.slice(cut)}`;
}

// Same set as §5.7 (xml.ts), for attribute values.
const INVALID_XML_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Attribute value escaping: §5.7 text escaping plus `"`. Tab, newline and carriage
 * return become character references, since a parser would otherwise normalise them
 * to spaces.
 */
export function escapeXmlAttribute(value: string): string {
  return value
    .replace(INVALID_XML_CHARS, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** The §13.2 (D81) Atom document for `items`, which are already in feed order. */
export function renderAtom(feed: AtomFeed, items: ActivityItem[]): string {
  const updated = items.length > 0 ? items[0].published : formatPublished(feed.now);
  const root: Element = element(
    'feed',
    [
      text('id', feed.id),
      text('title', feed.title),
      text('updated', updated),
      link('self', 'application/atom+xml', atomSelfHref(feed.id)),
      element('author', [
        text('name', feed.author.username),
        text('uri', profileUrl(feed.siteUrl, feed.author.username)),
      ]),
      ...items.map(entry),
    ],
    { xmlns: ATOM_NS, 'xmlns:activity': ACTIVITY_NS },
  );
  const document: Element = {
    declaration: { attributes: { version: '1.0', encoding: 'UTF-8' } },
    elements: [root],
  };
  return js2xml(document, {
    spaces: 2,
    // Only `link` is an empty element; a text element whose text is empty keeps its tag pair.
    fullTagEmptyElementFn: (name) => name !== 'link',
    // xml-js leaves `<`, `>` and `&` alone in attributes (it only replaces `"`), so the
    // values are escaped here; they then contain no `"` for it to touch.
    attributesFn: (attributes) =>
      Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, escapeXmlAttribute(String(v))])),
    // xml-js un-escapes `&amp;` before escaping (see xml.ts), so the raw text is escaped
    // here. For a text node xml-js passes the enclosing element, whose only child it is.
    textFn: (_escaped, _name, parent) => escapeXmlText(String((parent as Element).elements?.[0]?.text ?? '')),
  });
}

function entry(item: ActivityItem): Element {
  return element('entry', [
    text('id', item.id),
    text('title', item.title),
    text('published', item.published),
    text('updated', item.published),
    link('alternate', 'text/html', item.object.url),
    element('author', [
      text('name', item.actor.displayName),
      text('uri', item.actor.url),
      text('activity:object-type', `${ACTIVITY_SCHEMA}${item.actor.objectType}`),
    ]),
    text('activity:verb', `${ACTIVITY_SCHEMA}${item.verb}`),
    element('activity:object', [
      text('id', item.object.url),
      text('title', item.object.displayName),
      link('alternate', 'text/html', item.object.url),
      text('activity:object-type', `${ACTIVITY_SCHEMA}${item.object.objectType}`),
    ]),
  ]);
}

function element(name: string, elements: Element[], attributes?: Record<string, string>): Element {
  const result: Element = { type: 'element', name, elements };
  if (attributes) result.attributes = attributes;
  return result;
}

function text(name: string, value: string): Element {
  return { type: 'element', name, elements: [{ type: 'text', text: value }] };
}

function link(rel: string, type: string, href: string): Element {
  return { type: 'element', name: 'link', attributes: { rel, type, href } };
}
