import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Client, fetchExchange, gql, type AnyVariables, type DocumentInput, type OperationContext, type OperationResult } from '@urql/core';
import { cacheExchange, type CacheExchangeOpts } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { fetchIntrospection } from '../scripts/codegen.js';
import { encodeGlobalId as globalId } from '../schema/global-id.js';
import type { IntrospectionQuery } from 'graphql';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * Issue 15, "tested with real clients": urql (@urql/core) with Graphcache, its normalized cache, against the real
 * server over HTTP. Graphcache keys every `Node` by `__typename` and global `id`, so it only works when ids are
 * stable and unique per type, connections follow the Relay shape, and a mutation result names the object it changed:
 * these tests page through a connection with `first`/`after`, merge the pages with Graphcache's own
 * `relayPagination()`, and see a mutation's answer update an earlier query in the cache without a request.
 */

let app: TestApp;
let bob: UserEntity; // owns the things
let alice: UserEntity; // flattrs
let bobToken: string;
let aliceToken: string;
let things: ThingEntity[]; // oldest first
let introspection: IntrospectionQuery;

const T0 = Date.parse('2026-03-01T00:00:00Z');

beforeAll(async () => {
  app = await startTestApp();
  const fx = new Fixtures(app.orm, app.clock);
  bob = await fx.user({ username: 'bob' });
  alice = await fx.user({ username: 'alice', balanceCents: 1000 });
  bobToken = await fx.token(bob, ['thing']);
  aliceToken = await fx.token(alice, ['flattr']);
  things = [];
  for (let i = 1; i <= 7; i++) {
    app.clock.set(new Date(T0 + i * 60_000));
    things.push(await fx.thing(bob, { url: `https://example.org/bob/${i}`, title: `Post ${i}` }));
  }
  app.clock.set(new Date('2026-03-10T12:00:00Z'));
  // Graphcache is given the live schema (the standard introspection query), so it matches fragments on unions
  // (the MutationError results) exactly instead of guessing.
  introspection = await fetchIntrospection(`${app.baseUrl}/graphql`);
});

afterAll(async () => {
  await app?.close();
});

/**
 * Graphcache reports (outside production) every entity it cannot key, every fragment it has to match by guessing and
 * every misconfigured resolver, as a "warn" or "error" to its logger: a test fails on any. One `keys` entry is needed:
 * every Node has an `id`, Graphcache embeds PageInfo, *Connection and *Edge types in their parent by their names and
 * does not store the mutation payloads (they hang off the uncached Mutation root), but ThingViewerState has no id and
 * is embedded in its Thing on purpose (`keys: () => null`).
 */
let complaints: string[] = [];
beforeEach(() => {
  complaints = [];
});
afterEach(() => {
  expect(complaints).toEqual([]);
});

interface TestClient {
  client: Client;
  /** Requests that reached the network, as "operationName" per request. */
  requests: string[];
}

/** A urql client with Graphcache against the test server, counting the requests it sends. */
function makeClient(token: string, cache: Pick<CacheExchangeOpts, 'resolvers'> = {}): TestClient {
  const requests: string[] = [];
  const countingFetch: typeof fetch = async (input, init) => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { operationName?: string }) : {};
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    requests.push(body.operationName ?? url.searchParams.get('operationName') ?? '?');
    return fetch(input, init);
  };
  const client = new Client({
    url: `${app.baseUrl}/graphql`,
    fetch: countingFetch,
    fetchOptions: { headers: { Authorization: `Bearer ${token}` } },
    exchanges: [
      cacheExchange({
        schema: introspection,
        logger: (severity, message) => {
          if (severity === 'warn' || severity === 'error') complaints.push(message);
        },
        keys: { ThingViewerState: () => null },
        ...cache,
      }),
      fetchExchange,
    ],
  });
  return { client, requests };
}

async function query<Data, Variables extends AnyVariables>(
  client: Client,
  document: DocumentInput<Data, Variables>,
  variables: Variables,
  context?: Partial<OperationContext>,
): Promise<OperationResult<Data, Variables>> {
  const result = await client.query(document, variables, context).toPromise();
  expect(result.error).toBeUndefined();
  return result;
}

const USER_THINGS = gql`
  query UserThings($username: String!, $first: Int!, $after: String) {
    user(username: $username) {
      id
      things(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          databaseId
          title
        }
      }
    }
  }
`;

