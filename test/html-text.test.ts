import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lineBreakTagsToNewlines, stripTags } from '../src/services/html-text.js';
import {
  lenientDescription,
  lenientTags,
  lenientTitle,
  normaliseDescription,
  normaliseTags,
  normaliseTitle,
  RAW_TEXT_FACTOR,
  TAGS_PER_THING_MAX,
} from '../src/services/thing-rules.js';
import { DomainError } from '../src/services/domain-error.js';
import { fuzzParameters, fuzzRuns } from './support/fuzz/settings.js';

/**
 * Issue 14: the title and description cleaning is linear, and gives exactly what the regular expressions it
 * replaces gave. The reference implementations below are the code as it was before (kept here, and only here, to
 * compare with); the inputs are random but not hostile: short texts made mostly of the characters the cleaning
 * looks at.
 */

const reference = {
  stripTags: (text: string) => text.replace(/<[^>]*>/g, ''),
  lineBreaks: (text: string) => text.replace(/<br\s*\/?>/gi, '\n'),
  title(raw: string | undefined, url: string): string {
    const title = (raw ?? '').replace(/<[^>]*>/g, '').trim();
    if (title === '') return [...url].slice(0, 100).join('');
    if ([...title].length > 100) throw new DomainError('validation', 'Title is too long');
    return title;
  },
  description(raw: string | undefined): string {
    const description = (raw ?? '').replace(/<br\s*\/?>/gi, '\n').replace(/<[^>]*>/g, '').trim();
    if ([...description].length > 1000) throw new DomainError('validation', 'Description is too long');
    return description;
  },
  lenientTitle(raw: string | undefined, url: string): string {
    const title = (raw ?? '').replace(/\u0000/g, '').replace(/<[^>]*>/g, '').trim();
    return [...(title === '' ? url : title)].slice(0, 100).join('');
  },
  lenientDescription(raw: string | undefined): string {
    const description = (raw ?? '').replace(/\u0000/g, '').replace(/<br\s*\/?>/gi, '\n').replace(/<[^>]*>/g, '').trim();
    return [...description].slice(0, 1000).join('');
  },
};

/** The characters the cleaning reacts to, white space of every kind `\s` knows, and a few others (an emoji too). */
const ALPHABET = ['<', '>', '/', 'b', 'B', 'r', 'R', 'a', ' ', '\t', '\n', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u200b', 'x', '\u0000', '😀', '&'];
const FRAGMENTS = ['<br>', '<BR/>', '<br  />', '<b>', '</b>', '<br', 'br>', '<<', '>>', '<a href="x">', '< br>'];
const markupText = (maxLength: number) =>
  fc
    .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ALPHABET) }, { weight: 1, arbitrary: fc.constantFrom(...FRAGMENTS) }), { maxLength })
    .map((parts) => parts.join(''));

/** Like the old code: a thrown validation error compares by its message. */
function outcome(run: () => string): string {
  try {
    return `ok:${run()}`;
  } catch (error) {
    return `error:${(error as Error).message}`;
  }
}

const RUNS = fuzzRuns(2000);

describe('linear HTML cleaning', () => {
  it('strips tags exactly as /<[^>]*>/g', () => {
    fc.assert(fc.property(markupText(80), (text) => {
          expect(stripTags(text)).toBe(reference.stripTags(text));
        }), fuzzParameters(RUNS));
  });

  it('turns line-break tags into newlines exactly as /<br\\s*\\/?>/gi', () => {
    fc.assert(fc.property(markupText(80), (text) => {
          expect(lineBreakTagsToNewlines(text)).toBe(reference.lineBreaks(text));
        }), fuzzParameters(RUNS));
  });

  it('gives the same titles and descriptions (and the same errors) as before, strict and lenient', () => {
    fc.assert(
      fc.property(markupText(400), (text) => {
        const url = 'https://example.org/a-page';
        expect(outcome(() => normaliseTitle(text, url))).toBe(outcome(() => reference.title(text, url)));
        expect(outcome(() => normaliseDescription(text))).toBe(outcome(() => reference.description(text)));
        expect(lenientTitle(text, url)).toBe(reference.lenientTitle(text, url));
        expect(lenientDescription(text)).toBe(reference.lenientDescription(text));
      }),
      fuzzParameters(RUNS),
    );
  });

  it('cleans long texts with many short tags like before, up to the raw bound', () => {
    const description = 'word <b>bold</b> <br/> '.repeat(900).slice(0, 1000 * RAW_TEXT_FACTOR);
    expect(outcome(() => normaliseDescription(description))).toBe(outcome(() => reference.description(description)));
    const title = '<span class="x">T</span>'.repeat(80);
    expect(normaliseTitle(title, 'https://example.org/')).toBe(reference.title(title, 'https://example.org/'));
  });

  it('refuses a hostile title or description by its length before cleaning it', () => {
    const hostile = '<'.repeat(1024 * 1024);
    expect(() => normaliseTitle(hostile, 'https://example.org/')).toThrow('Title is too long');
    expect(() => normaliseDescription(hostile)).toThrow('Description is too long');
    expect(() => normaliseTitle('x'.repeat(100 * RAW_TEXT_FACTOR + 1), 'https://example.org/')).toThrow('Title is too long');
    // At the bound the text is cleaned: 2,000 characters of markup around a short title is still a valid title.
    expect(normaliseTitle(`${'<i>'.repeat(665)}Hi!`, 'https://example.org/')).toBe('Hi!');
  });

  it('cuts a hostile auto-submit title or description instead of refusing it, never splitting a surrogate pair', () => {
    expect(lenientTitle('<'.repeat(300_000), 'https://example.org/')).toBe('<'.repeat(100));
    expect(lenientDescription('<'.repeat(300_000))).toBe('<'.repeat(1000));
    const emoji = `${'<'.repeat(100 * RAW_TEXT_FACTOR - 1)}😀tail`;
    expect(lenientTitle(`>${emoji}`, 'https://example.org/')).not.toMatch(/[\ud800-\udbff]$/);
  });
});

describe('tags per thing (at most 100)', () => {
  const tags = (n: number) => Array.from({ length: n }, (_, i) => `tag${i}`);

  it('accepts 100 tags and refuses 101 with "Too many tags", counted after normalisation', () => {
    expect(normaliseTags(tags(100))).toHaveLength(TAGS_PER_THING_MAX);
    expect(() => normaliseTags(tags(101))).toThrow('Too many tags');
    expect(() => normaliseTags(tags(101).join(','))).toThrow('Too many tags');
    // Empties and case-insensitive duplicates do not count.
    expect(normaliseTags([...tags(100), 'TAG1', ' tag2 ', '', '  '].join(','))).toEqual(tags(100));
  });

  it('auto-submit keeps the first 100 tags', () => {
    expect(lenientTags(tags(90_000).join(','))).toEqual(tags(100));
  });
});
