import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, parse } from 'graphql';
import { schema } from '../schema/index.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { resolveAccessToken } from '../src/services/tokens.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';
import type { GraphQLContext } from '../schema/context.js';
import { compileOperations, leafSerializationUnneeded } from '../rest-facade/operations.js';

/**
 * A user with a page of their things is one statement (issue 18: schema/prefetched-things.ts), with the same items,
 * order and visibility as the two-statement read it replaces, which still serves the pages it cannot plan.
 */
let app: TestApp;
let fx: Fixtures;
let carol: UserEntity;
let dave: UserEntity;
let things: ThingEntity[];
let hidden: ThingEntity;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  carol = await fx.user({ username: 'Carol' });
  dave = await fx.user({ username: 'dave' });
  things = [];
  for (let i = 0; i < 4; i++) {
    app.clock.set(`2026-02-0${i + 1}T10:00:00Z`);
    things.push(await fx.thing(carol, { title: `Post ${i}`, url: `https://carol.example/${i}` }));
  }
  app.clock.set('2026-02-08T10:00:00Z');
  hidden = await fx.thing(carol, { title: 'Secret', url: 'https://carol.example/secret', hidden: true });
  app.clock.set('2026-02-20T12:00:00Z');
});
afterAll(() => app?.close());

/** The statements of one request, its token lookup left out, after the same request once (warm caches). */
async function statementsOf(send: () => Promise<void>): Promise<string[]> {
  await send();
  const before = app.queries.length;
  await send();
  return app.queries.slice(before).filter((sql) => !sql.includes('oauth_access_tokens'));
}

const newestFirst = () => [...things].reverse().map((t) => t.id);

describe('REST E3: the user and the page of their things', () => {
  it('is one statement for anyone, hidden things only for the owner', async () => {
    let ids: number[] = [];
    const read = (headers: Record<string, string> = {}) => async () => {
      const res = await request(app.baseUrl, '/rest/v2/users/CAROL/things?full=1&count=3&page=1', { headers });
      expect(res.status).toBe(200);
      ids = res.json().map((t: { id: number }) => t.id);
    };
    expect(await statementsOf(read())).toHaveLength(1);
    expect(ids).toEqual(newestFirst().slice(0, 3));
    const daveToken = await fx.token(dave);
    expect(await statementsOf(read({ Authorization: `Bearer ${daveToken}` }))).toHaveLength(1);
    expect(ids).toEqual(newestFirst().slice(0, 3));
    const carolToken = await fx.token(carol);
    expect(await statementsOf(read({ Authorization: `Bearer ${carolToken}` }))).toHaveLength(1);
    expect(ids).toEqual([hidden.id, ...newestFirst().slice(0, 2)]);
  });

  it("carries the viewer's state per thing in the same statement", async () => {
    await fx.flattr(dave, things[2]!, new Date('2026-02-15T08:00:00Z'));
    await fx.flattr(dave, things[1]!, new Date('2026-01-15T08:00:00Z')); // another month: not flattred now
    const token = await fx.token(dave);
    const res = await request(app.baseUrl, '/rest/v2/users/carol/things', { headers: { Authorization: `Bearer ${token}` } });
    expect(res.json().map((t: { id: number; flattred: boolean; subscribed: boolean }) => [t.id, t.flattred, t.subscribed])).toEqual(
      newestFirst().map((id) => [id, id === things[2]!.id, false]),
    );
  });

  it('reads later pages, empty pages and unknown users in one statement', async () => {
    let res = await request(app.baseUrl, '/rest/v2/users/carol/things?count=3&page=2');
    const page2 = await statementsOf(async () => {
      res = await request(app.baseUrl, '/rest/v2/users/carol/things?count=3&page=2');
    });
    expect(page2).toHaveLength(1);
    expect(res.json().map((t: { id: number }) => t.id)).toEqual(newestFirst().slice(3));
    const empty = await statementsOf(async () => {
      res = await request(app.baseUrl, '/rest/v2/users/dave/things');
    });
    expect(empty).toHaveLength(1);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual([]);
    const unknown = await statementsOf(async () => {
      res = await request(app.baseUrl, '/rest/v2/users/nobody/things');
    });
    expect(unknown).toHaveLength(1);
    expect(res.status).toBe(404);
  });
});

