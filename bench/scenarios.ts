/**
 * The scenarios of issue 9 item 2 and the requests each server gets for them. Request lists are built once per
 * run from the dataset (random ids, users with at least 30 visible things, tokens of many users) and cycled by the
 * load process in a shuffled order.
 */
import type { LoadRequest } from './load.js';
import { FREQUENT_WORDS } from './seed-scale.js';
import { query, type Dataset } from './lib.js';

export type ServerName = 'ours' | 'raw' | 'postgraphile';

export interface Scenario {
  id: string;
  title: string;
  /** Measured on each of these, alternating (round r starts with server r mod n). */
  requests: Partial<Record<ServerName, LoadRequest[]>>;
  /** Expected status of a good answer (others are counted as non-2xx/errors and reported). */
  expectStatus?: number;
}

/** The GraphQL document REST `GET /things/:id` runs (rest-facade/operations.ts ThingById with its fragments). */
export const OUR_THING_QUERY = `query ThingById($id: Int!, $full: Boolean!) { thing(id: $id) { ...V2Thing } }
fragment V2MiniUser on User { username resourceUrl webUrl }
fragment V2FullUser on User { ...V2MiniUser firstname lastname avatar about city country url email registeredAt }
fragment V2Thing on Thing {
  databaseId resourceUrl webUrl url flattrCount flattrUserCount title description tags
  language { id } category { id } createdAt hidden image
  owner { ...V2MiniUser ...V2FullUser @include(if: $full) }
  viewerState { flattred subscribed }
  ownerView { lastFlattrAt updatedAt }
}`;

/** The document REST `GET /users/:u/things` runs (UserThings). */
export const OUR_USER_THINGS_QUERY = `query UserThings($username: String!, $first: Int!, $after: String, $full: Boolean!) {
  user(username: $username) { username things(first: $first, after: $after) { edges { node { ...V2Thing } } } }
}
fragment V2MiniUser on User { username resourceUrl webUrl }
fragment V2FullUser on User { ...V2MiniUser firstname lastname avatar about city country url email registeredAt }
fragment V2Thing on Thing {
  databaseId resourceUrl webUrl url flattrCount flattrUserCount title description tags
  language { id } category { id } createdAt hidden image
  owner { ...V2MiniUser ...V2FullUser @include(if: $full) }
  viewerState { flattred subscribed }
  ownerView { lastFlattrAt updatedAt }
}`;

/**
 * PostGraphile's equivalents: the same columns (it has no computed resource/web URLs and no viewer-dependent
 * fields; those are cheap on ours: string templates and nulls for anonymous callers).
 */
export const PEER_THING_QUERY = `query ThingById($id: Int!) { thingByRowId(rowId: $id) {
  rowId url flattrsCount flattrsUserCount title description tags languageId categoryId createdAt hidden image
  userByOwnerId { username }
} }`;

export const PEER_USER_THINGS_QUERY = `query UserThings($id: Int!) { userByRowId(rowId: $id) {
  username
  thingsByOwnerId(first: 30, condition: { hidden: false }, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes {
    rowId url flattrsCount flattrsUserCount title description tags languageId categoryId createdAt hidden image
    userByOwnerId { username firstname lastname avatar about city country url }
  } }
} }`;

const json = { 'content-type': 'application/json', accept: 'application/json' };
const graphql = (q: string, variables: Record<string, unknown>): LoadRequest => ({
  method: 'POST',
  path: '/graphql',
  headers: json,
  body: JSON.stringify({ query: q, variables }),
});

/** Search parameter pairs: one query term and one tag expression (`&`, `|`, `!`) from the frequent vocabulary. */
export function searchPairs(count: number): { query: string; tags: string }[] {
  const words = FREQUENT_WORDS.slice(0, 40);
  const shapes = [(a: string, b: string) => `${a} | ${b}`, (a: string) => a, (a: string, b: string) => `${a} & !${b}`, (a: string, b: string) => `(${a}, ${b}) !video`];
  const pairs: { query: string; tags: string }[] = [];
  for (let i = 0; i < count; i++) {
    const w = (k: number) => words[(i * 7 + k * 13) % words.length]!;
    pairs.push({ query: w(0), tags: shapes[i % shapes.length]!(w(1), w(2)) });
  }
  return pairs;
}

export interface ScenarioData {
  thingIds: number[];
  /** Users with at least 30 visible things: username and id. */
  listUsers: { id: number; username: string }[];
  /** (token, thing id) pairs for flattrs: never the token user's own thing. */
  flattrPairs: { token: string; thingId: number }[];
  tokens: string[];
}

