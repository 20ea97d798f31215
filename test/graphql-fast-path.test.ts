import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request, type HttpResult } from './support/http.js';
import { OUR_THING_QUERY, OUR_USER_THINGS_QUERY } from '../bench/scenarios.js';

/**
 * Issue 18: /graphql answers query documents Yoga has already parsed and validated through its fast path
 * (src/server/graphql-fast-path.ts), before Yoga. Its answers must be Yoga's, byte for byte: every request below is
 * sent four times — first as it is (Yoga answers: the text is new, or else the request is one the fast path leaves to
 * Yoga), twice more as it is (the fast path answers, when it may), then with its JSON body padded past the fast
 * path's body limit with whitespace (the same request to Yoga, whatever the fast path knows). Status, headers and body
 * must be the same every time, the rate-limit counts aside — and those must go down by the same weight each time.
 */

/** The bench's two documents: REST's ThingById and UserThings with their fragments, as clients send them. */
const BENCH_THING = OUR_THING_QUERY;
const BENCH_USER_THINGS = OUR_USER_THINGS_QUERY;
/** 208 at n = 2, 3092 at n = 30 (weight 4), 10302 at n = 100 (over GRAPHQL_MAX_COST 8000 below). */
const COSTLY = 'query Costly($n: Int!) { viewer { things(first: $n) { nodes { title flattrs(first: 50) { nodes { id } } } } } }';

const PADDING = ' '.repeat(70 * 1024);

let app: TestApp;
let token: string;
let thingId: number;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '100000', GRAPHQL_MAX_COST: '8000' }, { countQueries: false });
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice', firstname: 'Alice', city: 'Malmö', balanceCents: 500 });
  const bob = await fx.user({ username: 'bob', firstname: 'Bob', balanceCents: 500 });
  const thing = await fx.thing(bob, { url: 'https://example.org/a', title: 'A thing', tags: ['music', 'ünïcode'] });
  for (let i = 0; i < 3; i++) await fx.thing(bob, { url: `https://example.org/b${i}`, title: `B thing ${i}` });
  await fx.thing(bob, { url: 'https://example.org/hidden', title: 'Hidden', hidden: true });
  for (let i = 0; i < 3; i++) await fx.thing(alice, { url: `https://example.org/c${i}`, title: `C thing ${i}` });
  await fx.flattr(alice, thing);
  thingId = thing.id;
  token = await fx.token(alice, ['flattr', 'email', 'extendedread']);
});
afterAll(() => app?.close());

interface Case {
  name: string;
  /** The JSON body (a string: sent as it is). */
  body: () => Record<string, unknown> | string;
  headers?: Record<string, string>;
  anonymous?: boolean;
  /** The fast path answers its repeats. */
  fast: boolean;
}

const json = { 'content-type': 'application/json' };

