import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { exitCode, startServerProcess, type ServerProcess } from './support/processes.js';

/**
 * Worker processes (issue 18 item 6), on the real server process (`node --import tsx src/server/main.ts`): with
 * WEB_CONCURRENCY=2 a cluster primary forks two workers on one port; /healthz names the pid that answered.
 */

let database: TestDatabase;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const server of servers) await server.stop(15_000).catch(() => undefined);
  await database?.drop();
});

async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ DATABASE_URL: database.url, ...env });
  servers.push(server);
  return server;
}

/** GET /healthz on a new connection (no keep-alive, so the cluster hands each request out anew); the answering pid. */
function healthzPid(baseUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}/healthz`, { agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`/healthz answered ${res.statusCode}: ${body}`));
        else resolve(JSON.parse(body).pid);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    // A connection handed to a worker at the moment it is killed is lost with it: give up on it.
    req.setTimeout(2_000, () => req.destroy(new Error('no answer within 2 s')));
  });
}

/** Asks /healthz until `count` different pids have answered (or `attempts` requests were made); the pids seen. */
async function pidsAnswering(baseUrl: string, count: number, attempts = 200): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < attempts && pids.size < count; i++) {
    try {
      pids.add(await healthzPid(baseUrl));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a worker still starting, or the port between workers
    }
  }
  return pids;
}

/** The `worker` field of the "listening" log lines. */
function listeningWorkers(server: ServerProcess): unknown[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.includes('Flattr API listening'))
    .map((line) => JSON.parse(line).worker);
}

const QUERY = JSON.stringify({ query: '{ categories { id } }' });

/** POST /graphql whose body is held back until `finish()`; resolves once the worker has the request (100 Continue). */
function heldRequest(baseUrl: string): Promise<{ finish(): Promise<{ status: number; body: string; connection: string | undefined }> }> {
  const url = new URL('/graphql', baseUrl);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(QUERY), Expect: '100-continue' },
  });
  const response = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return new Promise((resolve, reject) => {
    req.once('error', reject);
    req.once('continue', () =>
      resolve({
        finish() {
          req.end(QUERY);
          return response;
        },
      }),
    );
  });
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('WEB_CONCURRENCY', () => {
  it('1 (the default): no cluster, the process itself answers', async () => {
    const server = await start();
    const pids = await pidsAnswering(server.baseUrl, 2, 10);
    expect([...pids]).toEqual([server.child.pid]);
    expect(server.output()).not.toMatch(/"primary":true|"worker":/);
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('2: two workers answer on one port; a killed worker is replaced; SIGTERM drains them and the primary exits 0', { timeout: 60_000 }, async () => {
    const server = await start({ WEB_CONCURRENCY: '2', SUBSCRIPTIONS_CRON: 'true' });
    await waitUntil(() => /all workers listening/.test(server.output()), 30_000, 'both workers');
    await waitUntil(() => /"msg":"job subscriptions done"/.test(server.output()), 30_000, 'the subscriptions job');
    const pids = await pidsAnswering(server.baseUrl, 2);
    expect(pids.size).toBe(2);
    expect(pids.has(server.child.pid!)).toBe(false); // the primary serves nothing itself
    expect(listeningWorkers(server).sort()).toEqual([1, 2]);

    // Kill one worker: it is replaced, and meanwhile (and after) the port keeps answering.
    const [victim, survivor] = [...pids];
    process.kill(victim, 'SIGKILL');
    await waitUntil(() => /"msg":"worker exited unexpectedly"/.test(server.output()), 10_000, 'the primary to see the exit');
    // Before the replacement is up, the survivor answers every request on the port.
    expect([await healthzPid(server.baseUrl), await healthzPid(server.baseUrl)]).toEqual([survivor, survivor]);
    await waitUntil(() => /replacement worker listening/.test(server.output()), 20_000, 'the replacement');
    const after = new Set<number>();
    await waitUntil(
      async () => {
        try {
          after.add(await healthzPid(server.baseUrl));
        } catch {
          // the port never goes silent, but a connection handed to the dying worker may fail
        }
        return after.size === 2;
      },
      30_000,
      'two workers answering again',
    );
    expect(after.has(victim)).toBe(false);
    expect(after.has(survivor)).toBe(true);

    // SIGTERM to the primary: both workers drain and stop, then the primary exits 0. A request in flight (its body
    // held back; `Expect: 100-continue` tells when the worker has it) still completes.
    const slow = await heldRequest(server.baseUrl);
    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    await waitUntil(() => /"msg":"waiting for requests in flight"/.test(server.output()), 10_000, 'a worker to wait for the request');
    const answer = await slow.finish();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data).toEqual({ categories: expect.arrayContaining([{ id: 'text' }]) });
    expect(answer.connection).toBe('close');
    expect(await exited).toBe(0);
    const output = server.output();
    expect(output.match(/"msg":"worker stopped"/g)).toHaveLength(2);
    expect(output).toMatch(/"primary":true.*"msg":"stopped"/);
    for (const pid of after) expect(() => process.kill(pid, 0)).toThrow(); // no worker is left behind
    // Every worker ticks the background jobs; the job's advisory lock and its job_runs row let one of them run the
    // subscription run, once (it is not due again within the hour).
    const jobRuns = output.split('\n').filter((line) => line.includes('"msg":"job subscriptions done"'));
    expect(jobRuns).toHaveLength(1);
    expect([1, 2]).toContain(JSON.parse(jobRuns[0]!).worker);
  });
});

describe('WEB_CONCURRENCY with the embedded PostgreSQL (no DATABASE_URL)', () => {
  let dataDir = '';
  afterAll(async () => {
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  const postmasters = () => spawnSync('pgrep', ['-f', `postgres -D ${path.join(dataDir, 'pg')}( |$)`], { encoding: 'utf8' }).stdout.trim();

  it('the primary starts it once, both workers use it, and SIGTERM stops the workers, then PostgreSQL; exit 0', { timeout: 120_000 }, async () => {
    dataDir = await fs.mkdtemp('/tmp/flattr-web-concurrency-');
    await fs.chmod(dataDir, 0o755); // PostgreSQL runs as OS user "postgres" when the tests run as root
    const server = await startServerProcess({ WEB_CONCURRENCY: '2', DATA_DIR: dataDir, DATABASE_URL: '', TEST_DATABASE_URL: '' });
    servers.push(server);
    await waitUntil(() => /all workers listening/.test(server.output()), 60_000, 'both workers');
    expect((await pidsAnswering(server.baseUrl, 2)).size).toBe(2);
    const output = server.output();
    expect(output.match(/"msg":"starting 2 workers/g)).toHaveLength(1);
    expect(output).toMatch(/"primary":true,"workers":2,"embedded":true/);
    expect(postmasters().split('\n')).toHaveLength(1);
    // Both workers read the database.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.baseUrl}/rest/v2/categories`, { headers: { Connection: 'close' } });
      expect(res.status).toBe(200);
    }

    const exited = exitCode(server);
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(server.output().match(/"msg":"worker stopped"/g)).toHaveLength(2);
    expect(postmasters()).toBe('');
  });
});
