import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { xml2js, type Element } from 'xml-js';
import { itemName, renderXml } from '../rest-facade/formats/xml.js';
import { renderYaml } from '../rest-facade/formats/yaml.js';
import { renderTxt } from '../rest-facade/formats/txt.js';
import { isValidJsonpCallback, renderJson, renderJsonp } from '../rest-facade/formats/json.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

const CATEGORIES = [
  { id: 'text', text: 'Text' },
  { id: 'images', text: 'Images' },
];

const THING = {
  type: 'thing',
  resource: 'https://api.flattr.com/rest/v2/things/423405',
  link: 'https://flattr.com/thing/423405',
  id: 423405,
  url: 'http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/',
  flattrs: 8,
  title: "API v2 beta out - what's changed?",
  tags: ['api'],
  owner: {
    type: 'user',
    resource: 'https://api.flattr.com/rest/v2/users/flattr',
    link: 'https://flattr.com/profile/flattr',
    username: 'flattr',
  },
  hidden: false,
};

/** Reads a §5.7 document back into a plain value, so tests can compare parsed trees. */
function readXml(xml: string): { root: string; value: unknown } {
  const doc = xml2js(xml, { compact: false }) as Element;
  const root = doc.elements![0];
  return { root: root.name!, value: fromElement(root) };
}

function fromElement(e: Element): unknown {
  const attrs = e.attributes ?? {};
  const children = e.elements ?? [];
  if (attrs.nil === 'true') return null;
  if (attrs.type === 'array') return children.map(fromElement);
  const text = children.filter((c) => c.type === 'text').map((c) => String(c.text)).join('');
  if (attrs.type === 'integer') return Number(text);
  if (attrs.type === 'boolean') return text === 'true';
  const elements = children.filter((c) => c.type === 'element');
  if (elements.length > 0) return Object.fromEntries(elements.map((c) => [c.name!, fromElement(c)]));
  return text;
}

