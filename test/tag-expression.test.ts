import { describe, expect, it } from 'vitest';
import {
  INVALID_TAGS_EXPRESSION,
  MAX_TAG_EXPRESSION_DEPTH,
  MAX_TAG_EXPRESSION_TAGS,
  TagExpressionError,
  evaluateTagExpression,
  formatTagExpression,
  parseTagExpression,
  tokenizeTagExpression,
} from '../src/services/search/tag-expression.js';
import { compileTagExpression } from '../src/services/search/sql.js';

/** The parse as readable text, e.g. `(game OR games) AND NOT software`. */
const parsed = (input: string) => {
  const ast = parseTagExpression(input);
  return ast === null ? null : formatTagExpression(ast);
};

function failure(input: string): { position: number; found: string | null; detail: string } {
  try {
    parseTagExpression(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TagExpressionError);
    const e = error as TagExpressionError;
    expect(e.message).toBe(`${INVALID_TAGS_EXPRESSION} at position ${e.position}: ${e.detail}`);
    return { position: e.position, found: e.found, detail: e.detail };
  }
  throw new Error(`${JSON.stringify(input)} parsed`);
}

describe('tokenizer (§10.3 lexical rules)', () => {
  it('splits on whitespace and operator characters; a TAG is a maximal run of anything else', () => {
    expect(tokenizeTagExpression(' c++|c#  (node.js,!x)&y ').map((t) => [t.kind, t.text, t.position])).toEqual([
      ['tag', 'c++', 2],
      ['or', '|', 5],
      ['tag', 'c#', 6],
      ['open', '(', 10],
      ['tag', 'node.js', 11],
      ['or', ',', 18],
      ['not', '!', 19],
      ['tag', 'x', 20],
      ['close', ')', 21],
      ['and', '&', 22],
      ['tag', 'y', 23],
      ['end', '', 25],
    ]);
  });

  it('counts positions in characters, not UTF-16 units', () => {
    expect(tokenizeTagExpression('😀 | b').map((t) => t.position)).toEqual([1, 3, 5, 6]);
  });
});

describe('grammar (§10.3, D64, D65)', () => {
  it('parses every worked example as the spec says', () => {
    expect(parsed('ruby')).toBe('ruby');
    expect(parsed('game | games ! software')).toBe('(game OR games) AND NOT software');
    expect(parsed('photo & flickr ! illustrations')).toBe('photo AND flickr AND NOT illustrations');
    expect(parsed('photos & travel & iphone !flickr')).toBe('photos AND travel AND iphone AND NOT flickr');
    expect(parsed('a b | c')).toBe('a AND (b OR c)');
    expect(parsed('!(a | b) c')).toBe('NOT (a OR b) AND c');
    expect(parsed('api,flattr')).toBe('api OR flattr');
    expect(parsed('!!a')).toBe('a');
  });

  it('binds NOT tightest, then OR, then AND (explicit or by juxtaposition)', () => {
    expect(parsed('a | b & c')).toBe('(a OR b) AND c');
    expect(parsed('a & b | c')).toBe('a AND (b OR c)');
    expect(parsed('a | b c | d')).toBe('(a OR b) AND (c OR d)');
    expect(parsed('!a | b')).toBe('NOT a OR b');
    expect(parsed('!a b')).toBe('NOT a AND b');
    expect(parsed('a & b c')).toBe('a AND b AND c');
    expect(parsed('!!!a')).toBe('NOT a');
  });

  it('accepts NOT-only expressions', () => {
    expect(parsed('!software')).toBe('NOT software');
    expect(parsed('!a !b')).toBe('NOT a AND NOT b');
    expect(parsed('!a | !b')).toBe('NOT a OR NOT b');
    expect(parsed('!(a b)')).toBe('NOT (a AND b)');
  });

  it('handles nesting', () => {
    expect(parsed('((a))')).toBe('a');
    expect(parsed('(a | (b & !c)) d')).toBe('(a OR (b AND NOT c)) AND d');
    expect(parsed('(a b) | c')).toBe('(a AND b) OR c');
    expect(parsed('!(!(a | b) & c)')).toBe('NOT (NOT (a OR b) AND c)');
    const deep = `${'('.repeat(MAX_TAG_EXPRESSION_DEPTH)}a${')'.repeat(MAX_TAG_EXPRESSION_DEPTH)}`;
    expect(parsed(deep)).toBe('a');
  });

  it('ignores whitespace of any kind, and needs none around operators', () => {
    expect(parsed('  a\t|\n b  ')).toBe('a OR b');
    expect(parsed('a|b&c')).toBe('(a OR b) AND c');
    expect(parsed('a&!b')).toBe('a AND NOT b');
    expect(parsed('\u00a0a\u2003b')).toBe('a AND b');
  });

  it('takes a comma as OR (D65)', () => {
    expect(parsed('a,b c')).toBe('(a OR b) AND c');
    expect(parsed('a , b|c')).toBe('a OR b OR c');
  });

  it('keeps any other characters inside tags', () => {
    expect(parsed('c++ | c# | node.js | ÄPFEL | 東京')).toBe('c++ OR c# OR node.js OR ÄPFEL OR 東京');
    expect(parsed("it's \"quoted\" %_\\")).toBe('it\'s AND "quoted" AND %_\\');
  });

  it('means "no tag filter" when empty after trimming', () => {
    expect(parseTagExpression('')).toBeNull();
    expect(parseTagExpression(' \t\n ')).toBeNull();
  });
});

