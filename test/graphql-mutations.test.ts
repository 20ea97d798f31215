import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execute, parse } from 'graphql';
import { schema } from '../schema/index.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { resolveAccessToken } from '../src/services/tokens.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';
import type { GraphQLContext } from '../schema/context.js';
import { encodeGlobalId } from '../schema/global-id.js';

/** The global id of a thing, which every id argument of a mutation takes. */
const gid = (databaseId: number) => encodeGlobalId('Thing', databaseId);

/** The GraphQL write contract (README, "GraphQL" and "GraphQL errors") through execute(), plus one pass over HTTP. */

let app: TestApp;
let fx: Fixtures;
let owner: UserEntity; // owns things, has means
let fan: UserEntity; // flattrs and subscribes, has means
let poor: UserEntity; // no means
let ownerToken: string; // thing + flattr
let fanToken: string; // flattr + thing
let poorToken: string; // flattr
let readOnlyToken: string; // no scope at all
const NOW = new Date('2026-03-10T12:00:00Z');

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  owner = await fx.user({ username: 'owner', balanceCents: 500 });
  fan = await fx.user({ username: 'Fan', balanceCents: 100 });
  poor = await fx.user({ username: 'poor', balanceCents: 0 });
  ownerToken = await fx.token(owner, ['flattr', 'thing']);
  fanToken = await fx.token(fan, ['flattr', 'thing']);
  poorToken = await fx.token(poor, ['flattr']);
  readOnlyToken = await fx.token(fan, []);
});
afterAll(() => app?.close());
afterEach(() => app.clock.set(NOW));

async function run(query: string, variables: Record<string, unknown> = {}, token?: string) {
  const em = app.orm.em.fork();
  const viewer = token ? await resolveAccessToken(em, token) : null;
  const contextValue: GraphQLContext = { em, clock: app.clock, config: app.config, viewer };
  return execute({ schema, document: parse(query), variableValues: variables, contextValue });
}

/** Runs a single-field mutation and returns that field's value, failing on GraphQL errors. */
async function mutate(query: string, variables: Record<string, unknown>, token: string): Promise<any> {
  const result = await run(query, variables, token);
  expect(result.errors).toBeUndefined();
  const data = result.data as Record<string, unknown>;
  return Object.values(data)[0];
}

async function sql(query: string, params: unknown[] = []): Promise<any[]> {
  return app.orm.em.fork().getConnection().execute(query, params);
}

const ERROR = '... on MutationError { code message }';
const THING = 'databaseId url title description tags hidden category { id } language { id } owner { username } flattrCount flattrUserCount createdAt ownerView { updatedAt lastFlattrAt }';

const CREATE = `mutation($input: ThingInput!) { createThing(input: $input) { __typename ... on CreateThingSuccess { thing { ${THING} } } ${ERROR} } }`;
const UPDATE = `mutation($id: ID!, $patch: ThingPatch!) { updateThing(id: $id, patch: $patch) { __typename ... on UpdateThingSuccess { thing { ${THING} } } ${ERROR} } }`;
const DELETE = `mutation($id: ID!) { deleteThing(id: $id) { __typename ... on DeleteThingSuccess { deletedThingId } ${ERROR} } }`;
const FLATTR = `mutation($id: ID!) { flattrThing(id: $id) { __typename ... on FlattrSuccess { flattr { databaseId source period createdAt owner { username } thing { databaseId } } thing { databaseId url title flattrCount flattrUserCount } } ${ERROR} } }`;
const FLATTR_URL = `mutation($url: String!) { flattrUrl(url: $url) { __typename ... on FlattrSuccess { flattr { databaseId source owner { username } } thing { ${THING} } } ${ERROR} } }`;
const SUBSCRIBE = `mutation($id: ID!) { subscribe(thingId: $id) { __typename ... on SubscribeSuccess { subscription { active createdAt startedAt thing { databaseId } } thing { databaseId flattrCount viewerState { subscribed } } } ${ERROR} } }`;
const TOGGLE = `mutation($id: ID!) { toggleSubscription(thingId: $id) { __typename ... on ToggleSubscriptionSuccess { subscription { active createdAt startedAt } } ${ERROR} } }`;
const UNSUBSCRIBE = `mutation($id: ID!) { unsubscribe(thingId: $id) { __typename ... on UnsubscribeSuccess { thingId } ${ERROR} } }`;
const PROBLEM = `query($id: ID, $input: ThingInput, $patch: ThingPatch) { thingInputProblem(id: $id, input: $input, patch: $patch) { code message } }`;