describe('renderXml (§5.7)', () => {
  it('renders the categories example exactly', () => {
    expect(renderXml('categories', CATEGORIES)).toBe(
      DECL +
        '<categories type="array">\n' +
        '  <category>\n' +
        '    <id>text</id>\n' +
        '    <text>Text</text>\n' +
        '  </category>\n' +
        '  <category>\n' +
        '    <id>images</id>\n' +
        '    <text>Images</text>\n' +
        '  </category>\n' +
        '</categories>',
    );
  });

  it('renders the thing example exactly', () => {
    expect(renderXml('thing', THING)).toBe(
      DECL +
        '<thing>\n' +
        '  <type>thing</type>\n' +
        '  <resource>https://api.flattr.com/rest/v2/things/423405</resource>\n' +
        '  <link>https://flattr.com/thing/423405</link>\n' +
        '  <id type="integer">423405</id>\n' +
        '  <url>http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/</url>\n' +
        '  <flattrs type="integer">8</flattrs>\n' +
        "  <title>API v2 beta out - what's changed?</title>\n" +
        '  <tags type="array">\n' +
        '    <tag>api</tag>\n' +
        '  </tags>\n' +
        '  <owner>\n' +
        '    <type>user</type>\n' +
        '    <resource>https://api.flattr.com/rest/v2/users/flattr</resource>\n' +
        '    <link>https://flattr.com/profile/flattr</link>\n' +
        '    <username>flattr</username>\n' +
        '  </owner>\n' +
        '  <hidden type="boolean">false</hidden>\n' +
        '</thing>',
    );
    expect(readXml(renderXml('thing', THING))).toEqual({ root: 'thing', value: THING });
  });

  it('renders empty values with full tags and null self-closing', () => {
    expect(renderXml('things', [])).toBe(DECL + '<things type="array"></things>');
    expect(renderXml('response', {})).toBe(DECL + '<response></response>');
    expect(renderXml('response', '')).toBe(DECL + '<response></response>');
    expect(renderXml('response', { a: '', b: {}, c: [], d: null, e: true, f: -3 })).toBe(
      DECL +
        '<response>\n' +
        '  <a></a>\n' +
        '  <b></b>\n' +
        '  <c type="array"></c>\n' +
        '  <d nil="true"/>\n' +
        '  <e type="boolean">true</e>\n' +
        '  <f type="integer">-3</f>\n' +
        '</response>',
    );
  });

  it('renders root scalars', () => {
    expect(renderXml('response', 'ok')).toBe(DECL + '<response>ok</response>');
    expect(renderXml('response', 7)).toBe(DECL + '<response type="integer">7</response>');
    expect(renderXml('response', null)).toBe(DECL + '<response nil="true"/>');
  });

  it('nests arrays of objects and arrays of arrays', () => {
    const value = {
      flattrs: [
        { thing: { id: 1, tags: ['a', 'b'] }, owner: { username: 'x' } },
        { thing: { id: 2, tags: [] }, owner: { username: 'y' } },
      ],
      rows: [[1], []],
    };
    const xml = renderXml('response', value);
    expect(xml).toBe(
      DECL +
        '<response>\n' +
        '  <flattrs type="array">\n' +
        '    <flattr>\n' +
        '      <thing>\n' +
        '        <id type="integer">1</id>\n' +
        '        <tags type="array">\n' +
        '          <tag>a</tag>\n' +
        '          <tag>b</tag>\n' +
        '        </tags>\n' +
        '      </thing>\n' +
        '      <owner>\n' +
        '        <username>x</username>\n' +
        '      </owner>\n' +
        '    </flattr>\n' +
        '    <flattr>\n' +
        '      <thing>\n' +
        '        <id type="integer">2</id>\n' +
        '        <tags type="array"></tags>\n' +
        '      </thing>\n' +
        '      <owner>\n' +
        '        <username>y</username>\n' +
        '      </owner>\n' +
        '    </flattr>\n' +
        '  </flattrs>\n' +
        '  <rows type="array">\n' +
        '    <row type="array">\n' +
        '      <item type="integer">1</item>\n' +
        '    </row>\n' +
        '    <row type="array"></row>\n' +
        '  </rows>\n' +
        '</response>',
    );
    expect(readXml(xml).value).toEqual(value);
  });

  it('names array items per itemName', () => {
    expect(
      ['things', 'flattrs', 'subscriptions', 'categories', 'languages', 'tags', 'items', 'users', 'ss', 's', 'x', 'data'].map(
        itemName,
      ),
    ).toEqual(['thing', 'flattr', 'subscription', 'category', 'language', 'tag', 'item', 'user', 's', 'item', 'item', 'item']);
    expect(renderXml('subscriptions', [{ id: 1 }])).toContain('<subscription>');
    expect(renderXml('languages', [{ id: 'sv_SE' }])).toContain('<language>');
  });

  it('escapes markup so text cannot break out', () => {
    const title = `a & b < c > d "q" 'a' ]]> <![CDATA[x]]> &amp; &lt; </title><x/>`;
    const xml = renderXml('thing', { title });
    expect(xml).toBe(
      DECL +
        '<thing>\n' +
        `  <title>a &amp; b &lt; c &gt; d "q" 'a' ]]&gt; &lt;![CDATA[x]]&gt; &amp;amp; &amp;lt; &lt;/title&gt;&lt;x/&gt;</title>\n` +
        '</thing>',
    );
    expect(readXml(xml).value).toEqual({ title });
  });

  it('drops characters XML 1.0 forbids and keeps the rest', () => {
    // Lone surrogates (an unpaired low one first, an unpaired high one last) go too.
    const forbidden = '\uDFFF\u0000\u0001\u0008\u000B\u000C\u000E\u001F\uFFFE\uFFFF\uD800';
    const xml = renderXml('response', { text: `a${forbidden}b\tc\nd` });
    expect(xml).toBe(DECL + '<response>\n  <text>ab\tc\nd</text>\n</response>');
  });

  it('keeps unicode as is', () => {
    const text = 'Ångström – 日本語 😀 \u2028 \u0085';
    const xml = renderXml('response', { text });
    expect(xml).toContain(`<text>${text}</text>`);
    expect(readXml(xml).value).toEqual({ text });
  });

  it('follows JSON for undefined members, toJSON and non-integers', () => {
    const xml = renderXml('response', { a: undefined, b: new Date(0), c: 1.5, d: [undefined] });
    expect(xml).toBe(
      DECL +
        '<response>\n' +
        '  <b>1970-01-01T00:00:00.000Z</b>\n' +
        '  <c>1.5</c>\n' +
        '  <d type="array">\n' +
        '    <item nil="true"/>\n' +
        '  </d>\n' +
        '</response>',
    );
  });

  it('refuses names that are not XML names', () => {
    expect(() => renderXml('response', { 'a b': 1 })).toThrow();
    expect(() => renderXml('response', { '<x>': 1 })).toThrow();
  });
});