const CASES: Case[] = [
  { name: 'the bench thing by id, token', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: false } }), headers: { ...json, accept: 'application/json' }, fast: true },
  { name: 'the bench thing by id, anonymous, no Accept', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: true } }), headers: json, anonymous: true, fast: true },
  { name: 'the bench user things, graphql-response+json', body: () => ({ query: BENCH_USER_THINGS, variables: { username: 'bob', first: 30, after: null, full: true } }), headers: { ...json, accept: 'application/graphql-response+json' }, fast: true },
  { name: 'the bench user things, anonymous, */*', body: () => ({ query: BENCH_USER_THINGS, variables: { username: 'bob', first: 2, after: null, full: false } }), headers: { ...json, accept: '*/*' }, anonymous: true, fast: true },
  { name: 'Accept with both JSON types and q', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: false } }), headers: { ...json, accept: 'application/graphql-response+json, application/json;q=0.9' }, fast: true },
  { name: 'Accept with a charset other than utf-8 skipped', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: false } }), headers: { ...json, accept: 'application/graphql-response+json;charset=latin1, application/json' }, fast: true },
  { name: 'Accept text/html (406)', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: false } }), headers: { ...json, accept: 'text/html' }, fast: false },
  { name: 'Accept multipart/mixed', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: false } }), headers: { ...json, accept: 'multipart/mixed' }, fast: false },
  { name: 'a CORS request (Origin)', body: () => ({ query: BENCH_THING, variables: { id: thingId, full: false } }), headers: { ...json, accept: 'application/json', origin: 'https://app.example' }, fast: true },
  { name: 'Content-Type with charset', body: () => ({ query: '{ categories { id text } }' }), headers: { 'content-type': 'application/json; charset=utf-8' }, fast: true },
  { name: 'Content-Type in capitals (Yoga does not take it as JSON)', body: () => ({ query: '{ categories { id text } }' }), headers: { 'content-type': 'APPLICATION/JSON' }, fast: false },
  { name: 'Content-Type with a space before its charset', body: () => ({ query: '{ categories { id text } }' }), headers: { 'content-type': 'application/json ; charset=utf-8' }, fast: false },
  { name: 'Content-Type with a charset in capitals', body: () => ({ query: '{ categories { id text } }' }), headers: { 'content-type': 'application/json;charset=UTF-8' }, fast: true },
  { name: 'extensions in the body', body: () => ({ query: '{ languages { id text } }', extensions: { tracing: true } }), headers: json, fast: true },
  { name: 'null variables, operationName and extensions', body: () => ({ query: '{ __typename languages { id } }', variables: null, operationName: null, extensions: null }), headers: json, fast: true },
  { name: 'one of several operations, by name', body: () => ({ query: 'query A { categories { id } } query B { viewer { username email } }', operationName: 'B' }), headers: json, fast: true },
  { name: 'an unknown operation name (400)', body: () => ({ query: 'query A { categories { id } } query B { viewer { username } }', operationName: 'C' }), headers: json, fast: false },
  { name: 'several operations, no name (400)', body: () => ({ query: 'query A { categories { id } } query B { viewer { username } }' }), headers: json, fast: false },
  { name: 'a variable of the wrong type (400)', body: () => ({ query: BENCH_THING, variables: { id: 'nope', full: false } }), headers: json, fast: false },
  { name: 'a required variable missing (400)', body: () => ({ query: BENCH_THING, variables: { full: false } }), headers: { ...json, accept: 'application/graphql-response+json' }, fast: false },
  { name: 'a field error with locations and partial data', body: () => ({ query: '{ node(id: "%%%") { id } categories { id } }' }), headers: json, fast: false },
  { name: 'a missing thing (null, no error)', body: () => ({ query: 'query M($id: Int!) { thing(id: $id) { id title } }', variables: { id: 999999 } }), headers: json, fast: true },
  { name: 'an operation charged more than one point', body: () => ({ query: COSTLY, variables: { n: 30 } }), headers: json, fast: true },
  { name: 'the same document over the cost limit', body: () => ({ query: COSTLY, variables: { n: 100 } }), headers: json, fast: false },
  { name: 'a syntax error', body: () => ({ query: '{ categories { id }' }), headers: json, fast: false },
  { name: 'a validation error', body: () => ({ query: '{ categories { nope } }' }), headers: json, fast: false },
  { name: 'an unexpected parameter (400)', body: () => ({ query: '{ categories { id } }', documentId: 'x' }), headers: json, fast: false },
  { name: 'variables as a list (400)', body: () => ({ query: '{ categories { id } }', variables: [1] }), headers: json, fast: false },
  { name: 'a JSON array body (batching)', body: () => '[{"query":"{ categories { id } }"}]', headers: json, fast: false },
  { name: 'invalid JSON', body: () => '{"query": "{ categories { id } }"', headers: json, fast: false },
  { name: 'a mutation, anonymous', body: () => ({ query: 'mutation { createThing(input: { url: "https://example.org/new", title: "New" }) { __typename } }' }), headers: json, anonymous: true, fast: false },
  {
    name: 'an automatic persisted query',
    body: () => {
      const query = '{ categories { text } }';
      return { query, extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } } };
    },
    headers: json,
    fast: false,
  },
];

const padded = (text: string) => (text.startsWith('{') ? `{${PADDING}${text.slice(1)}` : `${PADDING}${text}`);

