import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { GRAPHQL_ERROR_CODES } from '../schema/error-codes.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * Issue 15 over HTTP: global object identification (node/nodes, ids in mutations), keyset cursor connections and
 * the one error model of resolvers.
 */

let app: TestApp;
let fx: Fixtures;
let alice: UserEntity; // owns things
let bob: UserEntity; // flattrs
let shy: UserEntity; // hides their flattrs
let aliceToken: string;
let bobToken: string;
let shyToken: string;
let things: ThingEntity[];
let hidden: ThingEntity;

const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  alice = await fx.user({ username: 'alice', balanceCents: 1000 });
  bob = await fx.user({ username: 'bob', balanceCents: 1000 });
  shy = await fx.user({ username: 'shy', balanceCents: 1000, hideFlattrs: true });
  aliceToken = await fx.token(alice, ['thing', 'flattr']);
  bobToken = await fx.token(bob, ['thing', 'flattr']);
  shyToken = await fx.token(shy, ['flattr']);
  things = [];
  // Ten things of alice; two pairs share a created_at, so the id decides their order.
  for (let i = 0; i < 10; i++) {
    app.clock.set(at(i < 4 ? Math.floor(i / 2) : i));
    things.push(await fx.thing(alice, { url: `https://example.org/relay/${i}` }));
  }
  app.clock.set(at(20));
  hidden = await fx.thing(alice, { url: 'https://example.org/relay/hidden', hidden: true });
  for (let i = 0; i < 5; i++) await fx.flattr(bob, things[i]!, at(30 + i));
  await fx.flattr(shy, things[0]!, at(40));
  app.clock.set(at(60));
});
afterAll(() => app?.close());

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<{ data?: any; errors?: any[] }> {
  const res = await request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const codes = (result: { errors?: any[] }) => (result.errors ?? []).map((e) => e.extensions?.code);

describe('node and nodes', () => {
  it('answer null for a well-formed id of a missing object, BAD_USER_INPUT for a malformed id or an unknown type', async () => {
    const missing = await gql('query($id: ID!) { node(id: $id) { id } }', { id: b64('Thing:999999') });
    expect(missing.errors).toBeUndefined();
    expect(missing.data).toEqual({ node: null });
    for (const id of ['nope', b64('foo:1'), b64('Thing:abc'), b64('Thing'), b64('Thing:1:2'), '', b64('Activity:share:1')]) {
      const bad = await gql('query($id: ID!) { node(id: $id) { id } }', { id });
      expect(codes(bad), id).toEqual(['BAD_USER_INPUT']);
      expect(bad.errors![0].extensions.argument).toBe('id');
      expect(bad.errors![0].message).not.toMatch(/not been implemented|Unexpected/);
    }
    const many = await gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [b64(`Thing:${things[0]!.id}`), b64('User:999999')] });
    expect(many.data).toEqual({ nodes: [{ id: b64(`Thing:${things[0]!.id}`) }, null] });
    expect(codes(await gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [b64('Thing:1'), 'x!'] }))).toEqual(['BAD_USER_INPUT']);
  });

  it('round-trips every node type: node(id: x.id) { id } answers x', async () => {
    await gql(`mutation { subscribe(thingId: "${b64(`Thing:${things[1]!.id}`)}") { __typename } }`, {}, bobToken);
    const read = await gql(
      `{ user(username: "bob") { id
          flattrs(first: 1) { nodes { id } }
          activities(first: 1) { nodes { id } }
          subscriptions { id } }
         thing(id: ${things[0]!.id}) { id }
         alice: user(username: "alice") { activities(first: 1) { nodes { id verb } } } }`,
      {},
      bobToken,
    );
    expect(read.errors).toBeUndefined();
    const ids: [string, string][] = [
      ['User', read.data.user.id],
      ['Thing', read.data.thing.id],
      ['Flattr', read.data.user.flattrs.nodes[0].id],
      ['Activity', read.data.user.activities.nodes[0].id],
      ['Activity', read.data.alice.activities.nodes[0].id],
      ['ThingSubscription', read.data.user.subscriptions[0].id],
    ];
    for (const [type, id] of ids) {
      const node = await gql('query($id: ID!) { node(id: $id) { __typename id } }', { id }, bobToken);
      expect(node.errors, `${type} ${id}`).toBeUndefined();
      expect(node.data, `${type} ${id}`).toEqual({ node: { __typename: type, id } });
    }
    const all = await gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids.map(([, id]) => id) }, bobToken);
    expect(all.data.nodes.map((n: { id: string }) => n.id)).toEqual(ids.map(([, id]) => id));
  });

  it('apply the visibility rules of the lists', async () => {
    const hiddenId = b64(`Thing:${hidden.id}`);
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: hiddenId })).data.node).toBeNull();
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: hiddenId }, bobToken)).data.node).toBeNull();
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: hiddenId }, aliceToken)).data.node).toEqual({ id: hiddenId });
    // A flattr of a user who hides their flattrs: only for that user.
    const shyFlattrs = await gql('{ viewer { flattrs(first: 1) { nodes { id } } } }', {}, shyToken);
    const shyFlattr = shyFlattrs.data.viewer.flattrs.nodes[0].id;
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: shyFlattr }, bobToken)).data.node).toBeNull();
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: shyFlattr }, shyToken)).data.node).toEqual({ id: shyFlattr });
    // A subscription: only its own user.
    const subscription = b64(`ThingSubscription:${bob.id}:${things[1]!.id}`);
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: subscription }, aliceToken)).data.node).toBeNull();
    expect((await gql('query($id: ID!) { node(id: $id) { id } }', { id: subscription }, bobToken)).data.node).toEqual({ id: subscription });
  });

  it('mutations take the ids node answers, and refuse malformed or foreign ones with BAD_USER_INPUT', async () => {
    const thingId = (await gql(`{ thing(id: ${things[2]!.id}) { id } }`)).data.thing.id;
    const node = await gql('query($id: ID!) { node(id: $id) { ... on Thing { id databaseId } } }', { id: thingId });
    const flattr = await gql('mutation($id: ID!) { flattrThing(id: $id) { __typename ... on FlattrSuccess { thing { id } flattr { id } } } }', { id: node.data.node.id }, shyToken);
    expect(flattr.data.flattrThing).toMatchObject({ __typename: 'FlattrSuccess', thing: { id: thingId } });
    const update = await gql('mutation($id: ID!) { updateThing(id: $id, patch: { title: "Renamed" }) { ... on UpdateThingSuccess { thing { id title } } } }', { id: thingId }, aliceToken);
    expect(update.data.updateThing.thing).toEqual({ id: thingId, title: 'Renamed' });
    const userId = (await gql('{ user(username: "bob") { id } }')).data.user.id;
    const foreign = await gql('mutation($id: ID!) { flattrThing(id: $id) { __typename } }', { id: userId }, shyToken);
    expect(foreign.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'id' });
    const malformed = await gql('mutation($id: ID!) { subscribe(thingId: $id) { __typename } }', { id: '%%%' }, shyToken);
    expect(malformed.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'thingId' });
    const missing = await gql('mutation($id: ID!) { deleteThing(id: $id) { ... on MutationError { code field } } }', { id: b64('Thing:999999') }, aliceToken);
    expect(missing.data.deleteThing).toEqual({ code: 'NOT_FOUND', field: ['id'] });
  });
});