describe('renderYaml (§5.8, D28)', () => {
  const example = [
    {
      type: 'thing',
      resource: 'https://api.flattr.com/rest/v2/things/423405',
      id: 423405,
      tags: ['api'],
      owner: { type: 'user', username: 'flattr' },
      hidden: false,
    },
  ];

  function roundTrips(value: unknown): void {
    const text = renderYaml(value);
    expect(parseYaml(text)).toEqual(value);
    expect(parseYaml(text, { version: '1.1' })).toEqual(value);
  }

  it('renders the spec example exactly', () => {
    expect(renderYaml(example)).toBe(
      '---\n' +
        '- type: "thing"\n' +
        '  resource: "https://api.flattr.com/rest/v2/things/423405"\n' +
        '  id: 423405\n' +
        '  tags:\n' +
        '    - "api"\n' +
        '  owner:\n' +
        '    type: "user"\n' +
        '    username: "flattr"\n' +
        '  hidden: false\n',
    );
    roundTrips(example);
  });

  it('renders the §16.6 rate-limit example exactly', () => {
    const value = {
      hourly_limit: 5000,
      remaining_hits: 0,
      current_hits: 5000,
      reset_time_in_seconds: 1342521939,
      reset_time: 'Tue, 17 Jul 2012 10:45:39 +0000 GMT',
    };
    expect(renderYaml(value)).toBe(
      '---\n' +
        'hourly_limit: 5000\n' +
        'remaining_hits: 0\n' +
        'current_hits: 5000\n' +
        'reset_time_in_seconds: 1342521939\n' +
        'reset_time: "Tue, 17 Jul 2012 10:45:39 +0000 GMT"\n',
    );
    roundTrips(value);
  });

  it('puts root scalars and empty collections on the --- line', () => {
    expect(renderYaml([])).toBe('--- []\n');
    expect(renderYaml({})).toBe('--- {}\n');
    expect(renderYaml('x')).toBe('--- "x"\n');
    expect(renderYaml('')).toBe('--- ""\n');
    expect(renderYaml(42)).toBe('--- 42\n');
    expect(renderYaml(true)).toBe('--- true\n');
    expect(renderYaml(null)).toBe('--- null\n');
    for (const v of [[], {}, 'x', '', 42, -1, true, false, null]) roundTrips(v);
  });

  it('writes empty collections and scalars inline under keys and items', () => {
    const value = { a: [], b: {}, c: '', d: null, e: 0, f: [[], {}, 'x', 1, null] };
    expect(renderYaml(value)).toBe(
      '---\n' +
        'a: []\n' +
        'b: {}\n' +
        'c: ""\n' +
        'd: null\n' +
        'e: 0\n' +
        'f:\n' +
        '  - []\n' +
        '  - {}\n' +
        '  - "x"\n' +
        '  - 1\n' +
        '  - null\n',
    );
    roundTrips(value);
  });

  it('nests arrays of objects and arrays of arrays', () => {
    const value = {
      search: {
        items: 2,
        things: [
          { id: 1, tags: ['a', 'b'], owner: { username: 'x', links: [{ rel: 'self' }] } },
          { id: 2, tags: [], owner: { username: 'y', links: [] } },
        ],
      },
      matrix: [[1, 2], [[3]], [{ k: 'v', w: [4] }]],
    };
    expect(renderYaml(value)).toBe(
      '---\n' +
        'search:\n' +
        '  items: 2\n' +
        '  things:\n' +
        '    - id: 1\n' +
        '      tags:\n' +
        '        - "a"\n' +
        '        - "b"\n' +
        '      owner:\n' +
        '        username: "x"\n' +
        '        links:\n' +
        '          - rel: "self"\n' +
        '    - id: 2\n' +
        '      tags: []\n' +
        '      owner:\n' +
        '        username: "y"\n' +
        '        links: []\n' +
        'matrix:\n' +
        '  - - 1\n' +
        '    - 2\n' +
        '  - - - 3\n' +
        '  - - k: "v"\n' +
        '      w:\n' +
        '        - 4\n',
    );
    roundTrips(value);
  });

  it('escapes strings exactly as JSON.stringify does', () => {
    const nasty = 'q"uote\\back/slash\n\r\t\b\f\u0000\u001f: # - [x] {y} & * ! | > \' % @ `';
    expect(renderYaml({ s: nasty })).toBe(`---\ns: ${JSON.stringify(nasty)}\n`);
    roundTrips({ s: nasty });
  });

  it('quotes strings YAML would otherwise read as other types', () => {
    const value = ['true', 'null', '~', '123', '0x1F', 'yes', 'no', '1e3', '.inf', '- a', '--- x', '...'];
    expect(renderYaml(value)).toBe('---\n' + value.map((s) => `- ${JSON.stringify(s)}\n`).join(''));
    roundTrips(value);
  });

  it('keeps unicode raw', () => {
    const value = { text: 'Ångström – 日本語 😀' };
    expect(renderYaml(value)).toBe('---\ntext: "Ångström – 日本語 😀"\n');
    roundTrips(value);
  });

  it('quotes keys that are not plain identifiers or are YAML 1.1 words', () => {
    const value = { ok_1: 1, 'a b': 2, '': 3, n: 4, Yes: 5 };
    expect(renderYaml(value)).toBe('---\nok_1: 1\n"a b": 2\n"": 3\n"n": 4\n"Yes": 5\n');
    roundTrips(value);
  });

  it('follows JSON for undefined members and toJSON', () => {
    expect(renderYaml({ a: undefined, b: new Date(0) })).toBe('---\nb: "1970-01-01T00:00:00.000Z"\n');
    expect(renderYaml({ a: undefined })).toBe('--- {}\n');
  });
});