describe('errors say where the expression is wrong', () => {
  it('dangling operators', () => {
    expect(failure('a |')).toEqual({ position: 4, found: null, detail: 'expected a tag, "!" or "(" after "|" but found the end of the expression' });
    expect(failure('a ,')).toEqual({ position: 4, found: null, detail: 'expected a tag, "!" or "(" after "," but found the end of the expression' });
    expect(failure('& a')).toEqual({ position: 1, found: '&', detail: 'expected a tag, "!" or "(" but found "&"' });
    expect(failure('| a')).toEqual({ position: 1, found: '|', detail: 'expected a tag, "!" or "(" but found "|"' });
    expect(failure('a &')).toEqual({ position: 4, found: null, detail: 'expected a tag, "!" or "(" after "&" but found the end of the expression' });
    expect(failure('a !')).toEqual({ position: 4, found: null, detail: 'expected a tag or "(" after "!" but found the end of the expression' });
    expect(failure('!')).toEqual({ position: 2, found: null, detail: 'expected a tag or "(" after "!" but found the end of the expression' });
    expect(failure('a ! | b')).toEqual({ position: 5, found: '|', detail: 'expected a tag or "(" after "!" but found "|"' });
  });

  it('doubled binary operators', () => {
    expect(failure('a | | b')).toEqual({ position: 5, found: '|', detail: 'expected a tag, "!" or "(" after "|" but found "|"' });
    expect(failure('a & & b')).toEqual({ position: 5, found: '&', detail: 'expected a tag, "!" or "(" after "&" but found "&"' });
    expect(failure('a,,b')).toEqual({ position: 3, found: ',', detail: 'expected a tag, "!" or "(" after "," but found ","' });
    expect(failure('a & | b')).toEqual({ position: 5, found: '|', detail: 'expected a tag, "!" or "(" after "&" but found "|"' });
    expect(failure('a | & b')).toEqual({ position: 5, found: '&', detail: 'expected a tag, "!" or "(" after "|" but found "&"' });
  });

  it('empty groups and unbalanced parentheses', () => {
    expect(failure('()')).toEqual({ position: 2, found: ')', detail: 'empty group "()"' });
    expect(failure('a & ( )')).toEqual({ position: 7, found: ')', detail: 'empty group "()"' });
    expect(failure('(a')).toEqual({ position: 3, found: null, detail: 'expected ")" to close the "(" at position 1 but found the end of the expression' });
    expect(failure('((a) | b')).toEqual({ position: 9, found: null, detail: 'expected ")" to close the "(" at position 1 but found the end of the expression' });
    expect(failure('a)')).toEqual({ position: 2, found: ')', detail: 'unmatched ")"' });
    expect(failure('(a))')).toEqual({ position: 4, found: ')', detail: 'unmatched ")"' });
    expect(failure(')')).toEqual({ position: 1, found: ')', detail: 'expected a tag, "!" or "(" but found ")"' });
    expect(failure('(| a)')).toEqual({ position: 2, found: '|', detail: 'expected a tag, "!" or "(" after "(" but found "|"' });
    expect(failure('(a |)')).toEqual({ position: 5, found: ')', detail: 'expected a tag, "!" or "(" after "|" but found ")"' });
  });

  it('limits nesting and size instead of exhausting the stack', () => {
    const tooDeep = `${'('.repeat(MAX_TAG_EXPRESSION_DEPTH + 1)}a${')'.repeat(MAX_TAG_EXPRESSION_DEPTH + 1)}`;
    expect(failure(tooDeep)).toMatchObject({ position: MAX_TAG_EXPRESSION_DEPTH + 1, detail: `parentheses nested more than ${MAX_TAG_EXPRESSION_DEPTH} deep` });
    expect(failure('('.repeat(100_000))).toMatchObject({ position: MAX_TAG_EXPRESSION_DEPTH + 1 });
    expect(parsed('!'.repeat(100_001) + 'a')).toBe('NOT a');
    const many = Array.from({ length: MAX_TAG_EXPRESSION_TAGS + 1 }, (_, i) => `t${i}`).join(' | ');
    expect(failure(many).detail).toBe(`more than ${MAX_TAG_EXPRESSION_TAGS} tags`);
  });
});

describe('semantics and compilation', () => {
  it('evaluates TAG case-insensitively against the thing’s tags', () => {
    const expr = parseTagExpression('game | games ! software')!;
    expect(evaluateTagExpression(expr, ['Games'])).toBe(true);
    expect(evaluateTagExpression(expr, ['games', 'SOFTWARE'])).toBe(false);
    expect(evaluateTagExpression(expr, [])).toBe(false);
    expect(evaluateTagExpression(parseTagExpression('!software')!, [])).toBe(true);
    expect(evaluateTagExpression(parseTagExpression('ÄPFEL')!, ['äpfel'])).toBe(true);
  });

  it('compiles to parameterised SQL: tags are values, never SQL text', () => {
    const expr = parseTagExpression("!(a' OR 1=1 -- | B) c")!;
    expect(formatTagExpression(expr)).toBe("NOT (a' AND OR AND 1=1 AND (-- OR B)) AND c");
    const fragment = compileTagExpression(expr);
    const tag = 't.lower_tags @> array[?::text]';
    expect(fragment.text).toBe(`(not ((${tag} and ${tag} and ${tag} and (${tag} or ${tag}))) and ${tag})`);
    expect(fragment.values).toEqual(["a'", 'or', '1=1', '--', 'b', 'c']);
  });
});