interface UserThingsPage {
  totalCount?: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: { id: string; databaseId: number; title: string }[];
}
interface UserThingsData {
  user: { id: string; things: UserThingsPage } | null;
}

describe('urql with Graphcache pages through a connection', () => {
  it('first/after until hasNextPage is false: every thing once, newest first, totalCount on every page', async () => {
    const { client, requests } = makeClient(aliceToken);
    const pages: string[][] = [];
    const totals: number[] = [];
    let after: string | null = null;
    for (;;) {
      const { data } = await query<UserThingsData, AnyVariables>(client, USER_THINGS, { username: 'bob', first: 3, after });
      const connection: UserThingsPage = data!.user!.things;
      pages.push(connection.nodes.map((n) => n.title));
      totals.push(connection.totalCount!);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
      expect(after).toEqual(expect.any(String));
    }
    expect(pages).toEqual([
      ['Post 7', 'Post 6', 'Post 5'],
      ['Post 4', 'Post 3', 'Post 2'],
      ['Post 1'],
    ]);
    expect(totals).toEqual([7, 7, 7]);
    expect(requests).toEqual(['UserThings', 'UserThings', 'UserThings']);

    // Every page is in the normalized cache under its arguments: reading the first one again sends nothing.
    const again = await query<UserThingsData, AnyVariables>(client, USER_THINGS, { username: 'bob', first: 3, after: null }, { requestPolicy: 'cache-only' });
    expect(again.data!.user!.things.nodes.map((n) => n.databaseId)).toEqual([things[6].id, things[5].id, things[4].id]);
    expect(requests).toHaveLength(3);
  });

  it("relayPagination() merges the pages into one list in the cache, in the server's order", async () => {
    // relayPagination rebuilds the connection from edges/nodes and pageInfo only, so this query leaves totalCount out.
    const MERGED = gql`
      query UserThingsMerged($username: String!, $first: Int!, $after: String) {
        user(username: $username) {
          id
          things(first: $first, after: $after) {
            pageInfo {
              hasNextPage
              endCursor
            }
            nodes {
              id
              title
            }
          }
        }
      }
    `;
    const { client, requests } = makeClient(aliceToken, { resolvers: { User: { things: relayPagination() } } });
    const seen: number[] = [];
    let after: string | null = null;
    let last: UserThingsData | undefined;
    do {
      last = (await query<UserThingsData, AnyVariables>(client, MERGED, { username: 'bob', first: 3, after })).data;
      seen.push(last!.user!.things.nodes.length);
      after = last!.user!.things.pageInfo.endCursor;
    } while (last!.user!.things.pageInfo.hasNextPage);
    // Each answer is the merged list so far.
    expect(seen).toEqual([3, 6, 7]);
    expect(requests).toEqual(['UserThingsMerged', 'UserThingsMerged', 'UserThingsMerged']);

    // The cache holds one merged list: read with the first page's arguments, from the cache only.
    const merged = await query<UserThingsData, AnyVariables>(client, MERGED, { username: 'bob', first: 3, after: null }, { requestPolicy: 'cache-only' });
    const connection = merged.data!.user!.things;
    expect(connection.nodes.map((n) => n.title)).toEqual(['Post 7', 'Post 6', 'Post 5', 'Post 4', 'Post 3', 'Post 2', 'Post 1']);
    expect(connection.nodes.map((n) => n.id)).toEqual([...things].reverse().map((t) => globalId('Thing', t.id)));
    expect(connection.pageInfo.hasNextPage).toBe(false);
    expect(requests).toHaveLength(3);
  });
});

const THING = gql`
  query Thing($id: Int!) {
    thing(id: $id) {
      id
      title
      flattrCount
      viewerState {
        flattred
      }
    }
  }
`;
interface ThingData {
  thing: { id: string; title: string; flattrCount: number; viewerState: { flattred: boolean } | null } | null;
}

const FLATTR = gql`
  mutation Flattr($id: ID!) {
    flattrThing(id: $id) {
      __typename
      ... on FlattrSuccess {
        thing {
          id
          flattrCount
          viewerState {
            flattred
          }
        }
      }
      ... on MutationError {
        code
        message
      }
    }
  }
`;