describe('GraphQL user { things }', () => {
  async function run(query: string, variables: Record<string, unknown> = {}, token?: string) {
    const em = app.orm.em.fork();
    const viewer = token ? await resolveAccessToken(em, token) : null;
    const contextValue: GraphQLContext = { em, clock: app.clock, config: app.config, viewer };
    const before = app.queries.length;
    const result = await execute({ schema, document: parse(query), variableValues: variables, contextValue });
    expect(result.errors).toBeUndefined();
    return { data: result.data as any, statements: app.queries.slice(before).filter((sql) => !sql.includes('oauth_access_tokens')) };
  }
  const PAGE = 'query($u: String!, $first: Int, $after: String) { user(username: $u) { username things(first: $first, after: $after) { edges { cursor node { databaseId hidden } } pageInfo { hasNextPage endCursor } } } }';

  it('reads a first page in one statement and a page after a cursor in two, with the same items', async () => {
    const token = await fx.token(carol);
    const first = await run(PAGE, { u: 'carol', first: 2 }, token);
    expect(first.statements).toHaveLength(1);
    expect(first.data.user.things.edges.map((e: any) => e.node.databaseId)).toEqual([hidden.id, ...newestFirst().slice(0, 1)]);
    expect(first.data.user.things.pageInfo.hasNextPage).toBe(true);
    const next = await run(PAGE, { u: 'carol', first: 2, after: first.data.user.things.pageInfo.endCursor }, token);
    expect(next.statements).toHaveLength(2);
    expect(next.data.user.things.edges.map((e: any) => e.node.databaseId)).toEqual(newestFirst().slice(1, 3));
  });

  it('uses the page it read only for the field it planned: aliases with other pages read their own', async () => {
    const result = await run('{ user(username: "carol") { a: things(first: 1) { edges { node { databaseId } } } b: things(first: 2, offset: 1) { edges { node { databaseId } } } } }');
    expect(result.statements).toHaveLength(2);
    expect(result.data.user.a.edges.map((e: any) => e.node.databaseId)).toEqual(newestFirst().slice(0, 1));
    expect(result.data.user.b.edges.map((e: any) => e.node.databaseId)).toEqual(newestFirst().slice(1, 3));
  });

  it('keeps rejecting a page size over the maximum', async () => {
    const em = app.orm.em.fork();
    const contextValue: GraphQLContext = { em, clock: app.clock, config: app.config, viewer: null };
    const result = await execute({ schema, document: parse('{ user(username: "carol") { things(first: 100000) { edges { node { databaseId } } } } }'), contextValue });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'first' });
  });
});

describe('cheaper fields of a thing', () => {
  it('find the text of a category and a language by the id read with the thing', async () => {
    const em = app.orm.em.fork();
    const contextValue: GraphQLContext = { em, clock: app.clock, config: app.config, viewer: null };
    const result = await execute({ schema, document: parse(`{ thing(id: ${things[0]!.id}) { category { id text } language { id text } } }`), contextValue });
    expect(result.errors).toBeUndefined();
    const thing = (result.data as any).thing;
    const categories = (await execute({ schema, document: parse('{ categories { id text } languages { id text } }'), contextValue })).data as any;
    expect(categories.categories).toContainEqual(thing.category);
    expect(categories.languages).toContainEqual(thing.language);
  });

  it('compile the thing lists without leaf serialization only while they select no enum, ID or Float', () => {
    const operations = compileOperations(schema, { maxDepth: app.config.graphqlMaxDepth, maxCost: app.config.graphqlMaxCost });
    const operation = (name: string) => operations.get(name);
    expect(leafSerializationUnneeded(schema, operation('UserThings'))).toBe(true);
    expect(leafSerializationUnneeded(schema, operation('ViewerThings'))).toBe(true);
    expect(leafSerializationUnneeded(schema, operation('UserActivities'))).toBe(false); // the verb is an enum
    expect(leafSerializationUnneeded(schema, parse('{ node(id: "x") { id } }'))).toBe(false);
  });
});