let urlCounter = 0;
const freshUrl = () => `https://example.org/m/${++urlCounter}`;

function validation(message: string) {
  return { __typename: 'MutationError', code: 'VALIDATION', message };
}
const THING_NOT_FOUND = { __typename: 'MutationError', code: 'NOT_FOUND', message: 'The requested thing(s) could not be found' };

describe('createThing', () => {
  it('creates a thing owned by the caller with the E8 defaults', async () => {
    const url = freshUrl();
    const result = await mutate(CREATE, { input: { url: `  ${url}  ` } }, ownerToken);
    expect(result).toEqual({
      __typename: 'CreateThingSuccess',
      thing: {
        databaseId: expect.any(Number),
        url,
        title: url,
        description: '',
        tags: [],
        hidden: false,
        category: { id: 'rest' },
        language: { id: 'en_GB' },
        owner: { username: 'owner' },
        flattrCount: 0,
        flattrUserCount: 0,
        createdAt: NOW.toISOString(),
        ownerView: { updatedAt: null, lastFlattrAt: null },
      },
    });
  });

  it('normalises every field (§12.2)', async () => {
    const url = freshUrl();
    const result = await mutate(
      CREATE,
      {
        input: {
          url,
          title: ' <b>Hello</b> world ',
          description: 'one<br/>two<BR >three <i>x</i>',
          category: 'text',
          language: 'sv_SE',
          tags: [' a ', 'B', '', 'b', 'c'],
          hidden: true,
        },
      },
      ownerToken,
    );
    expect(result.thing).toMatchObject({
      url,
      title: 'Hello world',
      description: 'one\ntwo\nthree x',
      category: { id: 'text' },
      language: { id: 'sv_SE' },
      tags: ['a', 'B', 'c'],
      hidden: true,
    });
  });

  it('reports each validation message', async () => {
    const taken = freshUrl();
    await mutate(CREATE, { input: { url: taken } }, ownerToken);
    const cases: [Record<string, unknown>, string][] = [
      [{ url: '' }, 'Invalid url'],
      [{ url: 'ftp://example.org/x' }, 'Invalid url'],
      [{ url: 'not a url' }, 'Invalid url'],
      [{ url: `https://example.org/${'x'.repeat(2040)}` }, 'Invalid url'],
      [{ url: 'https://flattr.com/submit/auto?url=https%3A%2F%2Fexample.org%2F&user_id=owner' }, 'Invalid url'],
      [{ url: `${app.config.siteUrl}/submit/auto/?url=https%3A%2F%2Fexample.org%2F` }, 'Invalid url'],
      [{ url: taken }, 'A thing with that url already exists'],
      [{ url: freshUrl(), title: 'x'.repeat(101) }, 'Title is too long'],
      [{ url: freshUrl(), description: 'x'.repeat(1001) }, 'Description is too long'],
      [{ url: freshUrl(), category: 'nope' }, 'Invalid category'],
      [{ url: freshUrl(), language: 'xx_XX' }, 'Invalid language'],
    ];
    for (const [input, message] of cases) {
      expect(await mutate(CREATE, { input }, ownerToken), message).toEqual(validation(message));
    }
    // 100 code points (not UTF-16 units) is still fine.
    const emoji = await mutate(CREATE, { input: { url: freshUrl(), title: '😀'.repeat(100) } }, ownerToken);
    expect(emoji.__typename).toBe('CreateThingSuccess');
  });

  it('reports the first failure in E8 table order', async () => {
    const taken = freshUrl();
    await mutate(CREATE, { input: { url: taken } }, ownerToken);
    const bad = { title: 'x'.repeat(101), description: 'x'.repeat(1001), category: 'nope', language: 'nope' };
    expect(await mutate(CREATE, { input: { ...bad, url: 'ftp://x' } }, ownerToken)).toEqual(validation('Invalid url'));
    expect(await mutate(CREATE, { input: { ...bad, url: taken } }, ownerToken)).toEqual(validation('A thing with that url already exists'));
    expect(await mutate(CREATE, { input: { ...bad, url: freshUrl() } }, ownerToken)).toEqual(validation('Title is too long'));
    expect(await mutate(CREATE, { input: { ...bad, title: 'ok', url: freshUrl() } }, ownerToken)).toEqual(validation('Description is too long'));
    expect(await mutate(CREATE, { input: { ...bad, title: 'ok', description: 'ok', url: freshUrl() } }, ownerToken)).toEqual(
      validation('Invalid category'),
    );
  });

  it('needs a token with scope thing', async () => {
    const anonymous = await run(CREATE, { input: { url: freshUrl() } });
    expect(anonymous.data).toBeNull();
    expect(anonymous.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    const noScope = await run(CREATE, { input: { url: freshUrl() } }, poorToken);
    expect(noScope.data).toBeNull();
    expect(noScope.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'thing' });
  });
});

