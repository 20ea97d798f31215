import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { startServerProcess, type ServerProcess } from './support/processes.js';
import { rawRequest, type RawRequest } from './support/fuzz/raw-http.js';
import { MAX_JSON_NESTING } from '../src/http/json-nesting.js';
import { assertOAuthError, assertRestError } from './support/fuzz/oracles.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { reportFigures } from './support/fuzz/settings.js';

/**
 * Issue 10 (5): resource limits. Request bodies (REST and OAuth 1 MiB, website forms 32 KiB), header and URL size
 * (16 KiB, Node's limit), deep JSON, maximum page size (MAX_PAGE_SIZE) and ids per request (100, D50) are enforced
 * in-process; slow clients (slowloris: headers or body trickled byte by byte) are cut off by the real server's
 * timeouts (HTTP_HEADERS_TIMEOUT_MS and HTTP_REQUEST_TIMEOUT_MS: README, Configuration; SECURITY.md, Threat model).
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
/** The catalogue's invalid_request, as given for JSON nested deeper than MAX_JSON_NESTING. */
const DEEP_JSON_ERROR = { error: 'invalid_request', error_description: 'The request is invalid' };

describe('request bodies', () => {
  it('REST: a body over 1 MiB is 400 "Request body too large", declared or chunked, without waiting for its end, and nothing is written', async () => {
    const before = await db.state();
    const big = Buffer.alloc(MiB + 1, 0x20);
    big.write('{"url":"https://example.org/big","description":"', 0);
    const auth: [string, string][] = [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']];
    const chunk = (data: Buffer) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const requests: [string, RawRequest][] = [
      ['declared', { method: 'POST', target: '/rest/v2/things', headers: auth, body: big }],
      ['chunked', { method: 'POST', target: '/rest/v2/things', headers: [...auth, ['Transfer-Encoding', 'chunked']], body: Buffer.concat([chunk(big), Buffer.from('0\r\n\r\n')]), contentLength: false }],
      // The body never ends: the answer cannot wait for it. Declared: 10 MiB announced, 1 KiB sent.
      ['declared, unfinished', { method: 'POST', target: '/rest/v2/things', headers: [...auth, ['Content-Length', String(10 * MiB)]], body: big.subarray(0, 1024), contentLength: false }],
      // Chunked: more than 1 MiB sent, then neither the rest of the chunk nor the last chunk.
      ['chunked, unfinished', { method: 'POST', target: '/rest/v2/things', headers: [...auth, ['Transfer-Encoding', 'chunked']], body: Buffer.concat([Buffer.from(`${(10 * MiB).toString(16)}\r\n`), big]), contentLength: false }],
    ];
    for (const [name, req] of requests) {
      limits += 1;
      const res = await rawRequest(port, req);
      expect(res.status, name).toBe(400);
      expect(assertRestError(res, app.config.docsUrl).error_description, name).toBe('Request body too large');
    }
    // Exactly 1 MiB is read (and then judged on its content).
    const exact = Buffer.alloc(MiB, 0x20);
    exact.write('{"url":"https://example.org/exact"}', 0);
    const ok = await rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers: auth, body: exact });
    expect(ok.status).toBe(201);
    const after = await db.state();
    expect(DbWatcher.changed(before, after)).toEqual(['things']);
  });

  it(`REST: deeply nested JSON (100,000 levels) is refused before it is parsed: over MAX_JSON_NESTING (${MAX_JSON_NESTING}) levels, 400 invalid_request`, async () => {
    const nested = (levels: number) => [
      ['array', '['.repeat(levels) + ']'.repeat(levels)],
      ['object', `{"title":${'{"a":'.repeat(levels - 1)}1${'}'.repeat(levels)}`],
    ];
    const post = (body: string) =>
      rawRequest(port, { method: 'POST', target: '/rest/v2/things', headers: [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']], body });
    for (const levels of [100_000, MAX_JSON_NESTING + 1]) {
      for (const [shape, body] of nested(levels)) {
        limits += 1;
        const res = await post(body!);
        expect(res.status, `${shape} ${levels}`).toBe(400);
        expect(assertRestError(res, app.config.docsUrl), `${shape} ${levels}`).toMatchObject(DEEP_JSON_ERROR);
      }
    }
    // At the limit the body is parsed, and judged on what it says (another error): the refusal above is the nesting check's.
    const atLimit: Record<string, unknown> = {};
    for (const [shape, body] of nested(MAX_JSON_NESTING)) {
      const res = await post(body!);
      atLimit[shape!] = [res.status, assertRestError(res, app.config.docsUrl).error_description];
    }
    expect(atLimit).toEqual({ array: [400, 'Malformed JSON body'], object: [400, 'One or many parameters are missing or invalid'] });
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
    expect(url.status).toBe(431);
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

describe('slow clients (the real server: HTTP_HEADERS_TIMEOUT_MS and HTTP_REQUEST_TIMEOUT_MS)', () => {
  let server: ServerProcess;
  let database: TestDatabase;
  let serverPort: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: database.url, HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', LOG_LEVEL: 'info' });
    serverPort = Number(new URL(server.baseUrl).port);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  /** What Node's HTTP server sends a client it cuts off for HTTP_HEADERS_TIMEOUT_MS or HTTP_REQUEST_TIMEOUT_MS. */
  const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

  /**
   * Opens a connection, sends `head`, then one byte of `trickleBytes` every 100 ms and never completes the request.
   * Resolves once the server ends the connection (there is no client-side deadline: a server that never cuts the
   * client off fails the test by its timeout), with what the server answered and how many bytes it had been sent.
   */
  function trickle(head: string, trickleBytes: string): Promise<{ answer: string; sent: number; endedByServer: boolean }> {
    return new Promise((resolve) => {
      let answer = '';
      let sent = 0;
      let endedByServer = false;
      const socket = net.connect(serverPort, '127.0.0.1', () => socket.write(head));
      const timer = setInterval(() => {
        if (sent < trickleBytes.length && !socket.destroyed) socket.write(trickleBytes[sent++]!);
      }, 100);
      socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
      // The server's FIN, or its reset: either way the server ended it (the client never closes first).
      socket.on('end', () => (endedByServer = true));
      socket.on('error', (error: NodeJS.ErrnoException) => (endedByServer ||= error.code === 'ECONNRESET' || error.code === 'EPIPE'));
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ answer, sent, endedByServer });
      });
    });
  }

  it('a client trickling its headers is cut off with 408 after HTTP_HEADERS_TIMEOUT_MS, while still sending', async () => {
    limits += 1;
    const slowHeader = `X-Slow: ${'yes '.repeat(100)}\r\n`;
    const { answer, sent, endedByServer } = await trickle('GET /rest/v2/categories HTTP/1.1\r\nHost: x\r\n', slowHeader);
    expect(endedByServer).toBe(true);
    expect(sent, 'the server waited for the whole header').toBeLessThan(slowHeader.length);
    expect(answer).toBe(REQUEST_TIMEOUT_ANSWER);
    // The server is fine afterwards.
    expect((await request(server.baseUrl, '/rest/v2/categories')).status).toBe(200);
  });

  it('a client trickling a declared body is cut off after HTTP_REQUEST_TIMEOUT_MS, while still sending, and nothing is written', async () => {
    limits += 1;
    const head = 'POST /rest/v2/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
    const body = '{"url":"https://example.org/slow", "title": "'.padEnd(2_000, 'x');
    const { answer, sent, endedByServer } = await trickle(head, body);
    expect(endedByServer).toBe(true);
    expect(sent, 'the server waited for the whole body').toBeLessThan(body.length);
    expect(answer).toBe(REQUEST_TIMEOUT_ANSWER);
    expect((await request(server.baseUrl, '/rest/v2/categories')).status).toBe(200);
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      expect((await sql.query('select count(*)::int as n from things')).rows[0].n).toBe(0);
    } finally {
      await sql.end();
    }
  });
});