const UPDATE = gql`
  mutation Rename($id: ID!, $title: String!) {
    updateThing(id: $id, patch: { title: $title }) {
      __typename
      ... on UpdateThingSuccess {
        thing {
          id
          title
        }
      }
      ... on MutationError {
        code
        message
      }
    }
  }
`;

describe("urql with Graphcache: a mutation's answer updates what was read before", () => {
  it('flattrThing and updateThing return the Thing; the earlier query shows the new values from the cache alone', async () => {
    const thing = things[0];
    const { client, requests } = makeClient(aliceToken);
    const before = await query<ThingData, AnyVariables>(client, THING, { id: thing.id });
    expect(before.data!.thing).toEqual({ id: globalId('Thing', thing.id), title: 'Post 1', flattrCount: 0, viewerState: { flattred: false } });

    // A live subscription to the same query, as a UI component holds one: it must hear of the mutations.
    const live: ThingData[] = [];
    const subscription = client.query(THING, { id: thing.id }).subscribe((result) => {
      if (result.data) live.push(result.data as ThingData);
    });
    expect(live.map((d) => d.thing!.flattrCount)).toEqual([0]); // answered from the cache at once

    const flattred = await client.mutation(FLATTR, { id: globalId('Thing', thing.id) }).toPromise();
    expect(flattred.error).toBeUndefined();
    expect(flattred.data.flattrThing).toEqual({
      __typename: 'FlattrSuccess',
      thing: { id: globalId('Thing', thing.id), flattrCount: 1, viewerState: { flattred: true } },
    });
    expect(requests).toEqual(['Thing', 'Flattr']);

    const afterFlattr = await query<ThingData, AnyVariables>(client, THING, { id: thing.id }, { requestPolicy: 'cache-only' });
    expect(afterFlattr.data!.thing).toMatchObject({ title: 'Post 1', flattrCount: 1, viewerState: { flattred: true } });

    // The owner renames it. A token per operation: urql's context replaces the client's fetchOptions.
    const renamed = await client
      .mutation(UPDATE, { id: globalId('Thing', thing.id), title: 'Renamed by its owner' }, { fetchOptions: { headers: { Authorization: `Bearer ${bobToken}` } } })
      .toPromise();
    expect(renamed.error).toBeUndefined();
    expect(renamed.data.updateThing).toMatchObject({ __typename: 'UpdateThingSuccess', thing: { title: 'Renamed by its owner' } });

    const afterRename = await query<ThingData, AnyVariables>(client, THING, { id: thing.id }, { requestPolicy: 'cache-only' });
    expect(afterRename.data!.thing).toEqual({ id: globalId('Thing', thing.id), title: 'Renamed by its owner', flattrCount: 1, viewerState: { flattred: true } });
    // Only the two mutations went out after the first query; the cache answered every read.
    expect(requests).toEqual(['Thing', 'Flattr', 'Rename']);
    // The live query saw each change, from the cache (the reads above share its operation, so states repeat).
    const states = live.map((d) => [d.thing!.title, d.thing!.flattrCount]).filter((s, i, all) => i === 0 || JSON.stringify(s) !== JSON.stringify(all[i - 1]));
    expect(states).toEqual([
      ['Post 1', 0],
      ['Post 1', 1],
      ['Renamed by its owner', 1],
    ]);
    subscription.unsubscribe();
  });

  it('a refused mutation is a MutationError in data and leaves the cached thing as it was', async () => {
    const thing = things[1];
    const { client, requests } = makeClient(aliceToken);
    await query<ThingData, AnyVariables>(client, THING, { id: thing.id });
    const first = await client.mutation(FLATTR, { id: globalId('Thing', thing.id) }).toPromise();
    expect(first.data.flattrThing.thing.flattrCount).toBe(1);
    const again = await client.mutation(FLATTR, { id: globalId('Thing', thing.id) }).toPromise();
    expect(again.error).toBeUndefined();
    expect(again.data.flattrThing).toEqual({
      __typename: 'MutationError',
      code: 'FLATTR_ONCE',
      message: 'You are not allowed to flattr this thing more than once this period',
    });
    const cached = await query<ThingData, AnyVariables>(client, THING, { id: thing.id }, { requestPolicy: 'cache-only' });
    expect(cached.data!.thing).toMatchObject({ title: 'Post 2', flattrCount: 1, viewerState: { flattred: true } });
    expect(requests).toEqual(['Thing', 'Flattr', 'Flattr']);
  });
});
