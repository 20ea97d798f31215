import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startServerProcess, type ServerProcess } from './support/processes.js';
import { rawRequest } from './support/fuzz/raw-http.js';
import { assertOAuthError, assertRestError } from './support/fuzz/oracles.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { reportFigures } from './support/fuzz/settings.js';

/**
 * Issue 10 (5): resource limits. Request bodies (REST and OAuth 1 MiB, website forms 32 KiB), header and URL size
 * (16 KiB, Node's limit), deep JSON, maximum page size (MAX_PAGE_SIZE) and ids per request (100, D50) are enforced
 * in-process; slow clients (slowloris: headers or body trickled byte by byte) are cut off by the real server's
 * timeouts (scratch/security-fixes-for-lead.md item 2: HTTP_HEADERS_TIMEOUT_MS and HTTP_REQUEST_TIMEOUT_MS).
 */

let app: TestApp;
let port: number;
let db: DbWatcher;
let token: string;
let limits = 0;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_HOUR: '1000000000' });
  port = Number(new URL(app.baseUrl).port);
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice' });
  token = await fx.token(alice, ['thing', 'flattr']);
  for (let i = 0; i < 105; i++) await fx.thing(alice, { title: `Thing ${i}` });
  db = await DbWatcher.connect(app.databaseUrl);
});

afterAll(async () => {
  reportFigures({ suite: 'security-limits', limits });
  await db?.close();
  await app?.close();
});

const MiB = 1024 * 1024;

describe('request bodies', () => {
  it('REST: a body over 1 MiB is 400 "Request body too large", declared or chunked, and nothing is written', async () => {
    const before = await db.state();
    const big = Buffer.alloc(MiB + 1, 0x20);
    big.write('{"url":"https://example.org/big","description":"', 0);
    for (const chunked of [false, true]) {
      limits += 1;
      const started = performance.now();
      const headers: [string, string][] = [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']];
      if (chunked) headers.push(['Transfer-Encoding', 'chunked']);
      const body = chunked ? Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]) : big;
      const res = await rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers, body, contentLength: !chunked });
      expect(res.status).toBe(400);
      expect(assertRestError(res, app.config.docsUrl).error_description).toBe('Request body too large');
      expect(performance.now() - started).toBeLessThan(5_000);
    }
    // Exactly 1 MiB is read (and then judged on its content).
    const exact = Buffer.alloc(MiB, 0x20);
    exact.write('{"url":"https://example.org/exact"}', 0);
    const ok = await rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers: [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']], body: exact });
    expect(ok.status).toBe(201);
    const after = await db.state();
    expect(DbWatcher.changed(before, after)).toEqual(['things']);
  });

  it('REST: deeply nested JSON (100,000 levels) is an ordinary 400, quickly', async () => {
    for (const body of ['['.repeat(100_000) + ']'.repeat(100_000), `{"title":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`]) {
      limits += 1;
      const started = performance.now();
      const res = await rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers: [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']], body });
      expect(res.status).toBe(400);
      assertRestError(res, app.config.docsUrl);
      expect(performance.now() - started).toBeLessThan(3_000);
    }
  });

  it('OAuth token endpoint: over 1 MiB is 400 invalid_request', async () => {
    limits += 1;
    const res = await rawRequest(port, { method: 'POST', target: '/oauth/token', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.alloc(MiB + 10, 0x61) });
    expect(res.status).toBe(400);
    expect(assertOAuthError(res, app.config.docsUrl)).toBe('invalid_request');
  });

  it('website forms: over 32 KiB is 413', async () => {
    limits += 1;
    const res = await rawRequest(port, { method: 'POST', target: '/login', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: `username=${'a'.repeat(40_000)}` });
    expect(res.status).toBe(413);
  });
});

describe('headers and URLs', () => {
  it('headers over 16 KiB, or a 20 KB URL, are refused by Node (431) and the process serves on', async () => {
    limits += 2;
    const header = await rawRequest(port, { method: 'GET', target: '/rest/v2/categories', headers: [['X-Big', 'a'.repeat(17 * 1024)]] });
    expect(header.status).toBe(431);
    const url = await rawRequest(port, { method: 'GET', target: `/rest/v2/things/search?query=${'a'.repeat(20_000)}` });
    expect([414, 431]).toContain(url.status);
    const manyHeaders = await rawRequest(port, { method: 'GET', target: '/rest/v2/categories', headers: Array.from({ length: 300 }, (_, i) => [`X-H${i}`, 'v'] as [string, string]) });
    expect(manyHeaders.status).toBe(200);
    expect((await request(app.baseUrl, '/rest/v2/categories')).status).toBe(200);
  });
});

