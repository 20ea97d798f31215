/**
 * How deeply a JSON request body may nest arrays and objects. No request of this API needs more than a few levels
 * (a list of tags inside the body object; GraphQL variables with an input object holding a list), and parsing a
 * megabyte of `[` costs JSON.parse over 150 ms and grows faster than the text: bodies nested deeper are refused
 * before they are parsed.
 */
export const MAX_JSON_NESTING = 64;

/**
 * True when `text` opens more than `max` arrays or objects inside each other, brackets inside strings not counted.
 * One pass over the text, and it stops at the first level too deep. Malformed JSON is not judged here: JSON.parse
 * still reports it.
 */
export function jsonNestingExceeds(text: string, max: number = MAX_JSON_NESTING): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i += 1; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}