describe('updateThing', () => {
  let thing: ThingEntity;
  beforeAll(async () => {
    thing = await fx.thing(owner, { url: freshUrl(), title: 'Original', description: 'Desc', tags: ['x', 'y'], category: 'text' });
  });

  it('changes only the present fields and sets updatedAt on every success (D54)', async () => {
    app.clock.set('2026-03-11T08:00:00Z');
    const result = await mutate(UPDATE, { id: gid(thing.id), patch: { title: 'New title', tags: ['z'] } }, ownerToken);
    expect(result.thing).toMatchObject({
      url: thing.url,
      title: 'New title',
      description: 'Desc',
      tags: ['z'],
      category: { id: 'text' },
      hidden: false,
      ownerView: { updatedAt: '2026-03-11T08:00:00.000Z' },
    });
    app.clock.set('2026-03-12T08:00:00Z');
    const empty = await mutate(UPDATE, { id: gid(thing.id), patch: {} }, ownerToken);
    expect(empty.thing).toMatchObject({ title: 'New title', tags: ['z'], ownerView: { updatedAt: '2026-03-12T08:00:00.000Z' } });
  });

  it('clears tags with [], resets an empty title to the url, and ignores null as absent', async () => {
    const result = await mutate(
      UPDATE,
      { id: gid(thing.id), patch: { title: '  <p></p> ', tags: [], description: null, hidden: true, language: 'de_DE', category: 'software' } },
      ownerToken,
    );
    expect(result.thing).toMatchObject({
      title: thing.url,
      tags: [],
      description: 'Desc',
      hidden: true,
      language: { id: 'de_DE' },
      category: { id: 'software' },
    });
  });

  it('404 before 403 before validation; a failed update changes nothing', async () => {
    const before = (await sql('select title, updated_at from things where id = ?', [thing.id]))[0];
    expect(await mutate(UPDATE, { id: gid(999999), patch: { title: 'x'.repeat(200) } }, fanToken)).toEqual(THING_NOT_FOUND);
    expect(await mutate(UPDATE, { id: gid(thing.id), patch: { title: 'x'.repeat(200) } }, fanToken)).toEqual({
      __typename: 'MutationError',
      code: 'FORBIDDEN',
      message: 'You are not allowed to update the thing',
    });
    expect(await mutate(UPDATE, { id: gid(thing.id), patch: { title: 'Fine', description: 'x'.repeat(1001) } }, ownerToken)).toEqual(
      validation('Description is too long'),
    );
    expect(await mutate(UPDATE, { id: gid(thing.id), patch: { title: 'x'.repeat(101), category: 'nope' } }, ownerToken)).toEqual(
      validation('Title is too long'),
    );
    expect(await mutate(UPDATE, { id: gid(thing.id), patch: { category: 'nope', language: 'nope' } }, ownerToken)).toEqual(
      validation('Invalid category'),
    );
    expect(await mutate(UPDATE, { id: gid(thing.id), patch: { language: 'nope' } }, ownerToken)).toEqual(validation('Invalid language'));
    expect((await sql('select title, updated_at from things where id = ?', [thing.id]))[0]).toEqual(before);
  });

  it('needs scope thing', async () => {
    const result = await run(UPDATE, { id: gid(thing.id), patch: {} }, readOnlyToken);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'thing' });
  });
});

