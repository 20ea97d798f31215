/**
 * The `tags` filter language of spec §10.3 (D64, D65): a tokenizer and a recursive-descent parser for
 *
 *   expression = and_expr ;
 *   and_expr   = or_expr , { [ "&" ] , or_expr } ;      (* "&" or plain juxtaposition *)
 *   or_expr    = unary , { ( "|" | "," ) , unary } ;
 *   unary      = "!" , unary | primary ;
 *   primary    = TAG | "(" , expression , ")" ;
 *
 * so NOT binds tightest, then OR, then AND. The result is an AST that `compileTagExpression` (sql.ts) turns
 * into parameterised SQL and `evaluateTagExpression` evaluates in JavaScript (the reference semantics).
 * Errors say where the expression went wrong (1-based character positions in the decoded value).
 */

export type TagExpression =
  | { kind: 'tag'; tag: string; position: number }
  | { kind: 'not'; operand: TagExpression }
  | { kind: 'and'; operands: TagExpression[] }
  | { kind: 'or'; operands: TagExpression[] };

type TokenKind = 'tag' | 'or' | 'and' | 'not' | 'open' | 'close' | 'end';

interface Token {
  kind: TokenKind;
  /** The characters of the token ("" for the end). */
  text: string;
  /** 1-based position of its first character, counted in characters (code points). */
  position: number;
}

/** Nesting deeper than this is refused (a hostile `((((...` must not exhaust the stack). */
export const MAX_TAG_EXPRESSION_DEPTH = 32;
/** At most this many TAG tokens; each becomes one SQL parameter. */
export const MAX_TAG_EXPRESSION_TAGS = 256;

/** The canonical REST description (spec §10.3); details go to `detail` and `position`. */
export const INVALID_TAGS_EXPRESSION = 'Invalid tags expression';

export class TagExpressionError extends Error {
  override name = 'TagExpressionError';
  constructor(
    /** What is wrong, e.g. `expected a tag, "!" or "(" but found "|"`. */
    readonly detail: string,
    /** 1-based character position of the offending token; one past the end when the expression ended early. */
    readonly position: number,
    /** The offending token's text, or null for the end of the expression. */
    readonly found: string | null,
  ) {
    super(`${INVALID_TAGS_EXPRESSION} at position ${position}: ${detail}`);
  }
}

const OPERATORS: Record<string, TokenKind> = { '|': 'or', ',': 'or', '&': 'and', '!': 'not', '(': 'open', ')': 'close' };
const WHITESPACE = /^\s$/u;

/**
 * Lexical rules of §10.3: whitespace separates tokens; `|` `,` `&` `!` `(` `)` are operators; a TAG is a maximal
 * run of other characters.
 */
export function tokenizeTagExpression(input: string): Token[] {
  const tokens: Token[] = [];
  let tag = '';
  let tagStart = 0;
  let position = 0;
  const endTag = () => {
    if (tag !== '') tokens.push({ kind: 'tag', text: tag, position: tagStart });
    tag = '';
  };
  for (const char of input) {
    position++;
    const operator = OPERATORS[char];
    if (operator) {
      endTag();
      tokens.push({ kind: operator, text: char, position });
    } else if (WHITESPACE.test(char)) {
      endTag();
    } else {
      if (tag === '') tagStart = position;
      tag += char;
    }
  }
  endTag();
  tokens.push({ kind: 'end', text: '', position: position + 1 });
  return tokens;
}

const describe = (token: Token) => (token.kind === 'end' ? 'the end of the expression' : `"${token.text}"`);

