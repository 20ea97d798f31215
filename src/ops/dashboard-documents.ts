import fs from 'node:fs';
import { createHash } from 'node:crypto';

/**
 * The GraphQL documents the built-in /dashboard script (src/ops/dashboard-client.js) sends, read from the script
 * itself (its `var QUERY = '...' + '...';`), so they cannot drift from it. Trusted-documents mode
 * (GRAPHQL_TRUSTED_DOCUMENTS) always allows them, keyed by the SHA-256 of their text, so the dashboard keeps working
 * with the allow-list on. test/graphql-persisted.test.ts checks the extraction.
 */
export function dashboardQueryFrom(script: string): string {
  const match = /\bvar QUERY\s*=\s*((?:\s*'(?:[^'\\\n]|\\.)*'\s*\+?)+);/.exec(script);
  if (!match) throw new Error('src/ops/dashboard-client.js: no `var QUERY = ...;` of string literals');
  return [...match[1]!.matchAll(/'((?:[^'\\\n]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')).join('');
}

const SCRIPT = fs.readFileSync(new URL('./dashboard-client.js', import.meta.url), 'utf8');
export const DASHBOARD_QUERY = dashboardQueryFrom(SCRIPT);

export const DASHBOARD_DOCUMENTS: Readonly<Record<string, string>> = Object.freeze({
  [createHash('sha256').update(DASHBOARD_QUERY, 'utf8').digest('hex')]: DASHBOARD_QUERY,
});
