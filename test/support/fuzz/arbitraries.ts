import fc from 'fast-check';

/**
 * Hostile input, as fast-check arbitraries: the strings, encodings, headers and bodies the fuzz suites send.
 * Fixed payload lists make sure the classic attacks are always in the mix; generated strings cover the rest.
 */

/** SQL metacharacters and injection attempts (the search grammar's own operators too). */
export const SQL_PAYLOADS = [
  "'",
  '"',
  "' OR '1'='1",
  "' OR 1=1 --",
  "'; DROP TABLE things; --",
  "1; DELETE FROM flattrs; --",
  "') OR ('a'='a",
  "' UNION SELECT password_hash FROM users --",
  "'||pg_sleep(3)||'",
  '1 AND pg_sleep(3) IS NULL',
  '$1',
  '$$',
  '?',
  ':name',
  '\\',
  "\\'",
  "''",
  '%',
  '_',
  '%_%',
  '--',
  '/*',
  '*/',
  ';',
  "E'\\\\x41'",
  'NULL',
  '*',
  '~',
  '[a-z]',
  '.*',
  '{a,b}',
  '"a" "b"',
];

/** Markup that must come out escaped in XML, Atom, YAML and HTML. */
export const MARKUP_PAYLOADS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  ']]>',
  '<![CDATA[x]]>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
  '&amp;',
  '&lt;b&gt;',
  '&#0;',
  '&#x1;',
  '&e;',
  '<b>bold</b>',
  '</title><title>',
  '{{7*7}}',
  '${7*7}',
  '- item',
  '--- \n...',
  'key: value',
  '"quoted"',
  "'single'",
  '!!python/object:os.system',
  '*alias',
  '&anchor',
  '#comment',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
];