async function send(baseUrl: string, testCase: Case, pad: boolean, bearer: string | null): Promise<HttpResult> {
  const body = testCase.body();
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return request(baseUrl, '/graphql', {
    method: 'POST',
    headers: { ...testCase.headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: pad ? padded(text) : text,
  });
}

/** Headers that differ by request whatever answers it. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);
const RATE_LIMIT_EXTENSION = /"rateLimit":\{"limit":(\d+),"remaining":(\d+),"current":(\d+),"reset":(\d+)\}/;

/** The answer with the rate-limit counts taken out, and the remaining count (header and body must agree). */
function comparable(result: HttpResult) {
  const headers = Object.fromEntries(Object.entries(result.headers).filter(([name]) => !PER_REQUEST.has(name)));
  const remaining = Number(headers['x-ratelimit-remaining']);
  expect(Number.isInteger(remaining)).toBe(true);
  for (const name of ['x-ratelimit-remaining', 'x-ratelimit-current', 'ratelimit']) headers[name] = '(count)';
  // Seconds until the reset, from the clock: two answers a second boundary apart differ by one.
  if (headers['retry-after'] !== undefined) {
    const untilReset = Number(headers['x-ratelimit-reset']) - Date.now() / 1000;
    expect(Math.abs(Number(headers['retry-after']) - untilReset)).toBeLessThanOrEqual(2);
    headers['retry-after'] = '(seconds until the reset)';
  }
  // The counts' digits change the length: it must be the body's.
  if (headers['content-length'] !== undefined) {
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(result.text));
    headers['content-length'] = '(length of the body)';
  }
  const extension = RATE_LIMIT_EXTENSION.exec(result.text);
  if (extension) expect(Number(extension[2])).toBe(remaining);
  const body = result.text.replace(RATE_LIMIT_EXTENSION, '"rateLimit":{"limit":$1,"remaining":"(count)","current":"(count)","reset":$4}');
  return { answer: { status: result.status, headers, body }, remaining };
}