describe('keyset connections', () => {
  const PAGE = `query($first: Int, $after: String, $last: Int, $before: String) {
    user(username: "alice") { things(first: $first, after: $after, last: $last, before: $before) {
      totalCount nodes { databaseId } edges { cursor node { databaseId } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
  const page = async (variables: Record<string, unknown>, token?: string) => {
    const result = await gql(PAGE, variables, token);
    expect(result.errors).toBeUndefined();
    return result.data.user.things;
  };
  /** alice's visible things, newest first, as the list orders them. */
  const expected = () =>
    [...things].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id).map((t) => t.id);

  it('pages forward and backward, with nodes, totalCount and pageInfo', async () => {
    const order = expected();
    const first = await page({ first: 4 });
    expect(first.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(0, 4));
    expect(first.edges.map((e: any) => e.node.databaseId)).toEqual(order.slice(0, 4));
    expect(first.totalCount).toBe(10);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await page({ first: 4, after: first.pageInfo.endCursor });
    expect(second.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(4, 8));
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const third = await page({ first: 4, after: second.pageInfo.endCursor });
    expect(third.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(8));
    expect(third.pageInfo.hasNextPage).toBe(false);
    // last / before
    const tail = await page({ last: 3 });
    expect(tail.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(7));
    expect(tail.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back = await page({ last: 3, before: tail.pageInfo.startCursor });
    expect(back.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(4, 7));
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const start = await page({ last: 10, before: second.edges[0].cursor });
    expect(start.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(0, 4));
    expect(start.pageInfo.hasPreviousPage).toBe(false);
  });

  it("pages a thing's flattrs both ways, ties broken by id, without a hiding user's flattrs except for that user", async () => {
    // Six flattrs of one thing, three of them at one instant; one by a user who hides their flattrs.
    const thing = await fx.thing(await fx.user(), { url: 'https://example.org/relay/flattred' });
    const flattrers: UserEntity[] = [];
    for (let i = 0; i < 5; i++) flattrers.push(await fx.user({ balanceCents: 1000 }));
    for (const [i, user] of flattrers.entries()) await fx.flattr(user, thing, at(50 + Math.min(i, 2)));
    await fx.flattr(shy, thing, at(51));
    const rows: { id: number; user_id: number; minute: number }[] = await app.orm.em
      .getConnection()
      .execute('select id, user_id, extract(epoch from created_at)::int / 60 as minute from flattrs where thing_id = ?', [thing.id]);
    expect(rows).toHaveLength(6);
    const made = rows.map((r) => ({ id: r.id, user: r.user_id, minute: r.minute }));
    const FLATTRS = `query($id: Int!, $first: Int, $after: String, $last: Int, $before: String) {
      thing(id: $id) { flattrs(first: $first, after: $after, last: $last, before: $before) {
        totalCount nodes { databaseId } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
    const flattrsPage = async (variables: Record<string, unknown>, token?: string) => {
      const result = await gql(FLATTRS, { id: thing.id, ...variables }, token);
      expect(result.errors).toBeUndefined();
      return result.data.thing.flattrs;
    };
    const minuteOf = new Map(made.map((f) => [f.id, f.minute]));
    const newestFirst = (ids: number[]) => [...ids].sort((a, b) => minuteOf.get(b)! - minuteOf.get(a)! || b - a);
    // Three at minute 52 and two at 51 (one of them shy's): ties the id must order.
    expect(new Set(made.map((f) => f.minute)).size).toBe(3);
    for (const [token, visible] of [
      [undefined, made.filter((f) => f.user !== shy.id)],
      [shyToken, made],
    ] as const) {
      const order = newestFirst(visible.map((f) => f.id));
      const first = await flattrsPage({ first: 2 }, token);
      expect(first.totalCount).toBe(order.length);
      const forward = [...first.nodes];
      let cursor = first.pageInfo.endCursor;
      for (let more = first.pageInfo.hasNextPage; more; ) {
        const next = await flattrsPage({ first: 2, after: cursor }, token);
        forward.push(...next.nodes);
        cursor = next.pageInfo.endCursor;
        more = next.pageInfo.hasNextPage;
      }
      expect(forward.map((n: any) => n.databaseId)).toEqual(order);
      const tail = await flattrsPage({ last: 2 }, token);
      expect(tail.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(-2));
      const before = await flattrsPage({ last: 3, before: tail.pageInfo.startCursor }, token);
      expect(before.nodes.map((n: any) => n.databaseId)).toEqual(order.slice(-5, -2));
    }
  });

  it('an empty page has null cursors', async () => {
    const order = expected();
    const last = await page({ first: 1, after: (await page({ first: 10 })).pageInfo.endCursor });
    expect(last).toMatchObject({ nodes: [], edges: [], pageInfo: { hasNextPage: false, startCursor: null, endCursor: null } });
    expect(order).toHaveLength(10);
    const none = await page({ first: 0 });
    expect(none.pageInfo).toMatchObject({ startCursor: null, endCursor: null });
    const empty = await gql('{ user(username: "shy") { things(first: 5) { totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }');
    expect(empty.data.user.things).toEqual({
      totalCount: 0,
      nodes: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('stays stable under concurrent inserts and deletes: no repeats, nothing skipped', async () => {
    const owner = await fx.user();
    const made: ThingEntity[] = [];
    for (let i = 0; i < 6; i++) {
      app.clock.set(at(100 + i));
      made.push(await fx.thing(owner, { url: `https://example.org/stable/${i}` }));
    }
    const Q = `query($after: String) { user(username: "${owner.username}") { things(first: 3, after: $after) { nodes { databaseId } pageInfo { endCursor } } } }`;
    const one = (await gql(Q)).data.user.things;
    const firstIds = one.nodes.map((n: any) => n.databaseId);
    expect(firstIds).toEqual([made[5]!.id, made[4]!.id, made[3]!.id]);
    // Between the reads: a newer thing is inserted, and one of the first page and one of the next one are deleted.
    app.clock.set(at(200));
    await fx.thing(owner, { url: 'https://example.org/stable/new' });
    const em = app.orm.em.fork();
    await em.getConnection().execute('delete from things where id in (?, ?)', [made[4]!.id, made[1]!.id]);
    const two = (await gql(Q, { after: one.pageInfo.endCursor })).data.user.things;
    const secondIds = two.nodes.map((n: any) => n.databaseId);
    expect(secondIds).toEqual([made[2]!.id, made[0]!.id]);
    expect(secondIds.filter((id: number) => firstIds.includes(id))).toEqual([]);
    app.clock.set(at(60));
  });

  it('every connection has totalCount and nodes, and takes first/last/after/before', async () => {
    const result = await gql(
      `{ user(username: "bob") {
          flattrs(first: 2) { totalCount nodes { id } pageInfo { endCursor } }
          activities(first: 2) { totalCount nodes { id } pageInfo { endCursor } }
          things(last: 1) { totalCount nodes { id } } }
         thing(id: ${things[0]!.id}) { flattrs(last: 1) { totalCount nodes { owner { username } } } }
         searchThings(first: 2) { totalCount nodes { id } pageInfo { endCursor } } }`,
      {},
      bobToken,
    );
    expect(result.errors).toBeUndefined();
    const d = result.data;
    expect(d.user.flattrs.totalCount).toBeGreaterThanOrEqual(5);
    expect(d.user.flattrs.nodes).toHaveLength(2);
    expect(d.user.activities.nodes).toHaveLength(2);
    expect(d.user.things).toEqual({ totalCount: 0, nodes: [] });
    // shy hides their flattrs: not counted for bob.
    expect(d.thing.flattrs).toEqual({ totalCount: 1, nodes: [{ owner: { username: 'bob' } }] });
    expect(d.searchThings.nodes).toHaveLength(2);
    const next = await gql('query($a: String) { searchThings(first: 2, after: $a) { nodes { id } } }', { a: d.searchThings.pageInfo.endCursor }, bobToken);
    expect(next.data.searchThings.nodes.map((n: any) => n.id)).not.toContain(d.searchThings.nodes[0].id);
    const acts = await gql('query($a: String) { user(username: "bob") { activities(first: 2, after: $a) { nodes { id } } } }', { a: d.user.activities.pageInfo.endCursor }, bobToken);
    expect(acts.data.user.activities.nodes.map((n: any) => n.id)).not.toContain(d.user.activities.nodes[1].id);
  });

  it('refuses page sizes over the cap or negative, malformed cursors and cursors of another connection', async () => {
    const bad = async (args: string) => {
      const result = await gql(`{ user(username: "alice") { things(${args}) { totalCount } } }`);
      expect(codes(result), args).toEqual(['BAD_USER_INPUT']);
      return result.errors![0].extensions.argument;
    };
    expect(await bad('first: 101')).toBe('first');
    expect(await bad('first: -1')).toBe('first');
    expect(await bad('last: 101')).toBe('last');
    expect(await bad('after: "nope"')).toBe('after');
    expect(await bad(`before: "${Buffer.from('{"v":1,"k":["x"]}').toString('base64url')}"`)).toBe('before');
    expect(await bad('offset: -1')).toBe('offset');
    expect(await bad('first: 1, last: 1')).toBe('last');
    const searchCursor = (await gql('{ searchThings(first: 1) { pageInfo { endCursor } } }')).data.searchThings.pageInfo.endCursor;
    expect(await bad(`after: "${searchCursor}"`)).toBe('after');
    expect(codes(await gql('{ searchThings(first: 500) { totalCount } }'))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('one error model', () => {
  it('every error of a set of bad requests carries a code of the documented set', async () => {
    const requests: [string, Record<string, unknown>, string?][] = [
      ['mutation { createThing(input: { url: "https://example.org/x" }) { __typename } }', {}],
      ['mutation { createThing(input: { url: "https://example.org/x" }) { __typename } }', {}, shyToken],
      ['{ stats { totals { users } } }', {}, bobToken],
      ['{ node(id: "Zm9vOjE=") { id } }', {}],
      ['{ things(ids: [' + Array.from({ length: 101 }, (_, i) => i + 1).join(',') + ']) { id } }', {}],
      ['{ searchThings(tags: "a & (b") { totalCount } }', {}],
      ['{ lookupThing(url: "https://flattr.com/submit/auto?url=https%3A%2F%2Fexample.org%2Frelay%2F0&user_id=bob") { id } }', {}],
      ['{ user(username: "a\\u0000b") { id } }', {}],
      ['{ user(username: "alice") { things(first: 1000) { totalCount } } }', {}],
      ['query($id: ID!) { thingInputProblem(id: $id, patch: {}) { code } }', { id: 'bad' }, aliceToken],
      ['{ stats { totals { users } flattrs(from: "2026-13-01") { count } } }', {}],
      ['{ nope }', {}],
      ['{', {}],
    ];
    for (const [query, variables, token] of requests) {
      const result = await gql(query, variables, token);
      expect(result.errors?.length, query).toBeGreaterThan(0);
      for (const error of result.errors!) {
        expect(Object.keys(GRAPHQL_ERROR_CODES), `${query}: ${JSON.stringify(error)}`).toContain(error.extensions?.code);
        expect(error.message, query).not.toBe('Unexpected error.');
      }
    }
  });

  it('scope-auth: UNAUTHENTICATED without a token, FORBIDDEN with requiredScope without the scope', async () => {
    const anonymous = await gql('mutation { createThing(input: { url: "https://example.org/y" }) { __typename } }');
    expect(anonymous.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
    const noScope = await gql('mutation { createThing(input: { url: "https://example.org/y" }) { __typename } }', {}, shyToken);
    expect(noScope.errors![0].extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'thing' });
  });

  it('lookup and search errors keep their domain reason and the argument', async () => {
    const lookup = await gql(`{ lookupThing(url: "https://flattr.com/submit/auto?url=https%3A%2F%2Fexample.org%2Frelay%2F0&user_id=bob") { id } }`);
    expect(lookup.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'VALIDATION', argument: 'url' });
    const tags = await gql('{ searchThings(tags: "a & (b") { totalCount } }');
    expect(tags.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'tags', position: expect.any(Number) });
  });

  it('MutationError.field names the offending input', async () => {
    const FIELD = 'mutation($i: ThingInput!) { createThing(input: $i) { ... on MutationError { code field } } }';
    expect((await gql(FIELD, { i: { url: 'https://example.org/f1', title: 'x'.repeat(101) } }, aliceToken)).data.createThing).toEqual({ code: 'VALIDATION', field: ['input', 'title'] });
    expect((await gql(FIELD, { i: { url: 'https://example.org/f2', tags: ['x'.repeat(300)] } }, aliceToken)).data.createThing).toEqual({ code: 'VALIDATION', field: ['input', 'tags'] });
    expect((await gql(FIELD, { i: { url: things[0]!.url } }, aliceToken)).data.createThing).toEqual({ code: 'VALIDATION', field: ['input', 'url'] });
    const patch = await gql(`mutation($id: ID!) { updateThing(id: $id, patch: { language: "xx" }) { ... on MutationError { code field } } }`, { id: b64(`Thing:${things[3]!.id}`) }, aliceToken);
    expect(patch.data.updateThing).toEqual({ code: 'VALIDATION', field: ['patch', 'language'] });
    const own = await gql(`mutation($id: ID!) { flattrThing(id: $id) { ... on MutationError { code field } } }`, { id: b64(`Thing:${things[3]!.id}`) }, aliceToken);
    expect(own.data.flattrThing).toEqual({ code: 'FLATTR_OWNER', field: null });
    const url = await gql('mutation { flattrUrl(url: "ftp://x") { ... on MutationError { code field } } }', {}, bobToken);
    expect(url.data.flattrUrl).toEqual({ code: 'INVALID_PARAMETERS', field: ['url'] });
  });
});
