import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, parse } from 'graphql';
import { schema } from '../schema/index.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { resolveAccessToken } from '../src/services/tokens.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';
import type { GraphQLContext } from '../schema/context.js';

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity;
let bob: UserEntity;
let things: ThingEntity[];

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  alice = await fx.user({ username: 'alice', email: 'alice@example.org' });
  bob = await fx.user({ username: 'bob', email: 'bob@example.org' });
  const owners: UserEntity[] = [];
  for (let i = 0; i < 10; i++) owners.push(await fx.user());
  things = [];
  for (let i = 0; i < 30; i++) things.push(await fx.thing(owners[i % owners.length]!));
  await fx.flattr(bob, things[0]!);
});
afterAll(() => app?.close());

async function run(query: string, variables: Record<string, unknown> = {}, token?: string) {
  const em = app.orm.em.fork();
  const viewer = token ? await resolveAccessToken(em, token) : null;
  const contextValue: GraphQLContext = { em, clock: app.clock, config: app.config, viewer };
  return execute({ schema, document: parse(query), variableValues: variables, contextValue });
}

async function post(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
}

describe('POST /graphql', () => {
  it('answers a categories query', async () => {
    const res = await post('{ categories { id text } }');
    expect(res.status).toBe(200);
    expect(res.json().data.categories).toHaveLength(7);
    expect(res.json().data.categories[6]).toEqual({ id: 'rest', text: 'Other' });
  });

  it('resolves the viewer from a bearer token and rejects an invalid one with 401', async () => {
    const token = await fx.token(alice, ['email']);
    const res = await post('{ viewer { username email registeredAt } }', {}, { Authorization: `Bearer ${token}` });
    expect(res.json().data).toEqual({ viewer: { username: 'alice', email: 'alice@example.org', registeredAt: null } });

    const anonymous = await post('{ viewer { username } }');
    expect(anonymous.json().data).toEqual({ viewer: null });

    const invalid = await post('{ viewer { username } }', {}, { Authorization: 'Bearer nope' });
    expect(invalid.status).toBe(401);
    expect(invalid.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('serves GraphiQL to a browser on GET', async () => {
    const res = await request(app.baseUrl, '/graphql', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('GraphiQL');
  });

  it('rejects documents deeper than the depth limit', async () => {
    // Depth counts nested fields (not fragments). Introspection has its own bounds (test/graphql-tooling.test.ts).
    const nested = (innermost: string) =>
      `{ thing(id: 1) { owner { things(first: 1) { edges { node { owner { things(first: 1) { edges { node { owner { things(first: 1) { ${innermost} } } } } } } } } } } } }`;
    const atLimit = await post(nested('totalCount'));
    expect(atLimit.json().errors).toBeUndefined();
    const tooDeep = await post(nested('pageInfo { hasNextPage }'), {}, { Accept: 'application/graphql-response+json' });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.json().errors).toEqual([
      { message: 'Query is too deep: depth 13 exceeds the limit of 12', extensions: { code: 'QUERY_TOO_DEEP' } },
    ]);
  });

  it('rejects documents over the cost limit', async () => {
    const aliases = Array.from({ length: 400 }, (_, i) => `c${i}: categories { id text }`).join(' ');
    const res = await post(`{ ${aliases} }`, {}, { Accept: 'application/graphql-response+json' });
    expect(res.status).toBe(400);
    expect(res.json().errors[0].extensions.code).toBe('QUERY_TOO_COSTLY');
    expect(res.json().errors[0].message).toMatch(/estimated cost \d+ exceeds the limit of 20000/);
  });
});

describe('schema', () => {
  it('exposes things with databaseId and a Relay global id that node() resolves', async () => {
    const thing = things[3]!;
    const first = await run('query($id: Int!) { thing(id: $id) { id databaseId url owner { username } } }', { id: thing.id });
    const data = first.data as { thing: { id: string; databaseId: number; url: string } };
    expect(data.thing.databaseId).toBe(thing.id);
    expect(Buffer.from(data.thing.id, 'base64').toString()).toBe(`Thing:${thing.id}`);
    const node = await run('query($id: ID!) { node(id: $id) { ... on Thing { databaseId url } } }', { id: data.thing.id });
    expect(node.data).toEqual({ node: { databaseId: thing.id, url: thing.url } });

    const user = await run('{ user(username: "ALICE") { id username } }');
    const userId = (user.data as { user: { id: string } }).user.id;
    const userNode = await run('query($id: ID!) { node(id: $id) { ... on User { username } } }', { id: userId });
    expect(userNode.data).toEqual({ node: { username: 'alice' } });
  });

  it('guards viewer-specific and owner-only fields with scope-auth', async () => {
    const thing = things[0]!;
    const query = 'query($id: Int!) { thing(id: $id) { viewerState { flattred subscribed } ownerView { lastFlattrAt updatedAt } flattrCount } }';
    expect((await run(query, { id: thing.id })).data).toEqual({ thing: { viewerState: null, ownerView: null, flattrCount: 1 } });
    const bobToken = await fx.token(bob);
    expect((await run(query, { id: thing.id }, bobToken)).data).toEqual({
      thing: { viewerState: { flattred: true, subscribed: false }, ownerView: null, flattrCount: 1 },
    });
  });

  it('hides email and registeredAt of other users even with every scope', async () => {
    const token = await fx.token(bob, ['email', 'extendedread']);
    const result = await run('{ user(username: "alice") { email registeredAt } viewer { email registeredAt } }', {}, token);
    expect(result.errors).toBeUndefined();
    const data = result.data as { user: unknown; viewer: { email: string; registeredAt: string } };
    expect(data.user).toEqual({ email: null, registeredAt: null });
    expect(data.viewer.email).toBe('bob@example.org');
    expect(typeof data.viewer.registeredAt).toBe('string');
  });

  it('returns things(ids) in request order and rejects more than 100 ids', async () => {
    const ids = [things[5]!.id, 424242, things[1]!.id, things[5]!.id];
    const result = await run('query($ids: [Int!]!) { things(ids: $ids) { databaseId } }', { ids });
    expect(result.data).toEqual({ things: [{ databaseId: things[5]!.id }, { databaseId: things[1]!.id }] });
    const tooMany = await run('query($ids: [Int!]!) { things(ids: $ids) { databaseId } }', { ids: Array.from({ length: 101 }, (_, i) => i + 1) });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'ids', maxIds: 100 });
  });

  it('loads owners and viewer state in a constant number of queries (no N+1)', async () => {
    const token = await fx.token(bob);
    const query = 'query($ids: [Int!]!) { things(ids: $ids) { title owner { username } viewerState { flattred subscribed } } }';
    async function countQueries(ids: number[]): Promise<number> {
      await run(query, { ids }, token); // warm the token lookup path
      const before = app.queries.length;
      const result = await run(query, { ids }, token);
      expect(result.errors).toBeUndefined();
      return app.queries.length - before;
    }
    const few = await countQueries(things.slice(0, 3).map((t) => t.id));
    const many = await countQueries(things.map((t) => t.id));
    expect(many).toBe(few);
    // token lookup + things + owners + flattred + subscribed
    expect(many).toBeLessThanOrEqual(5);
  });

  it('reads a search page with its owners and viewer state in one statement after the ordered ids', async () => {
    const token = await fx.token(bob);
    const query = 'query($n: Int!) { searchThings(first: $n, sort: FLATTRS) { nodes { title owner { username } viewerState { flattred subscribed } } } }';
    async function countQueries(n: number): Promise<number> {
      await run(query, { n }, token);
      const before = app.queries.length;
      const result = await run(query, { n }, token);
      expect(result.errors).toBeUndefined();
      expect((result.data as any).searchThings.nodes).toHaveLength(Math.min(n, things.length));
      return app.queries.length - before;
    }
    // token lookup + the page's ids + the things with their owners and the viewer's state
    expect(await countQueries(2)).toBe(3);
    expect(await countQueries(things.length)).toBe(3);
  });

  it('lists categories and languages from the reference data', async () => {
    const result = await run('{ categories { id } languages { id text } }');
    const data = result.data as { categories: { id: string }[]; languages: { id: string; text: string }[] };
    expect(data.categories.map((c) => c.id)).toEqual(['text', 'images', 'video', 'audio', 'software', 'people', 'rest']);
    expect(data.languages).toHaveLength(48);
    expect(data.languages[0]).toEqual({ id: 'en_GB', text: 'English' });
  });
});

describe('connections for GraphQL clients', () => {
  it('page through a user’s things with first/after and pageInfo', async () => {
    const owner = (await run('{ thing(id: ' + things[0]!.id + ') { owner { username } } }')).data as { thing: { owner: { username: string } } };
    const query = 'query($u: String!, $after: String) { user(username: $u) { things(first: 2, after: $after) { edges { cursor node { databaseId } } pageInfo { hasNextPage endCursor } } } }';
    const first = (await run(query, { u: owner.thing.owner.username })).data as any;
    expect(first.user.things.edges).toHaveLength(2);
    expect(first.user.things.pageInfo.hasNextPage).toBe(true);
    const second = (await run(query, { u: owner.thing.owner.username, after: first.user.things.pageInfo.endCursor })).data as any;
    expect(second.user.things.edges.length).toBeGreaterThan(0);
    expect(second.user.things.edges[0].node.databaseId).not.toBe(first.user.things.edges[1].node.databaseId);
  });

  it('list activities with verbs and the flattrs on a thing', async () => {
    const result = await run('{ user(username: "bob") { activities(first: 5) { edges { node { verb published actor { username } thing { databaseId } } } } } }');
    expect(result.errors).toBeUndefined();
    const edges = (result.data as any).user.activities.edges;
    expect(edges[0].node).toEqual({ verb: 'LIKE', published: expect.any(String), actor: { username: 'bob' }, thing: { databaseId: things[0]!.id } });
    const flattrs = await run(`{ thing(id: ${things[0]!.id}) { flattrs(first: 10) { edges { node { owner { username } source period } } } } }`);
    expect((flattrs.data as any).thing.flattrs.edges.map((e: any) => e.node.owner.username)).toEqual(['bob']);
  });
});
