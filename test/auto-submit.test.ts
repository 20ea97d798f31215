import { describe, expect, it } from 'vitest';
import { isAutoSubmitUrl, parseAutoSubmitUrl } from '../src/services/auto-submit.js';
import { DomainError } from '../src/services/domain-error.js';

/** Spec §11.2 (recognition) and §11.3 (parsing), as pure functions. */

describe('isAutoSubmitUrl (§11.2, D69)', () => {
  it('recognises flattr.com and www.flattr.com over http and https, host in any case', () => {
    for (const url of [
      'https://flattr.com/submit/auto?url=x',
      'http://flattr.com/submit/auto?url=x',
      'https://www.flattr.com/submit/auto?url=x',
      'HTTPS://FLATTR.COM/submit/auto?url=x',
      'https://Www.Flattr.Com/submit/auto',
      'https://flattr.com/submit/auto',
      '  https://flattr.com/submit/auto?url=x  ',
    ]) {
      expect(isAutoSubmitUrl(url), url).toBe(true);
    }
  });

  it('accepts the path with and without a trailing slash, nothing else', () => {
    expect(isAutoSubmitUrl('https://flattr.com/submit/auto/?url=x')).toBe(true);
    for (const url of [
      'https://flattr.com/submit/auto//?url=x',
      'https://flattr.com/submit/Auto?url=x',
      'https://flattr.com/submit/auto/more?url=x',
      'https://flattr.com/submit?url=x',
      'https://flattr.com/submit/autox',
      'https://flattr.com/prefix/submit/auto',
    ]) {
      expect(isAutoSubmitUrl(url), url).toBe(false);
    }
  });

  it('rejects other hosts, schemes and ports', () => {
    for (const url of [
      'https://api.flattr.com/submit/auto?url=x',
      'https://flattr.com.evil.example/submit/auto?url=x',
      'https://evilflattr.com/submit/auto?url=x',
      'ftp://flattr.com/submit/auto?url=x',
      'https://flattr.com:8443/submit/auto?url=x',
      'http://flattr.com:443/submit/auto?url=x',
      'flattr.com/submit/auto?url=x',
      'not a url',
      '',
    ]) {
      expect(isAutoSubmitUrl(url), url).toBe(false);
    }
  });

  it('treats an explicit default port like no port (the URL parser drops it)', () => {
    expect(isAutoSubmitUrl('https://flattr.com:443/submit/auto?url=x')).toBe(true);
    expect(isAutoSubmitUrl('http://flattr.com:80/submit/auto?url=x')).toBe(true);
  });

  it('adds the authority of SITE_URL: host and port, default port dropped, scheme either', () => {
    const site = 'http://localhost:3000';
    expect(isAutoSubmitUrl('http://localhost:3000/submit/auto?url=x', site)).toBe(true);
    expect(isAutoSubmitUrl('https://LOCALHOST:3000/submit/auto/?url=x', site)).toBe(true);
    expect(isAutoSubmitUrl('http://localhost/submit/auto?url=x', site)).toBe(false);
    expect(isAutoSubmitUrl('http://localhost:3001/submit/auto?url=x', site)).toBe(false);
    expect(isAutoSubmitUrl('http://localhost:3000/submit/auto?url=x')).toBe(false); // without SITE_URL

    const https = 'https://flattr.example.org';
    expect(isAutoSubmitUrl('https://flattr.example.org/submit/auto?url=x', https)).toBe(true);
    expect(isAutoSubmitUrl('https://flattr.example.org:443/submit/auto?url=x', https)).toBe(true);
    expect(isAutoSubmitUrl('http://flattr.example.org/submit/auto?url=x', https)).toBe(true);
    expect(isAutoSubmitUrl('https://flattr.example.org:8443/submit/auto?url=x', https)).toBe(false);
    // SITE_URL with an explicit default port and a path: only its authority counts.
    expect(isAutoSubmitUrl('https://site.example/submit/auto', 'https://site.example:443/base')).toBe(true);
    // flattr.com stays recognised whatever SITE_URL is.
    expect(isAutoSubmitUrl('https://flattr.com/submit/auto', https)).toBe(true);
  });

  it('accepts URL objects', () => {
    expect(isAutoSubmitUrl(new URL('https://flattr.com/submit/auto?url=x'))).toBe(true);
    expect(isAutoSubmitUrl(new URL('https://example.org/submit/auto'))).toBe(false);
  });
});

