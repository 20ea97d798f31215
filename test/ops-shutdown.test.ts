import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { exitCode, startServerProcess, type ServerProcess } from './support/processes.js';

/**
 * Graceful shutdown (issue 8, item 4), on the real server process (`node --import tsx src/server/main.ts`).
 *
 * The slow request is a real one, with no test hook in the server: a POST /graphql whose body the test sends in two
 * halves. The server has the request (headers received, handler waiting for the body) when SIGTERM arrives; the
 * second half goes out afterwards, and the query it completes reads the database, so the ORM must still be open.
 */

let database: TestDatabase;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const server of servers) await server.stop().catch(() => undefined);
  await database?.drop();
});

async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ DATABASE_URL: database.url, ...env });
  servers.push(server);
  return server;
}

const QUERY = JSON.stringify({ query: '{ user(username: "nobody") { username } categories { id } }' });

/** Starts POST /graphql with the first half of the body; `finish()` sends the rest and resolves with the response. */
function halfSentRequest(baseUrl: string) {
  const url = new URL('/graphql', baseUrl);
  let response: Promise<{ status: number; body: string; connection: string | undefined }>;
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(QUERY) } });
  response = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.write(QUERY.slice(0, 20));
  return {
    finish() {
      req.end(QUERY.slice(20));
      return response;
    },
    response: () => response,
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SIGTERM', () => {
  it('lets a request in flight finish with 200, refuses new connections, then exits 0', async () => {
    const server = await start();
    const slow = halfSentRequest(server.baseUrl);
    await pause(300); // the server has the request
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    await pause(500);
    // Still running, waiting for the request, and no longer accepting connections.
    expect(server.child.exitCode).toBeNull();
    await expect(fetch(`${server.baseUrl}/healthz`)).rejects.toThrow();
    const answer = await slow.finish();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data).toEqual({ user: null, categories: expect.arrayContaining([{ id: 'text' }]) });
    expect(answer.connection).toBe('close');
    expect(await exited).toBe(0);
    const output = server.output();
    expect(output).toMatch(/"msg":"waiting for requests in flight"/);
    expect(output).toMatch(/"inFlight":1/);
    expect(output).toMatch(/"msg":"every request finished"/);
    expect(output).toMatch(/"msg":"stopped"/);
    // The request was logged, with its status, before the process went away.
    expect(output).toMatch(/"method":"POST","route":"\/graphql","path":"\/graphql","status":200/);
  }, 60_000);

  it('cuts what is still running after SHUTDOWN_TIMEOUT_MS, and still exits 0', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '400' });
    const stuck = halfSentRequest(server.baseUrl);
    await pause(300);
    const exited = exitCode(server);
    const started = Date.now();
    server.child.kill('SIGTERM');
    await expect(stuck.response()).rejects.toThrow(); // the connection is closed under it
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(server.output()).toMatch(/"msg":"shutdown timeout: closing the connections still open"/);
  }, 60_000);

  it('exits at once when nothing is in flight (SIGINT too)', async () => {
    const server = await start();
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    const exited = exitCode(server);
    const started = Date.now();
    server.child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.output()).not.toMatch(/waiting for requests in flight/);
  }, 60_000);
});
