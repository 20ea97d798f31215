import { describe, expect, it } from 'vitest';
import { negotiateFormat, splitFormatSuffix } from '../rest-facade/negotiate.js';
import { FORMATS, contentTypeFor, formatForSuffix, type FormatKey } from '../rest-facade/formats/media-types.js';

const PLAIN: FormatKey[] = ['json', 'xml', 'yaml'];
const ACTIVITIES: FormatKey[] = ['as', 'atom', 'json'];
const LISTS: FormatKey[] = ['json', 'xml', 'yaml', 'as', 'atom'];
const LISTS_BY_ACCEPT: FormatKey[] = ['json', 'xml', 'yaml'];
const REFERENCE: FormatKey[] = ['json', 'xml', 'yaml', 'txt'];

function plain(accept: string | undefined): FormatKey | null {
  return negotiateFormat({ suffix: null, accept, supported: PLAIN });
}

describe('media types (§5.1)', () => {
  it('has the exact content types', () => {
    expect(contentTypeFor('json')).toBe('application/json; charset=utf-8');
    expect(contentTypeFor('xml')).toBe('text/xml; charset=utf-8');
    expect(contentTypeFor('yaml')).toBe('application/yaml; charset=utf-8');
    expect(contentTypeFor('as')).toBe('application/stream+json; charset=utf-8');
    expect(contentTypeFor('atom')).toBe('application/atom+xml; charset=utf-8');
    expect(contentTypeFor('txt')).toBe('text/plain; charset=utf-8');
  });

  it('maps suffixes both ways', () => {
    for (const key of Object.keys(FORMATS) as FormatKey[]) {
      expect(formatForSuffix(FORMATS[key].suffix)).toBe(key);
    }
    expect(formatForSuffix('.html')).toBeNull();
    expect(formatForSuffix('json')).toBeNull();
  });
});

describe('splitFormatSuffix (§1.4)', () => {
  it.each([
    ['categories.xml', 'categories', 'xml'],
    ['flattr.json', 'flattr', 'json'],
    ['rate_limit.yaml', 'rate_limit', 'yaml'],
    ['activities.as', 'activities', 'as'],
    ['activities.atom', 'activities', 'atom'],
    ['languages.txt', 'languages', 'txt'],
    ['waha.06x36.json', 'waha.06x36', 'json'],
    ['1,2,3.xml', '1,2,3', 'xml'],
  ] as const)('%s → %s + %s', (input, segment, suffix) => {
    expect(splitFormatSuffix(input)).toEqual({ segment, suffix });
  });

  it.each(['waha.06x36', 'flattr', 'things', 'a.html', 'file.JSON', 'x.jsonp', 'x.xml2', ''])(
    'leaves %j alone',
    (input) => {
      expect(splitFormatSuffix(input)).toEqual({ segment: input, suffix: null });
    },
  );

  it('only removes the last suffix', () => {
    expect(splitFormatSuffix('a.xml.json')).toEqual({ segment: 'a.xml', suffix: 'json' });
  });
});

