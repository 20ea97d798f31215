import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../src/config/config.js';
import { ManualClock } from '../src/config/clock.js';
import { openDatabase } from '../src/db/database.js';
import { createApp } from '../src/server/app.js';
import { createLogger } from '../src/server/logger.js';
import { OAuthClient } from '../src/entities/index.js';
import { createUser } from '../src/services/users.js';
import { observeRequests, REQUEST_ID } from '../src/ops/observe.js';
import { createMetrics } from '../src/ops/metrics.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';

/** Request logs and X-Request-Id (issue 8, item 3): one JSON line per request, never a credential. */

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts.filter((line) => line !== ''));
      callback();
    },
  });
  return { stream, lines };
}

let baseUrl: string;
let server: http.Server;
let orm: MikroORM;
let database: TestDatabase;
let lines: string[];
let token: string;
let otherToken: string;
let clientId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openDatabase({ databaseUrl: database.url });
  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config = loadConfig({ PORT: String(port) });
  const clock = new ManualClock(new Date());
  const captured = capture();
  lines = captured.lines;
  const app = createApp({ orm, config, clock, logger: createLogger('info', 'json', captured.stream) });
  server.on('request', app.callback());
  baseUrl = `http://127.0.0.1:${port}`;
  const fx = new Fixtures(orm, clock);
  const alice = await fx.user({ username: 'alice' });
  token = await fx.token(alice, ['thing']);
  otherToken = await fx.token(alice);
  clientId = (await orm.em.fork().findOneOrFail(OAuthClient, { name: 'Test app' })).clientId;
  await createUser(orm.em.fork(), clock, { username: 'bob', email: 'bob@example.org', password: 'hunter2-very-secret-password' });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await orm?.close(true);
  await database?.drop();
});

const requestLines = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request');

describe('the request log', () => {
  it('writes one line per request with method, route template, status, duration, request id and client id', async () => {
    const before = requestLines().length;
    const res = await request(baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'req-1' } });
    expect(res.status).toBe(200);
    await request(baseUrl, '/rest/v2/categories', { headers: { 'X-Request-Id': 'req-2' } });
    const entries = requestLines().slice(before);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toEqual({
      level: 30,
      time: expect.any(Number),
      reqId: 'req-1',
      method: 'GET',
      route: '/rest/v2/user',
      path: '/rest/v2/user',
      status: 200,
      durationMs: expect.any(Number),
      clientId,
      msg: 'request',
    });
    expect(entries[1]).toMatchObject({ reqId: 'req-2', route: '/rest/v2/categories', status: 200, clientId: null });
  });

  it('names GraphQL requests /graphql with the client of their token', async () => {
    const before = requestLines().length;
    await request(baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: '{"query":"{ viewer { username } }"}',
    });
    expect(requestLines().slice(before)).toEqual([expect.objectContaining({ method: 'POST', route: '/graphql', status: 200, clientId })]);
  });

  it('never logs tokens, secrets, passwords or cookies, wherever they were sent', async () => {
    const secrets = {
      bearer: token,
      queryToken: otherToken,
      password: 'hunter2-very-secret-password',
      clientSecret: 'client-secret-that-must-not-appear',
      cookie: 'cookie-value-that-must-not-appear',
      csrf: 'csrf-value-that-must-not-appear',
      bodyToken: 'body-token-that-must-not-appear',
    };
    const before = requestLines().length;
    await request(baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${secrets.bearer}` } });
    await request(baseUrl, `/rest/v2/user?access_token=${secrets.queryToken}`);
    await request(baseUrl, '/rest/v2/things', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ access_token: secrets.bodyToken, url: 'https://example.org/x' }),
    });
    await request(baseUrl, '/login', { headers: { Cookie: `flattr_session=${secrets.cookie}` } });
    await request(baseUrl, '/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `flattr_session=${secrets.cookie}` },
      body: new URLSearchParams({ username: 'bob', password: secrets.password, csrf_token: secrets.csrf }).toString(),
    });
    await request(baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: clientId, client_secret: secrets.clientSecret }).toString(),
    });
    await request(baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secrets.bearer}x`, 'X-CSRF-Token': secrets.csrf },
      body: '{"query":"{ categories { id } }"}',
    });
    expect(requestLines().length - before).toBe(7);
    const everything = lines.join('\n');
    for (const [name, secret] of Object.entries(secrets)) expect(everything.includes(secret), name).toBe(false);
    // The query string is never logged (only the path).
    expect(requestLines().every((entry) => !String(entry.path).includes('?'))).toBe(true);
  });
});