async function fastPathCount(baseUrl: string, outcome = 'fast_path'): Promise<number> {
  const text = (await request(baseUrl, '/metrics')).text;
  return Number(new RegExp(`^flattr_graphql_compiled_executions_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** Sends the case four times (Yoga, twice as it is, Yoga with a padded body); returns the fast-path answers counted. */
async function sendFourTimes(baseUrl: string, testCase: Case, bearer: string | null) {
  const before = await fastPathCount(baseUrl);
  const answers = [];
  for (const pad of [false, false, false, true]) answers.push(comparable(await send(baseUrl, testCase, pad, bearer)));
  const fastAnswers = (await fastPathCount(baseUrl)) - before;
  return { answers, fastAnswers };
}

function expectSameAnswers(answers: ReturnType<typeof comparable>[]) {
  for (const answer of answers.slice(1)) expect(answer.answer).toEqual(answers[0]!.answer);
  // Each request charged the same weight (the first one too: its bucket only counts down).
  const charged = answers.slice(1).map((answer, i) => answers[i]!.remaining - answer.remaining);
  for (const points of charged) expect(points).toBe(charged[0]);
  return charged[0]!;
}

describe('the /graphql fast path answers as Yoga does', () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const { answers, fastAnswers } = await sendFourTimes(app.baseUrl, testCase, testCase.anonymous ? null : token);
      expectSameAnswers(answers);
      if (testCase.headers?.origin) {
        expect(answers[0]!.answer.headers['access-control-allow-origin']).toBe(testCase.headers.origin);
        expect(answers[0]!.answer.headers['access-control-allow-credentials']).toBe('true');
      }
      // The first answer may come from the fast path only when an earlier case made the same text known.
      if (testCase.fast) expect(fastAnswers).toBeGreaterThanOrEqual(2);
      else expect(fastAnswers).toBe(0);
    });
  }

  it('the bench documents are answered by the fast path, and the answers are the JSON Yoga gives', async () => {
    const { answers, fastAnswers } = await sendFourTimes(app.baseUrl, CASES[2]!, token);
    expect(fastAnswers).toBe(3);
    const body = JSON.parse(answers[0]!.answer.body) as { data: { user: { things: { edges: unknown[] } } } };
    expect(body.data.user.things.edges).toHaveLength(4);
    expect(answers[0]!.answer.headers['content-type']).toBe('application/graphql-response+json; charset=utf-8');
  });

  it('an operation over one point is charged its weight on the fast path too', async () => {
    const { answers } = await sendFourTimes(app.baseUrl, CASES.find((c) => c.name === 'an operation charged more than one point')!, token);
    expect(answers[0]!.remaining - answers[1]!.remaining).toBe(4);
  });
});

describe('a rate-limit refusal of a known document', () => {
  let limited: TestApp;
  let richToken: string;
  let poorToken: string;

  beforeAll(async () => {
    limited = await startTestApp({ RATE_LIMIT_PER_HOUR: '20', GRAPHQL_MAX_COST: '8000' }, { countQueries: false });
    const fx = new Fixtures(limited.orm, limited.clock);
    const carol = await fx.user({ username: 'carol' });
    for (let i = 0; i < 3; i++) await fx.thing(carol, { url: `https://example.org/d${i}`, title: `D thing ${i}` });
    richToken = await fx.token(carol, ['flattr']);
    poorToken = await fx.token(carol, ['flattr']);
  });
  afterAll(() => limited?.close());

  it('is the 429 Yoga answers, and gives the request back the same way', async () => {
    const costly: Case = { name: 'costly', body: () => ({ query: COSTLY, variables: { n: 30 } }), headers: json, fast: true };
    // Another caller makes the document known.
    expect((await send(limited.baseUrl, costly, false, richToken)).status).toBe(200);
    // The poor caller spends its bucket down to 3 points: the operation's weight (4) no longer fits.
    const cheap: Case = { name: 'cheap', body: () => ({ query: '{ __typename }' }), headers: json, fast: true };
    for (let i = 0; i < 17; i++) expect((await send(limited.baseUrl, cheap, false, poorToken)).status).toBe(200);
    const before = await fastPathCount(limited.baseUrl, 'fast_path_refused');
    const answers = [];
    // Yoga first (padded), then the fast path twice.
    for (const pad of [true, false, false]) answers.push(comparable(await send(limited.baseUrl, costly, pad, poorToken)));
    expect(answers[0]!.answer.status).toBe(429);
    expect(answers[0]!.answer.headers['retry-after']).toBeDefined();
    expect(answers[0]!.answer.body).toContain('"code":"RATE_LIMITED"');
    expect(expectSameAnswers(answers)).toBe(0);
    expect(answers[0]!.remaining).toBe(3);
    // The two repeats were refused by the fast path.
    expect((await fastPathCount(limited.baseUrl, 'fast_path_refused')) - before).toBe(2);
  });
});

describe('trusted documents mode', () => {
  let trusted: TestApp;
  let dir: string;
  const LISTED = 'query Listed { categories { id text } }';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flattr-fast-trusted-'));
    const manifestPath = path.join(dir, 'persisted-documents.json');
    fs.writeFileSync(manifestPath, JSON.stringify({ [createHash('sha256').update(LISTED).digest('hex')]: LISTED }));
    trusted = await startTestApp({ RATE_LIMIT_PER_HOUR: '100000', GRAPHQL_TRUSTED_DOCUMENTS: manifestPath }, { countQueries: false });
  });
  afterAll(async () => {
    await trusted?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers listed texts on the fast path, and never an unlisted one, however often it is sent', async () => {
    const listed = await sendFourTimes(trusted.baseUrl, { name: 'listed', body: () => ({ query: LISTED }), headers: json, fast: true }, null);
    expectSameAnswers(listed.answers);
    expect(listed.answers[0]!.answer.status).toBe(200);
    expect(listed.fastAnswers).toBe(2);
    const unlisted = await sendFourTimes(trusted.baseUrl, { name: 'unlisted', body: () => ({ query: '{ categories { id } }' }), headers: json, fast: false }, null);
    expectSameAnswers(unlisted.answers);
    expect(unlisted.answers[0]!.answer.body).toContain('PERSISTED_QUERY_NOT_ALLOWED');
    expect(unlisted.fastAnswers).toBe(0);
  });
});
