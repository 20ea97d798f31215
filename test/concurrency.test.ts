import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, parse } from 'graphql';
import { schema } from '../schema/index.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { resolveAccessToken } from '../src/services/tokens.js';
import type { UserEntity } from '../src/entities/index.js';
import type { GraphQLContext } from '../schema/context.js';
import { encodeGlobalId } from '../schema/global-id.js';

const gid = (thingId: number) => encodeGlobalId('Thing', thingId);

/**
 * Real parallel writes: every call has its own forked EntityManager (so its own transaction and pool
 * connection), started together with Promise.all, once through execute() and once through POST /graphql.
 * The database decides the races (unique keys, the counter trigger's row lock).
 */

let app: TestApp;
let fx: Fixtures;
let owner: UserEntity;
let counter = 0;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  owner = await fx.user({ username: 'owner', balanceCents: 100 });
});
afterAll(() => app?.close());

const FLATTR = `mutation($id: ID!) { flattrThing(id: $id) { __typename ... on FlattrSuccess { thing { databaseId } } ... on MutationError { code } } }`;
const FLATTR_URL = `mutation($url: String!) { flattrUrl(url: $url) { __typename ... on FlattrSuccess { thing { databaseId } } ... on MutationError { code } } }`;

type Outcome = { __typename: string; code?: string; thing?: { databaseId: number } };
type Transport = (query: string, variables: Record<string, unknown>, token: string) => Promise<Outcome>;

/** execute() on its own forked EntityManager. */
const viaSchema: Transport = async (query, variables, token) => {
  const em = app.orm.em.fork();
  const viewer = await resolveAccessToken(em, token);
  const contextValue: GraphQLContext = { em, clock: app.clock, config: app.config, viewer };
  const result = await execute({ schema, document: parse(query), variableValues: variables, contextValue });
  expect(result.errors).toBeUndefined();
  return Object.values(result.data as Record<string, Outcome>)[0]!;
};

/** POST /graphql, each request on its own connection. */
const viaHttp: Transport = async (query, variables, token) => {
  const res = await request(app.baseUrl, '/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${token}`, Connection: 'close' },
    body: JSON.stringify({ query, variables }),
  });
  expect(res.status).toBe(200);
  const body = res.json();
  expect(body.errors).toBeUndefined();
  return Object.values(body.data as Record<string, Outcome>)[0]!;
};

async function sql(query: string, params: unknown[] = []): Promise<any[]> {
  return app.orm.em.fork().getConnection().execute(query, params);
}

/** The thing's counters and what its flattr rows say. */
async function counters(thingId: number) {
  const [row] = await sql(
    `select t.flattrs_count, t.flattrs_user_count,
        (select count(*)::int from flattrs f where f.thing_id = t.id) as rows,
        (select count(distinct f.user_id)::int from flattrs f where f.thing_id = t.id) as users
      from things t where t.id = ?`,
    [thingId],
  );
  return row as { flattrs_count: number; flattrs_user_count: number; rows: number; users: number };
}

async function funded(n: number): Promise<{ users: UserEntity[]; tokens: string[] }> {
  const users: UserEntity[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const user = await fx.user({ balanceCents: 10 });
    users.push(user);
    tokens.push(await fx.token(user, ['flattr']));
  }
  return { users, tokens };
}

const transports: [string, Transport][] = [
  ['service/schema', viaSchema],
  ['HTTP POST /graphql', viaHttp],
];

describe.each(transports)('concurrent writes through %s', (_name, call) => {
  it('10 concurrent flattrs of one thing by one user: one success, nine flattr_once, counters equal rows', async () => {
    const thing = await fx.thing(owner, { url: `https://example.org/race/${++counter}` });
    const { tokens } = await funded(1);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => call(FLATTR, { id: gid(thing.id) }, tokens[0]!)));
    expect(outcomes.filter((o) => o.__typename === 'FlattrSuccess')).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'FLATTR_ONCE')).toHaveLength(9);
    expect(await counters(thing.id)).toEqual({ flattrs_count: 1, flattrs_user_count: 1, rows: 1, users: 1 });
  });

  it('20 users flattring one thing at once: counters 20/20', async () => {
    const thing = await fx.thing(owner, { url: `https://example.org/race/${++counter}` });
    const { tokens } = await funded(20);
    const outcomes = await Promise.all(tokens.map((token) => call(FLATTR, { id: gid(thing.id) }, token)));
    expect(outcomes.every((o) => o.__typename === 'FlattrSuccess')).toBe(true);
    expect(await counters(thing.id)).toEqual({ flattrs_count: 20, flattrs_user_count: 20, rows: 20, users: 20 });
  });

  it('concurrent auto-submit flattrs of one new URL by different users: one thing, every flattr counted', async () => {
    const url = `https://example.org/auto/${++counter}`;
    const autoSubmit = `https://flattr.com/submit/auto?${new URLSearchParams({ url, user_id: 'owner', title: 'Raced' })}`;
    const { tokens } = await funded(10);
    const outcomes = await Promise.all(tokens.map((token) => call(FLATTR_URL, { url: autoSubmit }, token)));
    expect(outcomes.map((o) => o.__typename)).toEqual(Array(10).fill('FlattrSuccess'));
    const things = await sql('select id, title from things where url = ?', [url]);
    expect(things).toHaveLength(1);
    expect(things[0].title).toBe('Raced');
    expect(new Set(outcomes.map((o) => o.thing!.databaseId))).toEqual(new Set([things[0].id]));
    expect(await counters(things[0].id)).toEqual({ flattrs_count: 10, flattrs_user_count: 10, rows: 10, users: 10 });
  });

  it('concurrent auto-submit flattrs of one new URL by the same user: one thing, one flattr', async () => {
    const url = `https://example.org/auto/${++counter}`;
    const autoSubmit = `https://flattr.com/submit/auto?${new URLSearchParams({ url, user_id: 'owner' })}`;
    const { tokens } = await funded(1);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => call(FLATTR_URL, { url: autoSubmit }, tokens[0]!)));
    expect(outcomes.filter((o) => o.__typename === 'FlattrSuccess')).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'FLATTR_ONCE')).toHaveLength(7);
    const things = await sql('select id from things where url = ?', [url]);
    expect(things).toHaveLength(1);
    expect(await counters(things[0].id)).toEqual({ flattrs_count: 1, flattrs_user_count: 1, rows: 1, users: 1 });
  });

  it('concurrent subscribes of one pair: one success, the rest subscribed', async () => {
    const thing = await fx.thing(owner, { url: `https://example.org/race/${++counter}` });
    const { tokens } = await funded(1);
    const SUBSCRIBE = `mutation($id: ID!) { subscribe(thingId: $id) { __typename ... on MutationError { code } } }`;
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => call(SUBSCRIBE, { id: gid(thing.id) }, tokens[0]!)));
    expect(outcomes.filter((o) => o.__typename === 'SubscribeSuccess')).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'SUBSCRIBED')).toHaveLength(5);
  });
});
