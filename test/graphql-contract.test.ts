import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildASTSchema, buildClientSchema, buildSchema, getIntrospectionQuery, parse, visit, type GraphQLSchema } from 'graphql';
import { CriticalityLevel, diff, DiffRule, type Change } from '@graphql-inspector/core';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { schema } from '../schema/index.js';
import { schemaSdl } from '../schema/sdl.js';

/**
 * Issue 15 (8): `schema.graphql` at the repository root is the GraphQL contract.
 *   - The served schema (in process, over HTTP by the standard introspection query, and at GET /schema.graphql) is
 *     exactly the committed file: changing the schema means running `npm run schema:write` and committing the file.
 *   - The committed file makes no breaking change against its previous version (graphql-inspector's diff), unless
 *     what it removes was deprecated in that version: deprecate first, remove later.
 */

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const SDL_FILE = path.join(ROOT, 'schema.graphql');
const committed = fs.readFileSync(SDL_FILE, 'utf8');

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

function git(...args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/**
 * The version of schema.graphql the current one is judged against: the committed one when the working copy changes
 * it (a developer before committing), otherwise the version before the last commit that changed it (CI, on a clean
 * checkout). Null when there is none: the file's first version, or no git history.
 */
function previousContract(): { sdl: string; from: string } | null {
  const atHead = git('show', 'HEAD:schema.graphql');
  if (atHead !== null && atHead !== committed) return { sdl: atHead, from: 'HEAD' };
  const commits = (git('log', '--format=%H', '-n', '2', '--', 'schema.graphql') ?? '').split('\n').filter(Boolean);
  if (commits.length < 2) return null;
  const sdl = git('show', `${commits[1]}:schema.graphql`);
  return sdl === null ? null : { sdl, from: commits[1]!.slice(0, 12) };
}

/** The changes that break a client of `before`, removals of what `before` had deprecated excepted. */
async function breakingChanges(before: GraphQLSchema, after: GraphQLSchema): Promise<Change[]> {
  const changes = await diff(before, after, [DiffRule.suppressRemovalOfDeprecatedField]);
  return changes.filter((change) => change.criticality.level === CriticalityLevel.Breaking);
}

describe('schema.graphql is the served schema', () => {
  it('in process', () => {
    expect(schemaSdl(schema), 'the schema changed: run `npm run schema:write` and commit schema.graphql').toBe(committed);
  });

  it('over HTTP, through the standard introspection query', async () => {
    const res = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }) }),
    });
    expect(res.status).toBe(200);
    expect(schemaSdl(buildClientSchema(res.json().data))).toBe(committed);
  });

  it('at GET /schema.graphql', async () => {
    const res = await request(app.baseUrl, '/schema.graphql');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.text).toBe(committed);
  });
});

describe('no breaking change without a deprecation', () => {
  it('schema.graphql breaks nothing its previous version offered', async () => {
    const previous = previousContract();
    // The file's first version has nothing to be compared with; every later one is.
    if (previous === null) {
      expect(git('log', '--format=%H', '-n', '2', '--', 'schema.graphql')?.split('\n').filter(Boolean).length ?? 0).toBeLessThan(2);
      return;
    }
    const breaking = await breakingChanges(buildSchema(previous.sdl), buildSchema(committed));
    expect(
      breaking.map((change) => change.message),
      `breaking changes against schema.graphql of ${previous.from}: deprecate first (@deprecated(reason: ...)), remove in a later version`,
    ).toEqual([]);
  });

  it('the check catches a removed field, and lets a deprecated one go', async () => {
    const before = buildSchema('type Query { thing: String, old: Int }');
    expect((await breakingChanges(before, buildSchema('type Query { thing: String }'))).map((c) => c.message)).toEqual([
      "Field 'old' was removed from object type 'Query'",
    ]);
    const deprecated = buildSchema('type Query { thing: String, old: Int @deprecated(reason: "use thing") }');
    expect(await breakingChanges(deprecated, buildSchema('type Query { thing: String }'))).toEqual([]);
    // A changed argument type or a new required argument breaks clients too.
    const args = buildSchema('type Query { thing(id: Int): String }');
    expect(await breakingChanges(args, buildSchema('type Query { thing(id: ID!): String }'))).toHaveLength(1);
  });

  it('the served schema is checked too: removing a field of the committed contract would fail', async () => {
    let inThing = false;
    const withoutTitle = visit(parse(committed), {
      ObjectTypeDefinition: { enter: (node) => void (inThing = node.name.value === 'Thing'), leave: () => void (inThing = false) },
      FieldDefinition: (node) => (inThing && node.name.value === 'title' ? null : undefined),
    });
    const breaking = await breakingChanges(buildSchema(committed), buildASTSchema(withoutTitle));
    expect(breaking.map((change) => change.message)).toEqual(["Field 'title' was removed from object type 'Thing'"]);
  });
});

describe('/docs documents GraphQL for its users', () => {
  it('authentication, limits, pagination, every error code, and links to GraphiQL and the SDL', async () => {
    const res = await request(app.baseUrl, '/docs');
    expect(res.status).toBe(200);
    const page = res.text;
    for (const anchor of ['graphql', 'graphql-auth', 'graphql-limits', 'graphql-pagination', 'graphql-errors', 'graphql-persisted']) {
      expect(page).toContain(`id="${anchor}"`);
    }
    expect(page).toContain('<a href="/graphql">GraphiQL</a>');
    expect(page).toContain('<a href="/schema.graphql">/schema.graphql</a>');
    expect(page).toContain(`deeper than ${app.config.graphqlMaxDepth} levels`);
    expect(page).toContain(`more than\n${app.config.graphqlMaxCost} with`);
    const codes = [...page.matchAll(/<tr><td><code>([A-Z_]+)<\/code><\/td>/g)].map((m) => m[1]);
    expect(codes).toEqual(Object.keys((await import('../schema/error-codes.js')).GRAPHQL_ERROR_CODES));
  });
});