describe('deleteThing', () => {
  it('deletes the thing with its flattrs and subscriptions (D74); the url is free again', async () => {
    const url = freshUrl();
    const thing = await fx.thing(owner, { url });
    await mutate(FLATTR, { id: gid(thing.id) }, fanToken);
    await mutate(SUBSCRIBE, { id: gid(thing.id) }, fanToken);
    expect(await sql('select count(*)::int as n from flattrs where thing_id = ?', [thing.id])).toEqual([{ n: 1 }]);

    expect(await mutate(DELETE, { id: gid(thing.id) }, fanToken)).toEqual({
      __typename: 'MutationError',
      code: 'FORBIDDEN',
      message: 'You are not allowed to delete the thing',
    });
    expect(await mutate(DELETE, { id: gid(thing.id) }, ownerToken)).toEqual({ __typename: 'DeleteThingSuccess', deletedThingId: gid(thing.id) });
    expect(await sql('select count(*)::int as n from things where id = ?', [thing.id])).toEqual([{ n: 0 }]);
    expect(await sql('select count(*)::int as n from flattrs where thing_id = ?', [thing.id])).toEqual([{ n: 0 }]);
    expect(await sql('select count(*)::int as n from subscriptions where thing_id = ?', [thing.id])).toEqual([{ n: 0 }]);
    expect((await run(`{ thing(id: ${thing.id}) { databaseId } }`)).data).toEqual({ thing: null });

    expect(await mutate(DELETE, { id: gid(thing.id) }, ownerToken)).toEqual(THING_NOT_FOUND);
    expect((await mutate(CREATE, { input: { url } }, ownerToken)).__typename).toBe('CreateThingSuccess');
  });

  it('needs scope thing', async () => {
    const result = await run(DELETE, { id: gid(1) }, poorToken);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'thing' });
  });
});

describe('flattrThing', () => {
  it('flattrs once per period and the counters follow (§12.4)', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    const first = await mutate(FLATTR, { id: gid(thing.id) }, fanToken);
    expect(first).toEqual({
      __typename: 'FlattrSuccess',
      flattr: {
        databaseId: expect.any(Number),
        source: 'CLICK',
        period: '2026-03',
        createdAt: NOW.toISOString(),
        owner: { username: 'Fan' },
        thing: { databaseId: thing.id },
      },
      thing: { databaseId: thing.id, url: thing.url, title: thing.title, flattrCount: 1, flattrUserCount: 1 },
    });
    expect(await mutate(FLATTR, { id: gid(thing.id) }, fanToken)).toEqual({
      __typename: 'MutationError',
      code: 'FLATTR_ONCE',
      message: 'You are not allowed to flattr this thing more than once this period',
    });
    // Same period until the last instant of the month (UTC), a new one after.
    app.clock.set('2026-03-31T23:59:59Z');
    expect((await mutate(FLATTR, { id: gid(thing.id) }, fanToken)).code).toBe('FLATTR_ONCE');
    app.clock.set('2026-04-01T00:00:00Z');
    const april = await mutate(FLATTR, { id: gid(thing.id) }, fanToken);
    expect(april.flattr.period).toBe('2026-04');
    expect(april.thing).toMatchObject({ flattrCount: 2, flattrUserCount: 1 });

    const other = await fx.user({ balanceCents: 1 });
    const otherToken = await fx.token(other, ['flattr']);
    const third = await mutate(FLATTR, { id: gid(thing.id) }, otherToken);
    expect(third.thing).toMatchObject({ flattrCount: 3, flattrUserCount: 2 });
    const row = (await sql('select flattrs_count, flattrs_user_count, last_flattr_at from things where id = ?', [thing.id]))[0];
    expect(row.flattrs_count).toBe(3);
    expect(row.flattrs_user_count).toBe(2);
    expect(new Date(row.last_flattr_at).toISOString()).toBe('2026-04-01T00:00:00.000Z');
    const owned = await run(`{ thing(id: ${thing.id}) { viewerState { flattred } } }`, {}, otherToken);
    expect(owned.data).toEqual({ thing: { viewerState: { flattred: true } } });
  });

  it('refuses the owner, then users without means, and unknown things', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    expect(await mutate(FLATTR, { id: gid(thing.id) }, ownerToken)).toEqual({
      __typename: 'MutationError',
      code: 'FLATTR_OWNER',
      message: 'You are not allowed to flattr your own thing',
    });
    expect(await mutate(FLATTR, { id: gid(thing.id) }, poorToken)).toEqual({
      __typename: 'MutationError',
      code: 'NO_MEANS',
      message: "You don't have any money to flattr with",
    });
    expect(await mutate(FLATTR, { id: gid(987654) }, fanToken)).toEqual(THING_NOT_FOUND);
    expect(await sql('select count(*)::int as n from flattrs where thing_id = ?', [thing.id])).toEqual([{ n: 0 }]);
  });

  it('flattr_once is checked before no_means', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    const broke = await fx.user({ balanceCents: 0 });
    await fx.flattr(broke, thing); // an earlier flattr this period (seed data)
    expect((await mutate(FLATTR, { id: gid(thing.id) }, await fx.token(broke, ['flattr']))).code).toBe('FLATTR_ONCE');
  });

  it('needs a token with scope flattr', async () => {
    const anonymous = await run(FLATTR, { id: gid(1) });
    expect(anonymous.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    const noScope = await run(FLATTR, { id: gid(1) }, readOnlyToken);
    expect(noScope.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'flattr' });
    expect(noScope.errors?.[0]?.message).toBe("You don't have sufficient access rights to access this resource");
  });
});

