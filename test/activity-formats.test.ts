import { describe, expect, it } from 'vitest';
import { xml2js, type Element } from 'xml-js';
import { MAX_SLUG_LENGTH, slugify, thingObjectUrl } from '../rest-facade/formats/slug.js';
import {
  activityItem,
  activityStreamsDocument,
  formatPublished,
  profileUrl,
  type ActivityContext,
} from '../rest-facade/formats/activity-streams.js';
import {
  ACTIVITY_NS,
  ATOM_NS,
  atomFeedHeader,
  atomSelfHref,
  escapeXmlAttribute,
  renderAtom,
  type AtomFeed,
} from '../rest-facade/formats/atom.js';

const CTX: ActivityContext = { siteUrl: 'https://flattr.com', tagAuthority: 'flattr.com' };
const API = 'https://api.flattr.com/rest/v2';

const ACOUSTID = activityItem(
  { verb: 'like', published: '2012-01-04T09:07:12+00:00', actor: { username: 'pthulin' }, thing: { id: 459394, title: 'Acoustid' } },
  CTX,
);

const PTHULIN_FEED: AtomFeed = {
  id: `${API}/users/pthulin/activities`,
  title: 'Activities by pthulin',
  author: { username: 'pthulin' },
  siteUrl: 'https://flattr.com',
  now: new Date('2013-05-06T07:08:09.999Z'),
};

// Characters XML 1.0 does not allow (§5.7), plus lone surrogates.
const INVALID_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A strict well-formedness check for the subset of XML the Atom renderer emits
 * (declaration, elements, attributes, character data). xml-js's sax parser is
 * lenient (it accepts `<` in attribute values, `]]>` in text, duplicate attributes
 * and control characters), so parsing alone would not prove much. Returns the first
 * problem found, or null.
 */
function wellFormednessError(xml: string): string | null {
  const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!xml.startsWith(DECL)) return 'missing declaration';
  if (INVALID_XML_CHAR.test(xml)) return 'character not allowed in XML 1.0';
  const NAME = '[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?';
  const REF = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/y;
  const TAG = new RegExp(`<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"]*")*)\\s*(/?)>`, 'y');
  const ATTR = new RegExp(`(${NAME})\\s*=\\s*"([^"]*)"`, 'g');
  const checkChars = (s: string, where: string): string | null => {
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '<') return `'<' in ${where}`;
      if (s[i] === '&') {
        REF.lastIndex = i;
        if (!REF.test(s)) return `bare '&' in ${where}`;
      }
    }
    return null;
  };
  const stack: { name: string; prefixes: Set<string> }[] = [];
  let pos = DECL.length;
  let roots = 0;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const text = xml.slice(pos, lt < 0 ? xml.length : lt);
    if (text !== '') {
      if (stack.length === 0 && text.trim() !== '') return 'text outside the root element';
      if (text.includes(']]>')) return "']]>' in text";
      const bad = checkChars(text, 'text');
      if (bad) return bad;
    }
    if (lt < 0) break;
    TAG.lastIndex = lt;
    const m = TAG.exec(xml);
    if (!m) return `malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 40))}`;
    const [whole, closing, name, attrs, selfClosing] = m;
    if (closing) {
      if (attrs || selfClosing) return 'malformed end tag';
      const open = stack.pop();
      if (!open || open.name !== name) return `mismatched </${name}>`;
    } else {
      if (stack.length === 0 && ++roots > 1) return 'more than one root element';
      const prefixes = new Set(stack.length ? stack[stack.length - 1].prefixes : ['xml']);
      const seen = new Set<string>();
      for (const [, attrName, value] of attrs.matchAll(ATTR)) {
        if (seen.has(attrName)) return `duplicate attribute ${attrName}`;
        seen.add(attrName);
        const bad = checkChars(value, `attribute ${attrName}`);
        if (bad) return bad;
        if (attrName.startsWith('xmlns:')) prefixes.add(attrName.slice(6));
      }
      for (const qname of [name, ...[...seen].filter((a) => a.includes(':') && !a.startsWith('xmlns:'))]) {
        const prefix = qname.includes(':') ? qname.split(':')[0] : null;
        if (prefix && !prefixes.has(prefix)) return `undeclared prefix ${prefix}`;
      }
      if (!selfClosing) stack.push({ name, prefixes });
    }
    pos = lt + whole.length;
  }
  if (stack.length) return `unclosed <${stack[stack.length - 1].name}>`;
  if (roots !== 1) return 'no root element';
  return null;
}