describe('negotiateFormat: §5.3 examples on a plain resource', () => {
  it.each([
    [undefined, 'json'],
    ['*/*', 'json'],
    ['text/xml', 'xml'],
    ['text/*', 'xml'],
    ['application/*;q=0.5, text/xml;q=0.4', 'json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ['application/json;q=0, */*', 'xml'],
    ['text/html', null],
    ['application/stream+json', 'json'],
  ] as const)('Accept %j → %s', (accept, expected) => {
    expect(plain(accept)).toBe(expected);
  });
});

describe('negotiateFormat: suffix (step 1, D25)', () => {
  it('wins over Accept', () => {
    expect(negotiateFormat({ suffix: 'yaml', accept: 'application/json', supported: PLAIN })).toBe('yaml');
    expect(negotiateFormat({ suffix: 'json', accept: 'text/html', supported: PLAIN })).toBe('json');
  });

  it('gives 406 when the endpoint lacks the format', () => {
    expect(negotiateFormat({ suffix: 'txt', accept: undefined, supported: PLAIN })).toBeNull();
    expect(negotiateFormat({ suffix: 'atom', accept: '*/*', supported: PLAIN })).toBeNull();
    expect(negotiateFormat({ suffix: 'xml', accept: undefined, supported: ACTIVITIES })).toBeNull();
  });

  it('reaches suffix-only formats on lists (D24)', () => {
    const lists = { supported: LISTS, acceptNegotiable: LISTS_BY_ACCEPT };
    expect(negotiateFormat({ ...lists, suffix: 'as', accept: 'text/xml' })).toBe('as');
    expect(negotiateFormat({ ...lists, suffix: 'atom', accept: undefined })).toBe('atom');
  });
});

describe('negotiateFormat: no usable Accept (step 3)', () => {
  it.each(['', '   ', ',', 'garbage', 'text', '*/json', 'text/', '/xml', 'te xt/xml', ';q=1'])(
    'Accept %j → endpoint default',
    (accept) => {
      expect(plain(accept)).toBe('json');
      expect(negotiateFormat({ suffix: null, accept, supported: ACTIVITIES })).toBe('as');
    },
  );
});

describe('negotiateFormat: Accept (step 4)', () => {
  it('matches case-insensitively and ignores other parameters', () => {
    expect(plain('TEXT/XML')).toBe('xml');
    expect(plain('Application/YAML; charset=utf-8')).toBe('yaml');
    expect(plain('text/xml;level=1;q=0.5, application/json;q=0.4')).toBe('xml');
    expect(plain('text/xml;Q=0.3, application/json;q=0.4')).toBe('json');
  });

  it('accepts every YAML alias', () => {
    for (const t of ['application/yaml', 'text/yaml', 'application/x-yaml', 'text/x-yaml']) {
      expect(plain(t)).toBe('yaml');
    }
  });

  it('does not select XML with application/xml (D21)', () => {
    expect(plain('application/xml')).toBeNull();
    expect(plain('application/xml, */*;q=0.1')).toBe('json');
  });

  it('does not select XML with application/atom+xml', () => {
    expect(plain('application/atom+xml')).toBeNull();
  });

  it('treats an invalid q as 1', () => {
    expect(plain('application/json;q=0.5, text/xml;q=abc')).toBe('xml');
    expect(plain('application/json;q=0.5, text/xml;q=1.5')).toBe('xml');
    expect(plain('application/json;q=0.5, text/xml;q=0.1234')).toBe('xml');
    expect(plain('application/json;q=0.5, text/xml;q=')).toBe('xml');
  });

  it('skips unparseable entries but uses the rest', () => {
    expect(plain('nonsense, text/xml')).toBe('xml');
    expect(plain(', ,text/xml')).toBe('xml');
  });

  it('uses only the most specific kind of entry per format', () => {
    // The exact entry's q=0.1 beats the type wildcard's q=1 for json.
    expect(plain('application/json;q=0.1, application/*, text/xml;q=0.5')).toBe('yaml');
    expect(plain('application/json;q=0.1, */*;q=0.9, text/xml;q=0.5')).toBe('yaml');
    expect(plain('text/xml;q=0, text/*')).toBe('yaml');
    // The kind is decided across all of a format's aliases: yaml's exact
    // text/yaml entry hides the application/* entry that would match application/yaml.
    expect(plain('application/*;q=0.9, text/yaml;q=0.1, application/json;q=0.5')).toBe('json');
  });

  it('takes the highest q among entries of the same kind', () => {
    expect(plain('application/json;q=0.2, application/json;q=0.9, text/xml;q=0.5')).toBe('json');
  });

  it('breaks q ties by the earliest deciding entry, then by supported order', () => {
    expect(plain('text/xml, application/json')).toBe('xml');
    expect(plain('application/json, text/xml')).toBe('json');
    expect(plain('text/yaml;q=0.5, application/json;q=0.5')).toBe('yaml');
    expect(plain('application/*')).toBe('json');
    expect(negotiateFormat({ suffix: null, accept: '*/*', supported: ['yaml', 'json'] })).toBe('yaml');
  });

  it('gives 406 when every q is 0', () => {
    expect(plain('*/*;q=0')).toBeNull();
    expect(plain('application/json;q=0, text/xml;q=0, application/yaml;q=0')).toBeNull();
    expect(plain('application/json;q=0.000')).toBeNull();
  });
});

describe('negotiateFormat: per-endpoint format lists (§5.2)', () => {
  it('activities default to as and answer json (D23) but not xml', () => {
    const n = (accept: string | undefined) => negotiateFormat({ suffix: null, accept, supported: ACTIVITIES });
    expect(n(undefined)).toBe('as');
    expect(n('*/*')).toBe('as');
    expect(n('application/stream+json')).toBe('as');
    expect(n('application/atom+xml')).toBe('atom');
    expect(n('application/json')).toBe('json');
    expect(n('application/*')).toBe('as');
    expect(n('text/xml')).toBeNull();
    expect(n('application/yaml')).toBeNull();
  });

  it('lists negotiate only json/xml/yaml by Accept (D24) and map stream+json to json (D97)', () => {
    const n = (accept: string | undefined) =>
      negotiateFormat({ suffix: null, accept, supported: LISTS, acceptNegotiable: LISTS_BY_ACCEPT });
    expect(n(undefined)).toBe('json');
    expect(n('application/stream+json')).toBe('json');
    expect(n('application/atom+xml')).toBeNull();
    expect(n('application/atom+xml, text/xml;q=0.5')).toBe('xml');
    expect(n('*/*')).toBe('json');
  });

  it('D97 keeps the stream+json entry\u2019s q and position', () => {
    expect(plain('application/stream+json;q=0.3, text/xml;q=0.5')).toBe('xml');
    expect(plain('text/xml;q=0.5, application/stream+json;q=0.5')).toBe('xml');
    expect(plain('application/stream+json;q=0.5, text/xml;q=0.5')).toBe('json');
    expect(plain('application/stream+json;q=0')).toBeNull();
  });

  it('categories and languages offer txt', () => {
    const n = (accept: string | undefined) => negotiateFormat({ suffix: null, accept, supported: REFERENCE });
    expect(n('text/plain')).toBe('txt');
    expect(n('text/*')).toBe('xml');
    expect(n('text/plain, text/xml')).toBe('txt');
    expect(n(undefined)).toBe('json');
    expect(plain('text/plain')).toBeNull();
  });
});