describe('page size and id lists', () => {
  it(`REST count above MAX_PAGE_SIZE (${100}) is lowered to it (D20); absurd pages are just past the end`, async () => {
    limits += 3;
    const res = await request(app.baseUrl, '/rest/v2/users/alice/things?count=1000000');
    expect(res.status).toBe(200);
    expect(res.json()).toHaveLength(100);
    const search = await request(app.baseUrl, '/rest/v2/things/search?count=99999999999999999999');
    expect(search.status, search.text.slice(0, 300)).toBe(200);
    expect(search.json().things).toHaveLength(100);
    const far = await request(app.baseUrl, '/rest/v2/users/alice/things?count=100&page=99999999999999');
    expect(far.json()).toEqual([]);
  });

  it('GraphQL connections refuse a page size over MAX_PAGE_SIZE with BAD_USER_INPUT', async () => {
    limits += 1;
    const res = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '{ user(username: "alice") { things(first: 1000) { edges { node { databaseId } } } } }' }),
    });
    const body = res.json();
    expect(body.data).toEqual({ user: null });
    expect(body.errors).toEqual([expect.objectContaining({ path: ['user', 'things'], extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'first' }) })]);
  });

  it('at most 100 ids per request (D50), in the path and in the query form', async () => {
    limits += 4;
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(',');
    expect((await request(app.baseUrl, `/rest/v2/things/${ids(100)}`)).json()).toHaveLength(100);
    for (const path of [`/rest/v2/things/${ids(101)}`, `/rest/v2/things?id=${ids(101)}`, `/rest/v2/things?id=${ids(10_000).slice(0, 15_000)}`]) {
      const res = await rawRequest(port, { method: 'GET', target: path });
      expect(res.status, path.slice(0, 60)).toBe(400);
      expect(assertRestError(res, app.config.docsUrl).error).toBe('invalid_parameters');
    }
    // Duplicates and unknown or out-of-range ids do not widen the query.
    const dup = await request(app.baseUrl, `/rest/v2/things/${Array.from({ length: 100 }, () => '1').join(',')}`);
    expect(dup.json()).toHaveLength(1);
  });
});

describe('slow clients (the real server, needs item 2 of scratch/security-fixes-for-lead.md)', () => {
  let server: ServerProcess;
  let database: TestDatabase;
  let serverPort: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: database.url, HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', LOG_LEVEL: 'info' });
    serverPort = Number(new URL(server.baseUrl).port);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  /** Opens a connection, sends `head`, then one byte of `trickle` every 200 ms; resolves with the ms until the server ends it. */
  function trickle(head: string, trickleBytes: string, deadlineMs: number): Promise<{ ms: number; answer: string }> {
    return new Promise((resolve) => {
      const started = performance.now();
      let answer = '';
      let i = 0;
      const socket = net.connect(serverPort, '127.0.0.1', () => socket.write(head));
      const timer = setInterval(() => {
        if (i < trickleBytes.length && !socket.destroyed) socket.write(trickleBytes[i++]!);
      }, 200);
      const done = () => {
        clearInterval(timer);
        clearTimeout(deadline);
        socket.destroy();
        resolve({ ms: performance.now() - started, answer });
      };
      const deadline = setTimeout(done, deadlineMs);
      socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
      socket.on('close', done);
      socket.on('error', done);
    });
  }

  it('a client trickling its headers is cut off after HTTP_HEADERS_TIMEOUT_MS', async () => {
    limits += 1;
    const { ms, answer } = await trickle('GET /rest/v2/categories HTTP/1.1\r\nHost: x\r\n', 'X-Slow: yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes yes\r\n', 10_000);
    expect(ms, `the connection stayed open ${Math.round(ms)} ms`).toBeLessThan(5_000);
    if (answer) expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // The server is fine afterwards.
    expect((await request(server.baseUrl, '/rest/v2/categories')).status).toBe(200);
  });

  it('a client trickling a declared body is cut off after HTTP_REQUEST_TIMEOUT_MS', async () => {
    limits += 1;
    const head = 'POST /rest/v2/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
    const { ms } = await trickle(head, '{"url":"https://example.org/slow", "title": "'.padEnd(2_000, 'x'), 12_000);
    expect(ms, `the connection stayed open ${Math.round(ms)} ms`).toBeLessThan(6_000);
    expect((await request(server.baseUrl, '/rest/v2/categories')).status).toBe(200);
  });
});
