import fs from 'node:fs';
import { createHash } from 'node:crypto';

/**
 * The GraphQL documents the built-in /dashboard script (src/ops/dashboard-client.js) sends, read from the script
 * itself (its `var QUERY = '...' + '...';`), so they cannot drift from it. Trusted-documents mode
 * (GRAPHQL_TRUSTED_DOCUMENTS) always allows them, keyed by the SHA-256 of their text, so the dashboard keeps working
 * with the allow-list on. test/graphql-persisted.test.ts checks the extraction.
 */
export function dashboardQueryFrom(script: string): string {
  const start = script.indexOf('var QUERY');
  if (start === -1) throw new Error('src/ops/dashboard-client.js: no `var QUERY = ...;` of string literals');
  let at = script.indexOf('=', start);
  let query = '';
  // A scan, not a regular expression: the literals are read once, left to right (test/redos.test.ts).
  while (at !== -1 && at < script.length) {
    const quote = script.indexOf("'", at);
    const end = script.indexOf(';', at);
    if (end !== -1 && (quote === -1 || end < quote)) return query;
    if (quote === -1) break;
    at = quote + 1;
    while (at < script.length && script[at] !== "'") {
      if (script[at] === '\\') at += 1;
      if (script[at] === '\n') throw new Error('src/ops/dashboard-client.js: unterminated string in `var QUERY`');
      query += script[at] ?? '';
      at += 1;
    }
    at += 1;
  }
  throw new Error('src/ops/dashboard-client.js: `var QUERY = ...;` does not end');
}

const SCRIPT = fs.readFileSync(new URL('./dashboard-client.js', import.meta.url), 'utf8');
export const DASHBOARD_QUERY = dashboardQueryFrom(SCRIPT);

export const DASHBOARD_DOCUMENTS: Readonly<Record<string, string>> = Object.freeze({
  [createHash('sha256').update(DASHBOARD_QUERY, 'utf8').digest('hex')]: DASHBOARD_QUERY,
});