describe('renderTxt (§5.9)', () => {
  it('writes id TAB text LF per entry', () => {
    expect(renderTxt(CATEGORIES)).toBe('text\tText\nimages\tImages\n');
    expect(renderTxt([{ id: 'sv_SE', text: 'Svenska' }])).toBe('sv_SE\tSvenska\n');
    expect(renderTxt([])).toBe('');
  });
});

describe('JSON and JSONP (§5.6, §5.10)', () => {
  it('renders compact JSON with raw unicode and unescaped /', () => {
    expect(renderJson({ a: [1, 'é/😀'], b: { c: null } })).toBe('{"a":[1,"é/😀"],"b":{"c":null}}');
    expect(renderJson([])).toBe('[]');
  });

  it('wraps JSONP bodies', () => {
    expect(renderJsonp('cb', '{"a":1}')).toBe('/**/cb({"a":1});');
    expect(renderJsonp('jQuery.fn_1$', '[]')).toBe('/**/jQuery.fn_1$([]);');
    expect(() => renderJsonp('alert(1)//', '{}')).toThrow();
  });

  it('validates callbacks per D29', () => {
    for (const ok of ['cb', '_', '$', 'a.b.c', 'jQuery123_456', '$x.$y', 'a'.repeat(100)]) {
      expect(isValidJsonpCallback(ok), ok).toBe(true);
    }
    for (const bad of ['', '1cb', 'a..b', 'a.', '.a', 'a b', 'a-b', 'a[0]', 'alert(1)', 'a;b', 'é', 'a\n', 'a'.repeat(101), 'a.1b']) {
      expect(isValidJsonpCallback(bad), bad).toBe(false);
    }
  });
});
