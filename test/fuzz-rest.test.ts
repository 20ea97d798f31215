import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { HangError, rawRequest } from './support/fuzz/raw-http.js';
import { assertRestError, isTransportRejection, parseBody } from './support/fuzz/oracles.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { randomPathRequest, routeRequest, type FuzzRequest, type RestFuzzContext } from './support/fuzz/rest-requests.js';
import { fuzzParameters, fuzzRuns, reportFigures, Tally, timeoutFor } from './support/fuzz/settings.js';
import { routes } from '../rest-facade/routes/index.js';

/**
 * Issue 10 (1): property-based fuzzing of every REST route of rest-facade/routes/index.ts. Whatever the path
 * segments, query string, headers (Accept, Content-Type, Authorization, method override, If-None-Match) and body
 * (wrong types, huge strings, deep nesting, invalid UTF-8, duplicate keys):
 *   - the answer comes within the deadline (no hang) and is never a 5xx;
 *   - an error is the spec §6.1 body with a catalogue code and the catalogue's status (in JSON, XML, YAML or JSONP);
 *   - any other body is well-formed in its Content-Type (JSON, XML, Atom, YAML, JSONP);
 *   - a refused request (and any GET, HEAD or OPTIONS) leaves every table exactly as it was;
 *   - the counters still equal the rows at the end.
 * `npm test` runs a few hundred cases; `npm run fuzz` (FUZZ_RUNS) many more.
 */

const ROUTE_RUNS = fuzzRuns(260);
const WRITE_RUNS = fuzzRuns(200);
const PATH_RUNS = fuzzRuns(120);
const DEADLINE_MS = 10_000;

let app: TestApp;
let port: number;
let db: DbWatcher;
let ctx: RestFuzzContext;
const statuses = new Tally();
const perRoute = new Tally();
const perRouteStatus = new Tally();
let cases = 0;
let transportRejections = 0;
let refusedUnchanged = 0;

beforeAll(async () => {
  // Rate limiting has its own tests; here it would only turn later cases into 403s.
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '1000000000' });
  port = Number(new URL(app.baseUrl).port);
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice', balanceCents: 500 } as never);
  const bob = await fx.user({ username: 'bob' });
  const things = [
    await fx.thing(bob, { url: 'https://example.org/post', title: 'My post', tags: ['blog', 'demo'] }),
    await fx.thing(bob, { title: 'Hidden <b>one</b>', hidden: true }),
    await fx.thing(alice, { title: "Alice's & co", description: 'a\nb', tags: ['music'] }),
  ];
  await fx.flattr(alice, things[0]!);
  ctx = {
    aliceAll: await fx.token(alice, ['flattr', 'thing', 'email', 'extendedread']),
    aliceNone: await fx.token(alice, []),
    bobFlattr: await fx.token(bob, ['flattr']),
    usernames: ['alice', 'bob'],
    thingIds: things.map((t) => t.id),
  };
  db = await DbWatcher.connect(app.databaseUrl);
});

afterAll(async () => {
  await db?.close();
  await app?.close();
});

/** Sends one generated request and checks every property of the answer. */
async function check(request: FuzzRequest): Promise<void> {
  cases += 1;
  perRoute.add(request.routeName);
  const before = await db.state();
  let res;
  try {
    res = await rawRequest(port, { ...request, timeoutMs: DEADLINE_MS });
  } catch (error) {
    if (error instanceof HangError) throw error;
    throw new Error(`no readable answer: ${(error as Error).message}`);
  }
  const after = await db.state();
  statuses.add(String(res.status));
  perRouteStatus.add(`${request.routeName} ${res.status}`);
  const describe = `${request.method} ${String(request.target).slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}`;
  if (res.status >= 500) throw new Error(`5xx: ${describe}`);
  const changed = DbWatcher.changed(before, after);
  if (isTransportRejection(res)) {
    transportRejections += 1;
    if (changed.length) throw new Error(`a request Node refused changed ${changed.join(', ')}: ${describe}`);
    return;
  }
  // CORS on every REST answer (§5.5, §5.11).
  if (res.headers['access-control-allow-origin'] !== '*') throw new Error(`no CORS header: ${describe}`);
  if (res.status >= 400) {
    if (request.method !== 'HEAD') {
      try {
        assertRestError(res, app.config.docsUrl);
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${describe}`);
      }
    }
    if (changed.length) throw new Error(`refused request changed ${changed.join(', ')}: ${describe}`);
    refusedUnchanged += 1;
    return;
  }
  if (['GET', 'HEAD', 'OPTIONS'].includes(request.method) && changed.length) throw new Error(`a read changed ${changed.join(', ')}: ${describe}`);
  if (res.body.length > 0) {
    try {
      parseBody(res);
    } catch (error) {
      throw new Error(`malformed ${res.headers['content-type']} body (${(error as Error).message}): ${describe}`);
    }
  }
}

describe('REST fuzzing (every route of rest-facade/routes/index.ts)', () => {
  it(
    `route table: ${ROUTE_RUNS} generated requests, never 5xx or a hang, catalogue errors, refused writes change nothing`,
    async () => {
      await fc.assert(fc.asyncProperty(routeRequest(ctx), check), fuzzParameters(ROUTE_RUNS));
    },
    timeoutFor(ROUTE_RUNS, 150),
  );

  it(
    `writes (E8-E10, E15, E16, E18-E20) with a valid token and hostile fields: ${WRITE_RUNS} requests`,
    async () => {
      await fc.assert(fc.asyncProperty(routeRequest(ctx, 'writes'), check), fuzzParameters(WRITE_RUNS));
    },
    timeoutFor(WRITE_RUNS, 150),
  );

  it(
    `random paths under /rest/v2: ${PATH_RUNS} requests`,
    async () => {
      await fc.assert(fc.asyncProperty(randomPathRequest(ctx), check), fuzzParameters(PATH_RUNS));
    },
    timeoutFor(PATH_RUNS, 150),
  );

  it('counters still equal rows, and every route was exercised', async () => {
    expect(await db.counterViolations()).toEqual([]);
    const exercised = new Set(perRoute.counts.keys());
    if (ROUTE_RUNS >= 200) expect(routes.filter((r) => !exercised.has(r.name)).map((r) => r.name)).toEqual([]);
    reportFigures({
      suite: 'fuzz-rest',
      cases,
      routes: routes.length,
      refusedAndUnchanged: refusedUnchanged,
      transportRejections,
      statuses: statuses.toJSON(),
    });
    if (process.env.FUZZ_DEBUG) console.log(perRouteStatus.toJSON());
  });
});