function parseXml(xml: string): Element {
  return (xml2js(xml, { compact: false }) as Element).elements![0];
}

function children(el: Element, name: string): Element[] {
  return (el.elements ?? []).filter((c) => c.type === 'element' && c.name === name);
}

function child(el: Element, name: string): Element {
  const found = children(el, name);
  expect(found, `<${el.name}> has one <${name}>`).toHaveLength(1);
  return found[0];
}

/** Text content as a parser sees it (entities decoded). */
function textOf(el: Element): string {
  return (el.elements ?? []).map((c) => (c.type === 'text' ? String(c.text) : '')).join('');
}

describe('slug (D82)', () => {
  it('gives the spec example', () => {
    expect(slugify("API v2 beta out - what's changed?")).toBe('API-v2-beta-out-whats-changed');
    expect(slugify('Acoustid')).toBe('Acoustid');
  });

  it('removes curly apostrophes as well as straight ones', () => {
    expect(slugify('Don\u2019t stop – it’s “fine”')).toBe('Dont-stop-its-fine');
    expect(slugify("rock 'n' roll")).toBe('rock-n-roll');
  });

  it('turns every run of non-ASCII-alphanumerics into one dash and trims the ends', () => {
    expect(slugify('  --Hello,   World!!--  ')).toBe('Hello-World');
    expect(slugify('Café Ünïcode 日本 42')).toBe('Caf-n-code-42');
    expect(slugify('a_b.c/d')).toBe('a-b-c-d');
  });

  it('is empty for a title without letters or digits, and the URL then has no slug', () => {
    expect(slugify('!!!')).toBe('');
    expect(slugify("''")).toBe('');
    expect(slugify('')).toBe('');
    expect(thingObjectUrl('https://flattr.com', 7, '!!!')).toBe('https://flattr.com/thing/7');
  });

  it('cuts to 80 characters and trims a dash left at the cut', () => {
    expect(MAX_SLUG_LENGTH).toBe(80);
    const a79 = 'a'.repeat(79);
    // Character 80 of the slug is the dash between the words.
    expect(slugify(`${a79} bbb`)).toBe(a79);
    expect(slugify('x'.repeat(200))).toBe('x'.repeat(80));
    expect(slugify(`${'a'.repeat(78)}  b c`)).toBe(`${'a'.repeat(78)}-b`);
    expect(slugify(`${'a'.repeat(78)}  b c`)).toHaveLength(80);
  });

  it('builds the object URL', () => {
    expect(thingObjectUrl('https://flattr.com', 459394, 'Acoustid')).toBe('https://flattr.com/thing/459394/Acoustid');
    expect(thingObjectUrl('http://localhost:8080', 423405, "API v2 beta out - what's changed?")).toBe(
      'http://localhost:8080/thing/423405/API-v2-beta-out-whats-changed',
    );
  });
});