describe('X-Request-Id', () => {
  it('reuses a well-formed incoming id and logs it', async () => {
    const id = 'Abc-123_x.y:z';
    const res = await request(baseUrl, '/rest/v2/categories', { headers: { 'X-Request-Id': id } });
    expect(res.headers['x-request-id']).toBe(id);
    expect(requestLines().at(-1)!.reqId).toBe(id);
  });

  it('replaces a malformed or too long id with a generated UUID', async () => {
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '<script>']) {
      const res = await request(baseUrl, '/rest/v2/categories', { headers: { 'X-Request-Id': bad } });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(REQUEST_ID.test('x'.repeat(128))).toBe(true);
    const generated = await request(baseUrl, '/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines().at(-1)!.reqId).toBe(generated.headers['x-request-id']);
  });

  it('is on every kind of response: REST errors, preflights, GraphQL, pages, OAuth, unknown paths', async () => {
    const answers = await Promise.all([
      request(baseUrl, '/rest/v2/things/999'),
      request(baseUrl, '/rest/v2/things/1', { method: 'OPTIONS' }),
      request(baseUrl, '/rest/v2/user', { headers: { Authorization: 'Bearer nope' } }),
      request(baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer nope' }, body: '{}' }),
      request(baseUrl, '/signup'),
      request(baseUrl, '/oauth/token', { method: 'POST' }),
      request(baseUrl, '/no/such/page'),
      request(baseUrl, '/readyz'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([404, 204, 401, 401, 200, 401, 404, 200]);
    for (const answer of answers) expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('survives an exception no handler caught (a 500 that keeps the id and is logged)', async () => {
    const captured = capture();
    const logger = createLogger('info', 'json', captured.stream);
    const app = new Koa();
    app.silent = true;
    app.use(observeRequests({ logger, metrics: createMetrics(orm) }));
    app.use((ctx) => {
      ctx.set('X-Leaky', 'set before the failure');
      throw new Error('boom');
    });
    const crashServer = http.createServer(app.callback());
    await new Promise<void>((resolve) => crashServer.listen(0, '127.0.0.1', resolve));
    try {
      const res = await request(`http://127.0.0.1:${(crashServer.address() as AddressInfo).port}`, '/x', { headers: { 'X-Request-Id': 'crash-1' } });
      expect(res.status).toBe(500);
      expect(res.text).toBe('Internal Server Error');
      expect(res.headers['x-request-id']).toBe('crash-1');
      expect(res.headers['x-leaky']).toBeUndefined();
      const entries = captured.lines.map((line) => JSON.parse(line));
      expect(entries.filter((e) => e.msg === 'request')).toEqual([expect.objectContaining({ reqId: 'crash-1', status: 500, route: 'unmatched', level: 40 })]);
    } finally {
      await new Promise<void>((resolve) => crashServer.close(() => resolve()));
    }
  });
});

describe('createLogger', () => {
  it('redacts credentials wherever some code logs them', () => {
    const captured = capture();
    const logger = createLogger('info', 'json', captured.stream);
    logger.info({ req: { headers: { authorization: 'Bearer abc', cookie: 'a=b' } }, body: { password: 'pw', client_secret: 'cs', access_token: 'at' } }, 'x');
    const text = captured.lines.join('\n');
    for (const secret of ['Bearer abc', 'a=b', '"pw"', '"cs"', '"at"']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});