describe('flattrUrl (§11.6)', () => {
  const autoSubmit = (params: Record<string, string>, base = 'https://flattr.com/submit/auto') => `${base}?${new URLSearchParams(params)}`;

  it('flattrs a registered plain URL, exactly', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    const result = await mutate(FLATTR_URL, { url: ` ${thing.url} ` }, fanToken);
    expect(result.__typename).toBe('FlattrSuccess');
    expect(result.thing).toMatchObject({ databaseId: thing.id, flattrCount: 1 });
    expect(await mutate(FLATTR_URL, { url: `${thing.url}/` }, fanToken)).toEqual({
      __typename: 'MutationError',
      code: 'NOT_FOUND',
      message: 'No thing was found',
    });
  });

  it('refuses an empty or non-http url with invalid_parameters', async () => {
    for (const url of ['', '   ', 'ftp://example.org/', 'example.org/page', 'mailto:a@example.org']) {
      expect(await mutate(FLATTR_URL, { url }, fanToken), url).toEqual({
        __typename: 'MutationError',
        code: 'INVALID_PARAMETERS',
        message: 'One or many parameters are missing or invalid',
      });
    }
  });

  it('flattrs the existing thing of an auto-submit URL, with or without a matching user_id', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    const withOwner = await mutate(FLATTR_URL, { url: autoSubmit({ url: thing.url, user_id: 'OWNER', title: 'ignored' }) }, fanToken);
    expect(withOwner.thing).toMatchObject({ databaseId: thing.id, title: thing.title, flattrCount: 1 });
    const other = await fx.user({ balanceCents: 5 });
    const withoutOwner = await mutate(FLATTR_URL, { url: autoSubmit({ url: thing.url }, 'http://www.flattr.com/submit/auto/') }, await fx.token(other, ['flattr']));
    expect(withoutOwner.thing).toMatchObject({ databaseId: thing.id, flattrCount: 2, flattrUserCount: 2 });
  });

  it('reports owner mismatch, unsupported owner, unknown user, missing user_id and a bad inner url', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    expect(await mutate(FLATTR_URL, { url: autoSubmit({ url: thing.url, user_id: 'Fan' }) }, fanToken)).toEqual(
      validation('Owner mismatch. Current thing owned by other account.'),
    );
    expect(await mutate(FLATTR_URL, { url: autoSubmit({ url: freshUrl(), owner: 'twitter:user:id:123' }) }, fanToken)).toEqual(
      validation('Unsupported owner identifier'),
    );
    expect(await mutate(FLATTR_URL, { url: autoSubmit({ url: freshUrl(), user_id: 'nobody' }) }, fanToken)).toEqual({
      __typename: 'MutationError',
      code: 'NOT_FOUND',
      message: 'The requested user could not be found',
    });
    expect(await mutate(FLATTR_URL, { url: autoSubmit({ url: freshUrl(), user_id: '  ' }) }, fanToken)).toEqual({
      __typename: 'MutationError',
      code: 'NOT_FOUND',
      message: 'No thing was found',
    });
    for (const inner of ['', 'ftp://example.org/', 'relative/path', `https://example.org/${'x'.repeat(2040)}`]) {
      expect(await mutate(FLATTR_URL, { url: autoSubmit({ url: inner, user_id: 'owner' }) }, fanToken), inner).toEqual(validation('Invalid url'));
    }
    expect(await mutate(FLATTR_URL, { url: 'https://flattr.com/submit/auto?user_id=owner' }, fanToken)).toEqual(validation('Invalid url'));
  });

  it('creates and flattrs a new thing from an auto-submit URL, with lenient metadata (D70, D72)', async () => {
    app.clock.set('2026-03-20T10:00:00Z');
    const url = freshUrl();
    const title = `<b>${'T'.repeat(120)}</b>`;
    const result = await mutate(
      FLATTR_URL,
      {
        url: autoSubmit({
          user_id: ' owner ',
          url: ` ${url} `,
          title,
          description: `a<br>b${'d'.repeat(1200)}`,
          language: 'klingon',
          category: 'nope',
          tags: 'flattr, api,,API, programming',
          hidden: 'Yes',
          owner: 'ignored:when:user_id:given',
        }),
      },
      fanToken,
    );
    expect(result.__typename).toBe('FlattrSuccess');
    expect(result.flattr).toMatchObject({ source: 'CLICK', owner: { username: 'Fan' } });
    expect(result.thing).toEqual({
      databaseId: expect.any(Number),
      url,
      title: 'T'.repeat(100),
      description: `a\nb${'d'.repeat(997)}`,
      tags: ['flattr', 'api', 'programming'],
      hidden: true,
      category: { id: 'rest' },
      language: { id: 'en_GB' },
      owner: { username: 'owner' },
      flattrCount: 1,
      flattrUserCount: 1,
      createdAt: '2026-03-20T10:00:00.000Z',
      ownerView: null,
    });
    // An empty title becomes the url; known ids are kept; the site's own authority counts (§11.2).
    const url2 = freshUrl();
    const second = await mutate(
      FLATTR_URL,
      { url: autoSubmit({ url: url2, user_id: 'owner', title: '  ', language: 'sv_SE', category: 'text', hidden: '0' }, `${app.config.siteUrl}/submit/auto`) },
      fanToken,
    );
    expect(second.thing).toMatchObject({ url: url2, title: url2, language: { id: 'sv_SE' }, category: { id: 'text' }, hidden: false, tags: [] });
  });

  it('creates nothing when the flattr would fail: flattr_owner, no_means (D72)', async () => {
    const url = freshUrl();
    expect(await mutate(FLATTR_URL, { url: autoSubmit({ url, user_id: 'owner' }) }, ownerToken)).toEqual({
      __typename: 'MutationError',
      code: 'FLATTR_OWNER',
      message: 'You are not allowed to flattr your own thing',
    });
    expect(await mutate(FLATTR_URL, { url: autoSubmit({ url, user_id: 'owner' }) }, poorToken)).toEqual({
      __typename: 'MutationError',
      code: 'NO_MEANS',
      message: "You don't have any money to flattr with",
    });
    expect(await sql('select count(*)::int as n from things where url = ?', [url])).toEqual([{ n: 0 }]);
  });

  it('treats an auto-submit URL on another host as a plain URL', async () => {
    const result = await mutate(FLATTR_URL, { url: autoSubmit({ url: freshUrl(), user_id: 'owner' }, 'https://example.org/submit/auto') }, fanToken);
    expect(result).toEqual({ __typename: 'MutationError', code: 'NOT_FOUND', message: 'No thing was found' });
  });

  it('needs scope flattr', async () => {
    const result = await run(FLATTR_URL, { url: 'https://example.org/' }, await fx.token(owner, ['thing']));
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'flattr' });
  });
});

