/**
 * The HTML cleaning of thing titles and descriptions, in one pass over the text each.
 *
 * They used to be the regular expressions `/<br\s*\/?>/gi` and `/<[^>]*>/g`. The second one, scanning globally,
 * restarts at every `<` and reads to the end of the text when no `>` follows: a description of 300,000 `<` took
 * 52 s, during which the process answered nothing else. These functions give exactly the same results (a property
 * test in test/html-text.test.ts compares them with the regular expressions) and read each character a bounded
 * number of times.
 */

/** Removes every `<` … `>` run, as `text.replace(/<[^>]*>/g, '')` does. */
export function stripTags(text: string): string {
  let kept = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf('<', from);
    if (open === -1) break;
    const close = text.indexOf('>', open + 1);
    // No `>` after this `<` means none after any later `<` either: the rest of the text stays as it is.
    if (close === -1) break;
    kept += text.slice(from, open);
    from = close + 1;
  }
  return from === 0 ? text : kept + text.slice(from);
}

/** White space as the regular-expression class `\s` defines it (ECMAScript WhiteSpace and LineTerminator). */
function isRegExpSpace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * The end (exclusive) of a line-break tag starting at `open` (`<br>`, `<BR/>`, `<br  />`: `<br`, any white space,
 * an optional `/`, then `>`), or -1 when none starts there.
 */
function lineBreakTagEnd(text: string, open: number): number {
  if (text.charCodeAt(open + 1) !== 0x42 && text.charCodeAt(open + 1) !== 0x62) return -1; // B or b
  if (text.charCodeAt(open + 2) !== 0x52 && text.charCodeAt(open + 2) !== 0x72) return -1; // R or r
  let at = open + 3;
  while (at < text.length && isRegExpSpace(text.charCodeAt(at))) at += 1;
  if (text.charCodeAt(at) === 0x2f) at += 1; // '/'
  return text.charCodeAt(at) === 0x3e ? at + 1 : -1; // '>'
}

/**
 * Replaces every line-break tag by a newline, as `text.replace(/<br\s*\/?>/gi, '\n')` does. The white space after
 * one `<br` is read once: the next `<` cannot lie inside it.
 */
export function lineBreakTagsToNewlines(text: string): string {
  let replaced = '';
  let from = 0;
  let searchFrom = 0;
  for (;;) {
    const open = text.indexOf('<', searchFrom);
    if (open === -1) break;
    const end = lineBreakTagEnd(text, open);
    if (end === -1) {
      searchFrom = open + 1;
      continue;
    }
    replaced += `${text.slice(from, open)}\n`;
    from = end;
    searchFrom = end;
  }
  return from === 0 ? text : replaced + text.slice(from);
}