describe('parseAutoSubmitUrl (§11.3, D70)', () => {
  const parse = (query: string) => parseAutoSubmitUrl(`https://flattr.com/submit/auto?${query}`);

  it('reads the documented parameters', () => {
    const parsed = parse(
      'user_id=flattr&url=http%3A%2F%2Fdevelopers.flattr.net&title=Flattr%20API%20Documentation&description=Docs' +
        '&language=en_GB&tags=flattr,api,programming&category=text&hidden=1',
    );
    expect(parsed).toEqual({
      url: 'http://developers.flattr.net',
      userId: 'flattr',
      owner: null,
      title: 'Flattr API Documentation',
      description: 'Docs',
      category: 'text',
      language: 'en_GB',
      tags: ['flattr', 'api', 'programming'],
      hidden: true,
    });
  });

  it('decodes as a form (+ is a space) and lets the first occurrence of a name win', () => {
    const parsed = parse('url=https%3A%2F%2Fa.example%2F&url=https%3A%2F%2Fb.example%2F&title=Hello+world&title=Second&user_id=first&user_id=second');
    expect(parsed.url).toBe('https://a.example/');
    expect(parsed.title).toBe('Hello world');
    expect(parsed.userId).toBe('first');
  });

  it('reads the unencoded form the docs show (as reassembled by §11.4)', () => {
    const parsed = parseAutoSubmitUrl('http://flattr.com/submit/auto?url=http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/&user_id=flattr');
    expect(parsed.url).toBe('http://blog.flattr.net/2011/10/api-v2-beta-out-whats-changed/');
    expect(parsed.userId).toBe('flattr');
  });

  it('trims url, user_id and owner; empty user_id and owner count as absent', () => {
    const parsed = parse('url=+%20https%3A%2F%2Fexample.org%2Fx+&user_id=+alice+&owner=+twitter%3Auser%3Aid%3A1+');
    expect(parsed).toMatchObject({ url: 'https://example.org/x', userId: 'alice', owner: 'twitter:user:id:1' });
    expect(parse('url=https%3A%2F%2Fexample.org%2F&user_id=&owner=%20')).toMatchObject({ userId: null, owner: null });
    expect(parse('url=https%3A%2F%2Fexample.org%2F')).toMatchObject({ userId: null, owner: null });
  });

  it('keeps query strings and fragments of the inner url', () => {
    const inner = 'https://example.org/page?id=1&b=2#frag';
    expect(parse(`url=${encodeURIComponent(inner)}`).url).toBe(inner);
  });

  it('refuses a missing or invalid inner url with validation "Invalid url"', () => {
    for (const query of [
      '',
      'user_id=alice',
      'url=',
      'url=%20%20',
      'url=ftp%3A%2F%2Fexample.org%2F',
      'url=example.org',
      'url=javascript%3Aalert(1)',
      `url=${encodeURIComponent(`https://example.org/${'x'.repeat(2029)}`)}`,
    ]) {
      let caught: unknown;
      try {
        parse(query);
      } catch (error) {
        caught = error;
      }
      expect(caught, query).toBeInstanceOf(DomainError);
      expect(caught).toMatchObject({ code: 'validation', message: 'Invalid url' });
    }
    // 2048 characters exactly is fine.
    const longest = `https://example.org/${'x'.repeat(2048 - 'https://example.org/'.length)}`;
    expect(parse(`url=${encodeURIComponent(longest)}`).url).toBe(longest);
  });

  it('applies the metadata leniently: cut to length, defaults for unknown ids, empty title = url', () => {
    const url = 'https://example.org/lenient';
    const parsed = parse(
      new URLSearchParams({
        url,
        title: ` <h1>${'é'.repeat(150)}</h1> `,
        description: `<p>line one<br />line two</p>${'😀'.repeat(1500)}`,
        language: 'xx_XX',
        category: 'Text',
        tags: ' a, b ,,A, c ',
        hidden: 'maybe',
      }).toString(),
    );
    expect(parsed.title).toBe('é'.repeat(100));
    expect([...parsed.description]).toHaveLength(1000);
    expect(parsed.description.startsWith('line one\nline two😀')).toBe(true);
    expect(parsed.language).toBe('en_GB');
    expect(parsed.category).toBe('rest');
    expect(parsed.tags).toEqual(['a', 'b', 'c']);
    expect(parsed.hidden).toBe(false);

    expect(parse(`url=${encodeURIComponent(url)}`)).toMatchObject({ title: url, description: '', language: 'en_GB', category: 'rest', tags: [], hidden: false });
    expect(parse(`url=${encodeURIComponent(url)}&title=%3Cb%3E%3C%2Fb%3E`).title).toBe(url);
    const longUrl = `https://example.org/${'u'.repeat(200)}`;
    expect(parse(`url=${encodeURIComponent(longUrl)}`).title).toBe(longUrl.slice(0, 100));
  });

  it('reads hidden as true for 1, true, yes, on in any case', () => {
    const hidden = (value: string) => parse(`url=https%3A%2F%2Fexample.org%2F&hidden=${encodeURIComponent(value)}`).hidden;
    for (const value of ['1', 'true', 'TRUE', 'yes', 'Yes', 'on', 'ON', ' on ']) expect(hidden(value), value).toBe(true);
    for (const value of ['0', 'false', 'no', 'off', '', '2', 'y']) expect(hidden(value), value).toBe(false);
  });
});