/** Random ids, list users and flattr pairs from the dataset; `seed` varies the flattr pairs between runs. */
export async function scenarioData(dataset: Dataset, tokens: Map<number, string>, seed: number): Promise<ScenarioData> {
  const n = 5000;
  const thingIds: number[] = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    thingIds.push(1 + (x % dataset.things));
  }
  const listUsers = await query<{ id: number; username: string }>(
    dataset.url,
    `select u.id, u.username from users u join things t on t.owner_id = u.id and not t.hidden
     group by u.id having count(*) >= 30 order by u.id limit 500`,
  );
  const tokenUsers = [...tokens.keys()];
  const things = await query<{ id: number; owner_id: number }>(
    dataset.url,
    `select id, owner_id from things where id in (select 1 + floor(random() * $1)::int from generate_series(1, 60000)) order by random()`,
    [dataset.things],
  );
  // Pairs drawn from a per-run seed: a flattr per user, thing and period, so reruns in one month mostly use new pairs.
  let y = seed >>> 0 || 1;
  const flattrPairs: ScenarioData['flattrPairs'] = [];
  for (const thing of things) {
    y = (Math.imul(y, 1664525) + 1013904223) >>> 0;
    const userId = tokenUsers[y % tokenUsers.length]!;
    if (userId === thing.owner_id) continue;
    flattrPairs.push({ token: tokens.get(userId)!, thingId: thing.id });
  }
  return { thingIds, listUsers, flattrPairs, tokens: [...tokens.values()] };
}

export function buildScenarios(data: ScenarioData): Scenario[] {
  const { thingIds, listUsers } = data;
  if (listUsers.length === 0) throw new Error('no user with 30 visible things in the dataset');
  const pairs = searchPairs(200);
  return [
    {
      id: 'rest-thing-json',
      title: 'GET /rest/v2/things/:id (JSON, random ids)',
      requests: {
        ours: thingIds.map((id) => ({ method: 'GET', path: `/rest/v2/things/${id}`, headers: { accept: 'application/json' } })),
        raw: thingIds.map((id) => ({ method: 'GET', path: `/things/${id}` })),
      },
    },
    {
      // The same ids as rest-thing-json, each with the token of one of many users (data.tokens): what legacy clients
      // send on every request. Authenticated ÷ anonymous is a ratio of its own (issue 18, target >= 0.8).
      id: 'rest-thing-json-token',
      title: 'GET /rest/v2/things/:id (JSON, random ids, Bearer tokens of many users)',
      requests: {
        ours: thingIds.map((id, i) => ({
          method: 'GET',
          path: `/rest/v2/things/${id}`,
          headers: { accept: 'application/json', authorization: `Bearer ${data.tokens[i % data.tokens.length]!}` },
        })),
      },
    },
    {
      id: 'rest-thing-xml',
      title: 'GET /rest/v2/things/:id.xml',
      requests: { ours: thingIds.map((id) => ({ method: 'GET', path: `/rest/v2/things/${id}.xml` })) },
    },
    {
      id: 'rest-user-things',
      title: 'GET /rest/v2/users/:u/things?count=30&full=1',
      requests: {
        ours: listUsers.map((u) => ({ method: 'GET', path: `/rest/v2/users/${encodeURIComponent(u.username)}/things?count=30&full=1` })),
        raw: listUsers.map((u) => ({ method: 'GET', path: `/users/${encodeURIComponent(u.username)}/things?count=30&full=1` })),
      },
    },
    {
      id: 'rest-search',
      title: 'GET /rest/v2/things/search?query=…&tags=…',
      requests: {
        ours: pairs.map((p) => ({
          method: 'GET',
          path: `/rest/v2/things/search?query=${encodeURIComponent(p.query)}&tags=${encodeURIComponent(p.tags)}`,
        })),
      },
    },
    {
      id: 'rest-flattr',
      title: 'POST /rest/v2/things/:id/flattr (tokens of many users)',
      requests: {
        ours: data.flattrPairs.map((p) => ({
          method: 'POST',
          path: `/rest/v2/things/${p.thingId}/flattr`,
          headers: { authorization: `Bearer ${p.token}`, accept: 'application/json' },
        })),
      },
    },
    {
      id: 'rest-user',
      title: 'GET /rest/v2/user (authenticated)',
      requests: { ours: data.tokens.map((t) => ({ method: 'GET', path: '/rest/v2/user', headers: { authorization: `Bearer ${t}` } })) },
    },
    {
      id: 'gql-thing',
      title: 'GraphQL thing by id',
      requests: {
        ours: thingIds.map((id) => graphql(OUR_THING_QUERY, { id, full: false })),
        postgraphile: thingIds.map((id) => graphql(PEER_THING_QUERY, { id })),
      },
    },
    {
      id: 'gql-user-things',
      title: 'GraphQL user things (30, full owners)',
      requests: {
        ours: listUsers.map((u) => graphql(OUR_USER_THINGS_QUERY, { username: u.username, first: 30, after: null, full: true })),
        postgraphile: listUsers.map((u) => graphql(PEER_USER_THINGS_QUERY, { id: u.id })),
      },
    },
  ];
}