/** Control, separator and otherwise awkward characters. */
export const CONTROL_PAYLOADS = [
  '\u0000',
  'a\u0000b',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u001b[31m',
  '\u001f',
  '\u007f',
  '\u0085',
  '\r',
  '\n',
  '\r\nX-Injected: yes',
  '\t',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  'e\u0301',
  '\u202eevil',
  '\u0130',
  'ß',
  '\ufb00',
  'Ω',
  '日本語',
  ' ',
  '',
];

/** Numbers and number-like text in every shape a parser may trip on. */
export const NUMERIC_PAYLOADS = [
  '0',
  '-1',
  '1',
  '01',
  '1.0',
  '1e3',
  ' 7 ',
  '2147483647',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '99999999999999999999999999',
  '1e309',
  'NaN',
  'Infinity',
  '0x10',
  '1,2',
  ',',
  ',,,',
  '1,,2',
  'true',
  'false',
  'null',
  'undefined',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

/** Path and URL oddities. */
export const PATH_PAYLOADS = [
  '..',
  '.',
  '../../etc/passwd',
  '..%2f..%2fetc',
  '%2e%2e',
  '%2F',
  '%00',
  '%0d%0a',
  '%',
  '%%',
  '%zz',
  '%c0%af',
  '%ff',
  '+',
  '//evil.example',
  'http://evil.example',
  'https://flattr.com/submit/auto?user_id=bob&url=https%3A%2F%2Fexample.org%2Ffuzz',
  'http://localhost:3000/submit/auto?url=http://example.org/a&user_id=alice',
  'https://example.org/post',
  'http://',
  'https://',
  'ftp://example.org/',
  'http://[::1]/',
  'http://user:pass@example.org/',
  'http://example.org:99999/',
  'http://例え.テスト/',
];

/** Tag expressions (§10.3) that stress the parser. */
export const TAG_EXPRESSION_PAYLOADS = [
  '(',
  ')',
  '()',
  '!',
  '!!!!a',
  '&',
  '|',
  'a & | b',
  'a,,b',
  '((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))',
  '(a|b)&!(c,d)',
  'a b c d e f',
  '&&&&&&',
  'a&b|c&d|!e',
];

export const HOSTILE_PAYLOADS = [...SQL_PAYLOADS, ...MARKUP_PAYLOADS, ...CONTROL_PAYLOADS, ...NUMERIC_PAYLOADS, ...PATH_PAYLOADS, ...TAG_EXPRESSION_PAYLOADS];

/** Long strings: over the documented limits (title 100, description 1000, url 2048, tag 255) and far beyond. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', 'é', '\ud83d\ude00', "'", '<', '%', ',', ' ', '(', '\u0000', '日'), fc.constantFrom(101, 256, 1001, 2049, 3000, 20_000, 300_000))
  .map(([unit, count]) => unit.repeat(count));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_PAYLOADS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...HOSTILE_PAYLOADS), { minLength: 2, maxLength: 4 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: hugeString },
);

export type Encoding = 'component' | 'raw' | 'latin1' | 'double' | 'malformed';

/** Percent-encodes the UTF-8 bytes of every character outside `keep` (lone surrogates become U+FFFD, as in UTF-8 writers). */
function percentEncode(text: string, keep: (byte: number) => boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += keep(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

const SEGMENT_SAFE = (b: number) => b > 0x20 && b < 0x7f && !'/?#%'.includes(String.fromCharCode(b));
const QUERY_SAFE = (b: number) => b > 0x20 && b < 0x7f && !'&=#%+'.includes(String.fromCharCode(b));

/**
 * A path segment or query value as bytes on the wire (latin1 string). `raw` keeps printable ASCII as is,
 * `latin1` also sends characters U+0080–U+00FF as single (not UTF-8) bytes, `double` encodes twice, `malformed`
 * adds a broken escape.
 */
export function encodeValue(text: string, encoding: Encoding, where: 'segment' | 'query'): string {
  const safe = where === 'segment' ? SEGMENT_SAFE : QUERY_SAFE;
  switch (encoding) {
    case 'component':
      return percentEncode(text, (b) => /[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)));
    case 'raw':
      return percentEncode(text, safe);
    case 'latin1': {
      let out = '';
      for (const ch of text) {
        const code = ch.codePointAt(0)!;
        out += code >= 0x80 && code <= 0xff ? ch : percentEncode(ch, safe);
      }
      return out;
    }
    case 'double':
      return percentEncode(percentEncode(text, safe), safe);
    case 'malformed':
      return `${percentEncode(text, safe)}%${text.length % 2 === 0 ? 'G1' : ''}`;
  }
}

export const encoding: fc.Arbitrary<Encoding> = fc.constantFrom('component', 'component', 'raw', 'raw', 'latin1', 'double', 'malformed');

/** Header values that cannot break the request framing (no CR, LF or NUL), latin1 bytes allowed. */
export function headerSafe(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    out += code === 0x09 || (code >= 0x20 && code !== 0x7f && code <= 0xff) ? ch : '?';
  }
  return out.slice(0, 4000);
}

export const acceptHeader: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'text/xml',
    'application/xml',
    'application/yaml',
    'text/yaml',
    'application/x-yaml',
    'application/stream+json',
    'application/atom+xml',
    'text/plain',
    'text/html',
    '*/*',
    'text/*',
    'application/*;q=0.5, text/xml;q=0.4',
    'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'application/json;q=0, */*',
    'application/json;q=0',
    '*/*;q=abc',
    ';;;,,,',
    '/',
    'text/xml;q=0.5;q=0.9',
    'application/json;charset=utf-16',
    '',
  ),
  hostileString.map(headerSafe),
  fc.array(fc.constantFrom('application/json', 'text/xml', 'application/yaml', 'text/*', '*/*', 'x/y'), { maxLength: 30 }).map((types) =>
    types.map((t, i) => `${t};q=${(i % 11) / 10}`).join(', '),
  ),
);

export const contentTypeHeader: fc.Arbitrary<string | null> = fc.oneof(
  fc.constantFrom(
    null,
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'APPLICATION/JSON',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/graphql',
    'application/json;',
    ';',
    '',
  ),
  hostileString.map(headerSafe),
);

/** JSON text with the same key several times (JSON.parse keeps the last; the spec's forms keep the first). */
export function duplicateKeyJson(pairs: [string, unknown][]): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}

/** Deeply nested JSON (arrays or objects), up to about 600 KB. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('array', 'object', 'mixed'), fc.constantFrom(64, 1_000, 10_000, 100_000))
  .map(([kind, depth]) => {
    if (kind === 'array') return '['.repeat(depth) + ']'.repeat(depth);
    if (kind === 'object') return `{"title":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    return `{"tags":${'[{"x":'.repeat(depth)}1${'}]'.repeat(depth)}}`;
  });

/** Bytes that are not UTF-8, wrapped in an otherwise valid body. */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x80],
      [0xc3],
      [0xf0, 0x9f, 0x98],
    ),
    fc.constantFrom('json', 'form'),
  )
  .map(([bytes, kind]) =>
    kind === 'json'
      ? Buffer.concat([Buffer.from('{"title":"'), Buffer.from(bytes), Buffer.from('","url":"https://example.org/u"}')])
      : Buffer.concat([Buffer.from('title='), Buffer.from(bytes), Buffer.from('&url=https://example.org/u')]),
  );

/** A JSON value of a wrong or awkward type for a parameter that expects a string, a boolean or a list. */
export const jsonParamValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, 1, -1, 1.5, 2 ** 53, -0, 1e308) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.object({ maxDepth: 1 })), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.object({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