class Parser {
  private index = 0;
  private depth = 0;
  private tags = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    return this.tokens[this.index++]!;
  }

  private fail(token: Token, detail: string): never {
    throw new TagExpressionError(detail, token.position, token.kind === 'end' ? null : token.text);
  }

  private startsUnary(token: Token): boolean {
    return token.kind === 'tag' || token.kind === 'not' || token.kind === 'open';
  }

  parse(): TagExpression {
    const expression = this.expression();
    const rest = this.peek();
    if (rest.kind === 'close') this.fail(rest, 'unmatched ")"');
    if (rest.kind !== 'end') this.fail(rest, `unexpected ${describe(rest)}`);
    return expression;
  }

  private expression(): TagExpression {
    return this.andExpression();
  }

  /** and_expr = or_expr , { [ "&" ] , or_expr } */
  private andExpression(): TagExpression {
    const operands = [this.orExpression()];
    for (;;) {
      const token = this.peek();
      if (token.kind === 'and') {
        this.next();
        const after = this.peek();
        if (!this.startsUnary(after)) this.fail(after, `expected a tag, "!" or "(" after "&" but found ${describe(after)}`);
        operands.push(this.orExpression());
      } else if (this.startsUnary(token)) {
        operands.push(this.orExpression());
      } else {
        break;
      }
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands: operands.flatMap((o) => (o.kind === 'and' ? o.operands : [o])) };
  }

  /** or_expr = unary , { ( "|" | "," ) , unary } */
  private orExpression(): TagExpression {
    const operands = [this.unary()];
    while (this.peek().kind === 'or') {
      const operator = this.next();
      const after = this.peek();
      if (!this.startsUnary(after)) this.fail(after, `expected a tag, "!" or "(" after "${operator.text}" but found ${describe(after)}`);
      operands.push(this.unary());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands: operands.flatMap((o) => (o.kind === 'or' ? o.operands : [o])) };
  }

  /** unary = "!" , unary | primary; iterative, and `!!x` is `x`. */
  private unary(): TagExpression {
    let negations = 0;
    while (this.peek().kind === 'not') {
      this.next();
      negations++;
    }
    const token = this.peek();
    if (negations > 0 && token.kind !== 'tag' && token.kind !== 'open') this.fail(token, `expected a tag or "(" after "!" but found ${describe(token)}`);
    const operand = this.primary();
    return negations % 2 === 1 ? { kind: 'not', operand } : operand;
  }

  /** primary = TAG | "(" , expression , ")" */
  private primary(): TagExpression {
    const token = this.next();
    if (token.kind === 'tag') {
      if (++this.tags > MAX_TAG_EXPRESSION_TAGS) this.fail(token, `more than ${MAX_TAG_EXPRESSION_TAGS} tags`);
      return { kind: 'tag', tag: token.text, position: token.position };
    }
    if (token.kind === 'open') {
      if (++this.depth > MAX_TAG_EXPRESSION_DEPTH) this.fail(token, `parentheses nested more than ${MAX_TAG_EXPRESSION_DEPTH} deep`);
      const first = this.peek();
      if (first.kind === 'close') this.fail(first, 'empty group "()"');
      if (!this.startsUnary(first)) this.fail(first, `expected a tag, "!" or "(" after "(" but found ${describe(first)}`);
      const inner = this.expression();
      const close = this.peek();
      if (close.kind !== 'close') this.fail(close, `expected ")" to close the "(" at position ${token.position} but found ${describe(close)}`);
      this.next();
      this.depth--;
      return inner;
    }
    this.fail(token, `expected a tag, "!" or "(" but found ${describe(token)}`);
  }
}

/**
 * Parses a decoded `tags` value. Returns null when it is empty after trimming (no tag filter, §10.3); throws
 * TagExpressionError for anything the grammar rejects.
 */
export function parseTagExpression(input: string): TagExpression | null {
  const tokens = tokenizeTagExpression(input);
  if (tokens.length === 1) return null;
  return new Parser(tokens).parse();
}

/** Reference semantics (§10.3): TAG is true when one of the thing's tags equals it case-insensitively (§2.3). */
export function evaluateTagExpression(expression: TagExpression, tags: readonly string[]): boolean {
  const lower = new Set(tags.map((t) => t.toLowerCase()));
  const evaluate = (e: TagExpression): boolean => {
    switch (e.kind) {
      case 'tag':
        return lower.has(e.tag.toLowerCase());
      case 'not':
        return !evaluate(e.operand);
      case 'and':
        return e.operands.every(evaluate);
      case 'or':
        return e.operands.some(evaluate);
    }
  };
  return evaluate(expression);
}

/** A readable, fully parenthesised rendering: `(game OR games) AND NOT software`. */
export function formatTagExpression(expression: TagExpression): string {
  const wrap = (e: TagExpression) => (e.kind === 'and' || e.kind === 'or' ? `(${formatTagExpression(e)})` : formatTagExpression(e));
  switch (expression.kind) {
    case 'tag':
      return expression.tag;
    case 'not':
      return `NOT ${wrap(expression.operand)}`;
    case 'and':
      return expression.operands.map(wrap).join(' AND ');
    case 'or':
      return expression.operands.map(wrap).join(' OR ');
  }
}