describe('subscriptions', () => {
  const SUBSCRIPTIONS = '{ viewer { subscriptions { active createdAt startedAt thing { databaseId } } } }';

  it('subscribe, pause, resume (startedAt = now), unsubscribe; subscribing never flattrs', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    const subscribed = await mutate(SUBSCRIBE, { id: gid(thing.id) }, poorToken); // needs no means
    expect(subscribed).toEqual({
      __typename: 'SubscribeSuccess',
      subscription: { active: true, createdAt: NOW.toISOString(), startedAt: NOW.toISOString(), thing: { databaseId: thing.id } },
      thing: { databaseId: thing.id, flattrCount: 0, viewerState: { subscribed: true } },
    });
    expect(await mutate(SUBSCRIBE, { id: gid(thing.id) }, poorToken)).toEqual({
      __typename: 'MutationError',
      code: 'SUBSCRIBED',
      message: 'User already subscribed to thing',
    });

    app.clock.set('2026-03-15T00:00:00Z');
    expect(await mutate(TOGGLE, { id: gid(thing.id) }, poorToken)).toEqual({
      __typename: 'ToggleSubscriptionSuccess',
      subscription: { active: false, createdAt: NOW.toISOString(), startedAt: NOW.toISOString() },
    });
    expect((await mutate(SUBSCRIBE, { id: gid(thing.id) }, poorToken)).code).toBe('SUBSCRIBED'); // paused counts too
    app.clock.set('2026-03-20T00:00:00Z');
    expect(await mutate(TOGGLE, { id: gid(thing.id) }, poorToken)).toEqual({
      __typename: 'ToggleSubscriptionSuccess',
      subscription: { active: true, createdAt: NOW.toISOString(), startedAt: '2026-03-20T00:00:00.000Z' },
    });
    expect(await sql('select count(*)::int as n from flattrs where thing_id = ?', [thing.id])).toEqual([{ n: 0 }]);

    expect(await mutate(UNSUBSCRIBE, { id: gid(thing.id) }, poorToken)).toEqual({ __typename: 'UnsubscribeSuccess', thingId: gid(thing.id) });
    expect(await mutate(UNSUBSCRIBE, { id: gid(thing.id) }, poorToken)).toEqual({
      __typename: 'MutationError',
      code: 'NOT_FOUND',
      message: 'No subscription was found',
    });
    expect(await mutate(TOGGLE, { id: gid(thing.id) }, poorToken)).toEqual({
      __typename: 'MutationError',
      code: 'NOT_FOUND',
      message: 'No subscription was found',
    });
  });

  it('refuses the owner and unknown things', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    expect(await mutate(SUBSCRIBE, { id: gid(thing.id) }, ownerToken)).toEqual({
      __typename: 'MutationError',
      code: 'THING_OWNER',
      message: 'You are not allowed to subscribe to your own thing',
    });
    for (const query of [SUBSCRIBE, TOGGLE, UNSUBSCRIBE]) {
      expect(await mutate(query, { id: gid(999999) }, fanToken)).toEqual(THING_NOT_FOUND);
    }
  });

  it('lists the viewer’s subscriptions newest first, only to the viewer with scope flattr (E17)', async () => {
    const subscriber = await fx.user({ username: 'subscriber' });
    const token = await fx.token(subscriber, ['flattr']);
    const [a, b, c] = [await fx.thing(owner, { url: freshUrl() }), await fx.thing(owner, { url: freshUrl() }), await fx.thing(fan, { url: freshUrl() })];
    app.clock.set('2026-03-01T00:00:00Z');
    await mutate(SUBSCRIBE, { id: gid(a.id) }, token);
    await mutate(SUBSCRIBE, { id: gid(b.id) }, token); // same created_at as a: thing id desc decides
    app.clock.set('2026-03-05T00:00:00Z');
    await mutate(SUBSCRIBE, { id: gid(c.id) }, token);
    await mutate(TOGGLE, { id: gid(c.id) }, token);
    const result = await run(SUBSCRIPTIONS, {}, token);
    expect(result.errors).toBeUndefined();
    expect((result.data as any).viewer.subscriptions).toEqual([
      { active: false, createdAt: '2026-03-05T00:00:00.000Z', startedAt: '2026-03-05T00:00:00.000Z', thing: { databaseId: c.id } },
      { active: true, createdAt: '2026-03-01T00:00:00.000Z', startedAt: '2026-03-01T00:00:00.000Z', thing: { databaseId: b.id } },
      { active: true, createdAt: '2026-03-01T00:00:00.000Z', startedAt: '2026-03-01T00:00:00.000Z', thing: { databaseId: a.id } },
    ]);
    // Without scope flattr, or on someone else's user: null, not an error.
    const noScope = await run(SUBSCRIPTIONS, {}, await fx.token(subscriber, ['thing']));
    expect(noScope).toEqual({ data: { viewer: { subscriptions: null } } });
    const others = await run('{ user(username: "subscriber") { subscriptions { active } } }', {}, fanToken);
    expect(others).toEqual({ data: { user: { subscriptions: null } } });
  });

  it('needs scope flattr', async () => {
    for (const query of [SUBSCRIBE, TOGGLE, UNSUBSCRIBE]) {
      const result = await run(query, { id: gid(1) }, await fx.token(fan, ['thing', 'email']));
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'flattr' });
      expect((await run(query, { id: gid(1) })).errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    }
  });
});