describe('formatPublished (D79)', () => {
  it('writes UTC with +00:00 and no fraction', () => {
    expect(formatPublished('2012-01-04T09:07:12+00:00')).toBe('2012-01-04T09:07:12+00:00');
    expect(formatPublished('2012-01-04T09:07:12Z')).toBe('2012-01-04T09:07:12+00:00');
    expect(formatPublished('2012-01-04T10:07:12+01:00')).toBe('2012-01-04T09:07:12+00:00');
    expect(formatPublished('2012-01-04T09:07:12.999Z')).toBe('2012-01-04T09:07:12+00:00');
    expect(formatPublished('2012-01-04T09:07:12.123456-05:30')).toBe('2012-01-04T14:37:12+00:00');
    expect(formatPublished('2012-01-04 09:07:12+00')).toBe('2012-01-04T09:07:12+00:00');
    expect(formatPublished(new Date(Date.UTC(2012, 0, 4, 9, 7, 12, 500)))).toBe('2012-01-04T09:07:12+00:00');
  });

  it('refuses instants without a zone and nonsense', () => {
    expect(() => formatPublished('2012-01-04T09:07:12')).toThrow(RangeError);
    expect(() => formatPublished('yesterday')).toThrow(RangeError);
    expect(() => formatPublished('2012-13-45T09:07:12Z')).toThrow(RangeError);
    expect(() => formatPublished(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('Activity Streams items (§13.1)', () => {
  it('produces the documented example exactly, keys in order', () => {
    const json = JSON.stringify(activityStreamsDocument([ACOUSTID]));
    expect(json).toBe(
      '{"items":[{"published":"2012-01-04T09:07:12+00:00","title":"pthulin flattred \\"Acoustid\\"",' +
        '"actor":{"displayName":"pthulin","url":"https://flattr.com/profile/pthulin","objectType":"person"},' +
        '"verb":"like",' +
        '"object":{"displayName":"Acoustid","url":"https://flattr.com/thing/459394/Acoustid","objectType":"bookmark"},' +
        '"id":"tag:flattr.com,2012-01-04:pthulin/flattr/459394"}]}',
    );
    expect(Object.keys(ACOUSTID)).toEqual(['published', 'title', 'actor', 'verb', 'object', 'id']);
    expect(Object.keys(activityStreamsDocument([]))).toEqual(['items']);
  });

  it('builds post items (D80), lower-cases only the URL and uses the UTC date in the id', () => {
    const item = activityItem(
      {
        verb: 'post',
        published: '2012-01-04T23:30:00-02:00',
        actor: { username: 'Melpomene' },
        thing: { id: 423405, title: "API v2 beta out - what's changed?" },
      },
      { siteUrl: 'http://localhost:8080', tagAuthority: 'example.org' },
    );
    expect(item).toEqual({
      published: '2012-01-05T01:30:00+00:00',
      title: `Melpomene submitted "API v2 beta out - what's changed?"`,
      actor: { displayName: 'Melpomene', url: 'http://localhost:8080/profile/melpomene', objectType: 'person' },
      verb: 'post',
      object: {
        displayName: "API v2 beta out - what's changed?",
        url: 'http://localhost:8080/thing/423405/API-v2-beta-out-whats-changed',
        objectType: 'bookmark',
      },
      id: 'tag:example.org,2012-01-05:Melpomene/thing/423405',
    });
  });

  it('percent-encodes the username as a path segment and leaves titles raw', () => {
    expect(profileUrl('https://flattr.com', 'waha.06x36')).toBe('https://flattr.com/profile/waha.06x36');
    expect(profileUrl('https://flattr.com', 'A b/c?')).toBe('https://flattr.com/profile/a%20b%2Fc%3F');
    const item = activityItem(
      { verb: 'like', published: '2012-01-04T09:07:12Z', actor: { username: 'bob' }, thing: { id: 1, title: '!!!' } },
      CTX,
    );
    expect(item.title).toBe('bob flattred "!!!"');
    expect(item.object).toEqual({ displayName: '!!!', url: 'https://flattr.com/thing/1', objectType: 'bookmark' });
  });
});

describe('Atom feed (§13.2, D81)', () => {
  it('renders a one-entry feed exactly', () => {
    expect(renderAtom(PTHULIN_FEED, [ACOUSTID])).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:activity="http://activitystrea.ms/spec/1.0/">
  <id>https://api.flattr.com/rest/v2/users/pthulin/activities</id>
  <title>Activities by pthulin</title>
  <updated>2012-01-04T09:07:12+00:00</updated>
  <link rel="self" type="application/atom+xml" href="https://api.flattr.com/rest/v2/users/pthulin/activities.atom"/>
  <author>
    <name>pthulin</name>
    <uri>https://flattr.com/profile/pthulin</uri>
  </author>
  <entry>
    <id>tag:flattr.com,2012-01-04:pthulin/flattr/459394</id>
    <title>pthulin flattred "Acoustid"</title>
    <published>2012-01-04T09:07:12+00:00</published>
    <updated>2012-01-04T09:07:12+00:00</updated>
    <link rel="alternate" type="text/html" href="https://flattr.com/thing/459394/Acoustid"/>
    <author>
      <name>pthulin</name>
      <uri>https://flattr.com/profile/pthulin</uri>
      <activity:object-type>http://activitystrea.ms/schema/1.0/person</activity:object-type>
    </author>
    <activity:verb>http://activitystrea.ms/schema/1.0/like</activity:verb>
    <activity:object>
      <id>https://flattr.com/thing/459394/Acoustid</id>
      <title>Acoustid</title>
      <link rel="alternate" type="text/html" href="https://flattr.com/thing/459394/Acoustid"/>
      <activity:object-type>http://activitystrea.ms/schema/1.0/bookmark</activity:object-type>
    </activity:object>
  </entry>
</feed>`,
    );
  });

  it('renders an empty feed exactly, with now as updated', () => {
    const { id, title } = atomFeedHeader(API, { kind: 'activities', username: 'Melpomene', type: 'incoming' });
    const xml = renderAtom(
      { id, title, author: { username: 'Melpomene' }, siteUrl: 'https://flattr.com', now: new Date('2013-05-06T07:08:09.999Z') },
      [],
    );
    expect(xml).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:activity="http://activitystrea.ms/spec/1.0/">
  <id>https://api.flattr.com/rest/v2/users/melpomene/activities?type=incoming</id>
  <title>Activities on things by Melpomene</title>
  <updated>2013-05-06T07:08:09+00:00</updated>
  <link rel="self" type="application/atom+xml" href="https://api.flattr.com/rest/v2/users/melpomene/activities.atom?type=incoming"/>
  <author>
    <name>Melpomene</name>
    <uri>https://flattr.com/profile/melpomene</uri>
  </author>
</feed>`,
    );
    expect(wellFormednessError(xml)).toBeNull();
  });

  it('inserts .atom before any query string in the self link', () => {
    expect(atomSelfHref(`${API}/users/u/activities?type=incoming`)).toBe(`${API}/users/u/activities.atom?type=incoming`);
    expect(atomSelfHref(`${API}/users/u/activities`)).toBe(`${API}/users/u/activities.atom`);
    expect(atomSelfHref(`${API}/things/5/flattrs?a=1?b=2`)).toBe(`${API}/things/5/flattrs.atom?a=1?b=2`);
  });

  it('has the feed ids and titles of the §13.2 table', () => {
    expect(atomFeedHeader(API, { kind: 'activities', username: 'Flattr', type: 'outgoing' })).toEqual({
      id: `${API}/users/flattr/activities`,
      title: 'Activities by Flattr',
    });
    expect(atomFeedHeader(API, { kind: 'user-things', username: 'Flattr' })).toEqual({
      id: `${API}/users/flattr/things`,
      title: 'Things by Flattr',
    });
    expect(atomFeedHeader(API, { kind: 'user-flattrs', username: 'Flattr' })).toEqual({
      id: `${API}/users/flattr/flattrs`,
      title: 'Flattrs by Flattr',
    });
    expect(atomFeedHeader(API, { kind: 'thing-flattrs', thingId: 459394, thingTitle: 'Acoustid' })).toEqual({
      id: `${API}/things/459394/flattrs`,
      title: 'Flattrs on "Acoustid"',
    });
  });

  it('parses back with namespaces, ids, updated and entries in order', () => {
    const post = activityItem(
      { verb: 'post', published: '2011-12-31T22:00:00Z', actor: { username: 'Flattr' }, thing: { id: 42, title: 'Hello' } },
      CTX,
    );
    const xml = renderAtom(PTHULIN_FEED, [ACOUSTID, post]);
    expect(wellFormednessError(xml)).toBeNull();
    const feed = parseXml(xml);
    expect(feed.name).toBe('feed');
    expect(feed.attributes).toEqual({ xmlns: ATOM_NS, 'xmlns:activity': ACTIVITY_NS });
    expect(ATOM_NS).toBe('http://www.w3.org/2005/Atom');
    expect(ACTIVITY_NS).toBe('http://activitystrea.ms/spec/1.0/');
    expect((feed.elements ?? []).map((e) => e.name)).toEqual(['id', 'title', 'updated', 'link', 'author', 'entry', 'entry']);
    expect(textOf(child(feed, 'id'))).toBe(PTHULIN_FEED.id);
    expect(textOf(child(feed, 'updated'))).toBe('2012-01-04T09:07:12+00:00');
    expect(child(feed, 'link').attributes).toEqual({
      rel: 'self',
      type: 'application/atom+xml',
      href: `${PTHULIN_FEED.id}.atom`,
    });

    const entries = children(feed, 'entry');
    expect(entries.map((e) => textOf(child(e, 'id')))).toEqual([
      'tag:flattr.com,2012-01-04:pthulin/flattr/459394',
      'tag:flattr.com,2011-12-31:Flattr/thing/42',
    ]);
    const second = entries[1];
    expect((second.elements ?? []).map((e) => e.name)).toEqual([
      'id',
      'title',
      'published',
      'updated',
      'link',
      'author',
      'activity:verb',
      'activity:object',
    ]);
    expect(textOf(child(second, 'title'))).toBe('Flattr submitted "Hello"');
    expect(textOf(child(second, 'published'))).toBe('2011-12-31T22:00:00+00:00');
    expect(textOf(child(second, 'updated'))).toBe('2011-12-31T22:00:00+00:00');
    expect(textOf(child(second, 'activity:verb'))).toBe('http://activitystrea.ms/schema/1.0/post');
    const author = child(second, 'author');
    expect(textOf(child(author, 'name'))).toBe('Flattr');
    expect(textOf(child(author, 'uri'))).toBe('https://flattr.com/profile/flattr');
    expect(textOf(child(author, 'activity:object-type'))).toBe('http://activitystrea.ms/schema/1.0/person');
    const object = child(second, 'activity:object');
    expect(textOf(child(object, 'id'))).toBe('https://flattr.com/thing/42/Hello');
    expect(textOf(child(object, 'title'))).toBe('Hello');
    expect(child(object, 'link').attributes).toEqual({ rel: 'alternate', type: 'text/html', href: 'https://flattr.com/thing/42/Hello' });
    expect(textOf(child(object, 'activity:object-type'))).toBe('http://activitystrea.ms/schema/1.0/bookmark');
  });

  it('stays well-formed with hostile text and attribute values', () => {
    const hostile = 'a <script>alert("x")</script> &amp; & &lt; "q" \'s ]]> \u0000\u0001\u000B\u001F\uFFFE\uD800 tab\tnl\n end';
    const expectedText = hostile.replace(new RegExp(INVALID_XML_CHAR.source, 'g'), '');
    const item = activityItem(
      { verb: 'like', published: '2012-01-04T09:07:12Z', actor: { username: 'x&amp;<y>"' }, thing: { id: 9, title: hostile } },
      CTX,
    );
    const feedId = `${API}/things/9/flattrs?x="><a b='c'>&amp;&<\u0001`;
    const xml = renderAtom(
      { id: feedId, title: `Flattrs on "${hostile}"`, author: { username: 'x&amp;<y>"' }, siteUrl: 'https://flattr.com', now: new Date(0) },
      [item],
    );
    expect(wellFormednessError(xml)).toBeNull();
    expect(xml).not.toContain('<script>');
    expect(xml).not.toContain(']]>');

    const feed = parseXml(xml);
    expect(textOf(child(feed, 'title'))).toBe(`Flattrs on "${expectedText}"`);
    expect(textOf(child(feed, 'id'))).toBe(feedId.replace('\u0001', ''));
    expect(child(feed, 'link').attributes?.href).toBe(atomSelfHref(feedId).replace('\u0001', ''));
    expect(textOf(child(child(feed, 'author'), 'name'))).toBe('x&amp;<y>"');
    const entry = child(feed, 'entry');
    expect(textOf(child(entry, 'title'))).toBe(`x&amp;<y>" flattred "${expectedText}"`);
    expect(textOf(child(entry, 'id'))).toBe('tag:flattr.com,2012-01-04:x&amp;<y>"/flattr/9');
    const object = child(entry, 'activity:object');
    expect(textOf(child(object, 'title'))).toBe(expectedText);
    expect(child(object, 'link').attributes?.href).toBe(item.object.url);
  });

  it('keeps tab and newline in attribute values as character references', () => {
    expect(escapeXmlAttribute('a\tb\nc\rd"e&f<g>h\u0001')).toBe('a&#9;b&#10;c&#13;d&quot;e&amp;f&lt;g&gt;h');
  });

  it('has a well-formedness checker that catches what the lenient parser accepts', () => {
    const decl = '<?xml version="1.0" encoding="UTF-8"?>\n';
    expect(wellFormednessError(`${decl}<a href="x"/>`)).toBeNull();
    for (const bad of [
      '<a href="<"/>',
      '<a>]]></a>',
      '<a>&amp</a>',
      '<a b="1" b="2"/>',
      '<a>\u0001</a>',
      '<a>x<b></a>',
      '<x:a/>',
      '<a/><b/>',
      '<a href="a"b"/>',
    ]) {
      expect(wellFormednessError(`${decl}${bad}`), bad).not.toBeNull();
    }
  });
});