describe('thingInputProblem', () => {
  it('is null when createThing would succeed, else the first failure in E8 order; writes nothing', async () => {
    const taken = (await fx.thing(owner, { url: freshUrl() })).url;
    const check = async (id: number | null, input: Record<string, unknown>) => {
      const result = await run(PROBLEM, { id, input }, ownerToken);
      expect(result.errors).toBeUndefined();
      return (result.data as any).thingInputProblem;
    };
    const url = freshUrl();
    expect(await check(null, { url })).toBeNull();
    expect(await sql('select count(*)::int as n from things where url = ?', [url])).toEqual([{ n: 0 }]);
    expect(await check(null, { url: '' })).toEqual({ code: 'VALIDATION', message: 'Invalid url' });
    expect(await check(null, { url: 'https://flattr.com/submit/auto?url=https://example.org/' })).toEqual({ code: 'VALIDATION', message: 'Invalid url' });
    expect(await check(null, { url: taken, title: 'x'.repeat(101) })).toEqual({ code: 'VALIDATION', message: 'A thing with that url already exists' });
    expect(await check(null, { url, title: 'x'.repeat(101), language: 'nope' })).toEqual({ code: 'VALIDATION', message: 'Title is too long' });
    expect(await check(null, { url, language: 'nope', category: 'nope' })).toEqual({ code: 'VALIDATION', message: 'Invalid category' });
    expect(await check(null, { url, language: 'nope' })).toEqual({ code: 'VALIDATION', message: 'Invalid language' });
  });

  it('for an update: 404, then 403, then validation; the url is ignored (D53)', async () => {
    const thing = await fx.thing(owner, { url: freshUrl() });
    const check = async (token: string, id: number, patch: Record<string, unknown>) => (await run(PROBLEM, { id: gid(id), patch }, token)).data as any;
    expect(await check(fanToken, 999999, { title: 'x'.repeat(101) })).toEqual({
      thingInputProblem: { code: 'NOT_FOUND', message: 'The requested thing(s) could not be found' },
    });
    expect(await check(fanToken, thing.id, { title: 'x'.repeat(101) })).toEqual({
      thingInputProblem: { code: 'FORBIDDEN', message: 'You are not allowed to update the thing' },
    });
    expect(await check(ownerToken, thing.id, { description: 'x'.repeat(1001), category: 'nope' })).toEqual({
      thingInputProblem: { code: 'VALIDATION', message: 'Description is too long' },
    });
    expect(await check(ownerToken, thing.id, { title: 'fine' })).toEqual({ thingInputProblem: null });
  });

  it('needs scope thing', async () => {
    const result = await run(PROBLEM, { input: { url: '' } }, poorToken);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', requiredScope: 'thing' });
  });
});

describe('over HTTP', () => {
  it('runs mutations on POST /graphql with the bearer token', async () => {
    const post = (query: string, variables: Record<string, unknown>, token?: string) =>
      request(app.baseUrl, '/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
    const url = freshUrl();
    const created = await post(CREATE, { input: { url, title: 'Over HTTP' } }, ownerToken);
    expect(created.status).toBe(200);
    const id = created.json().data.createThing.thing.databaseId;
    const flattred = await post(FLATTR, { id: gid(id) }, fanToken);
    expect(flattred.json().data.flattrThing.thing).toMatchObject({ databaseId: id, flattrCount: 1 });
    const again = await post(FLATTR, { id: gid(id) }, fanToken);
    expect(again.json().data.flattrThing).toMatchObject({ __typename: 'MutationError', code: 'FLATTR_ONCE' });
    const anonymous = await post(FLATTR, { id: gid(id) });
    expect(anonymous.json().errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
