/**
 * Issue 20: GraphQL subscriptions, measured. `npx tsx bench/live.ts [--events 200] [--streams 1000]`
 *
 * 1. Commit-to-delivery delay: a client commits a flattr with plain SQL (the clock starts when COMMIT returns) and
 *    an SSE subscriber (`flattrCreated`) notes when the event arrives. Once with one server process (the subscriber on
 *    it), once with two processes sharing the database and Redis (a subscriber on each; the write is the same,
 *    every process LISTENs). Also end to end through REST: the flattr POSTed to process A (clock starts when the
 *    request is sent), the event read on process B.
 * 2. Memory per 1,000 open streams: RSS of a fresh server process before and after opening `--streams` idle
 *    subscriptions, and the time one event takes to reach all of them.
 *
 * Needs BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) and redis-server on the PATH. Makes and
 * drops its own database (flattr_livebench_*). Prints a JSON summary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { findFreePort } from '../src/db/free-port.js';
import { issueAccessToken, generateCredential, sha256Hex } from '../src/services/tokens.js';
import { systemClock } from '../src/config/clock.js';
import { OAuthClient, Thing, User } from '../src/entities/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (message: string) => process.stderr.write(`[live] ${message}\n`);

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const EVENTS = option('events', 200);
const STREAMS = option('streams', 1000);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Server {
  child: ChildProcess;
  baseUrl: string;
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', SUBSCRIPTIONS_CRON: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
    const up = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 600) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    baseUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** An SSE subscription; `onEvent` gets each `next` payload. Resolves once the stream has started. */
function sse(baseUrl: string, query: string, onEvent: (data: any) => void, headers: Record<string, string> = {}): Promise<http.ClientRequest> {
  const url = new URL('/graphql', baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: '/graphql', method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...headers } },
      (res) => {
        let buffer = '';
        let started = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (!started) {
            started = true;
            resolve(req);
          }
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: {'));
            if (data) onEvent(JSON.parse(data.slice(6)));
          }
        });
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify({ query }));
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const summary = (values: number[]) => ({ n: values.length, p50Ms: +percentile(values, 50).toFixed(2), p99Ms: +percentile(values, 99).toFixed(2), maxMs: +Math.max(...values).toFixed(2) });

async function main() {
  const name = `flattr_livebench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const redisPort = await findFreePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const servers: Server[] = [];
  try {
    // Data: EVENTS + 1 flattrers, one thing, a token for REST.
    const orm = await openDatabase({ databaseUrl });
    const em = orm.em.fork();
    const owner = em.create(User, { username: 'owner', email: 'owner@example.org', passwordHash: null, registeredAt: new Date() } as never);
    const users = Array.from({ length: EVENTS * 2 + 1 }, (_, i) =>
      em.create(User, { username: `u${i}`, email: `u${i}@example.org`, passwordHash: null, registeredAt: new Date(), balanceCents: 1000 } as never),
    );
    await em.flush();
    const thing = em.create(Thing, {
      owner: em.getReference(User, (owner as { id: number }).id),
      url: 'https://example.org/live',
      title: 'Live',
      description: '',
      category: 'text',
      language: 'en_GB',
      tags: [],
      hidden: false,
      image: '',
      createdAt: new Date(),
    } as never) as { id: number };
    const client = em.create(OAuthClient, { clientId: generateCredential(), clientSecretHash: sha256Hex('x'), name: 'bench', callbackUrls: ['http://localhost/cb'], createdAt: new Date() } as never) as { id: number };
    await em.flush();
    const restTokens: string[] = [];
    for (let i = EVENTS + 1; i <= EVENTS * 2; i++) {
      restTokens.push(await issueAccessToken(orm.em.fork(), systemClock, { userId: (users[i] as { id: number }).id, clientId: client.id, scopes: ['flattr'] }));
    }
    await orm.close();

    const env = { DATABASE_URL: databaseUrl, REDIS_URL: `redis://127.0.0.1:${redisPort}`, RATE_LIMIT_PER_HOUR: '1000000000', LIVE_MAX_PER_CALLER: '10000', LIVE_MAX_STREAMS: '100000' };
    const QUERY = 'subscription { flattrCreated { flattr { databaseId } thing { flattrCount } } }';
    const writer = new pg.Client({ connectionString: databaseUrl });
    await writer.connect();
    writer.on('error', () => undefined); // dropping the database at the end ends it
    let next = 0;
    /** Commits one flattr with SQL; returns when COMMIT returned (performance.now()). */
    const commitFlattr = async (): Promise<number> => {
      const userId = (users[next++] as { id: number }).id;
      await writer.query('begin');
      await writer.query(`insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, now(), to_char(now() at time zone 'UTC', 'YYYY-MM'), 'click')`, [userId, thing.id]);
      await writer.query('commit');
      return performance.now();
    };

    /** Runs `count` writes one after the other; each waits for its event on every subscriber. */
    async function measure(bases: string[], count: number, write: () => Promise<{ start: number }>): Promise<number[][]> {
      const delays: number[][] = bases.map(() => []);
      const waiting: ((at: number) => void)[][] = bases.map(() => []);
      const requests = await Promise.all(bases.map((base, i) => sse(base, QUERY, () => waiting[i]!.shift()?.(performance.now()))));
      for (let n = 0; n < count; n++) {
        const arrivals = bases.map((_, i) => new Promise<number>((resolve) => waiting[i]!.push(resolve)));
        const { start } = await write();
        const times = await Promise.all(arrivals);
        times.forEach((t, i) => delays[i]!.push(t - start));
      }
      for (const req of requests) req.destroy();
      return delays;
    }

    log('one process');
    const a = await startServer(env);
    servers.push(a);
    const [one] = await measure([a.baseUrl], EVENTS / 2, async () => ({ start: await commitFlattr() }));

    log('two processes');
    const b = await startServer(env);
    servers.push(b);
    const [twoA, twoB] = await measure([a.baseUrl, b.baseUrl], EVENTS / 2, async () => ({ start: await commitFlattr() }));

    log('REST on A, SSE on B');
    let restIndex = 0;
    const [restToB] = await measure([b.baseUrl], EVENTS / 2, async () => {
      const start = performance.now();
      const response = await fetch(`${a.baseUrl}/rest/v2/things/${thing.id}/flattr`, { method: 'POST', headers: { Authorization: `Bearer ${restTokens[restIndex++]}` } });
      if (response.status !== 200) throw new Error(`REST flattr answered ${response.status}: ${await response.text()}`);
      return { start };
    });

    log(`memory: ${STREAMS} streams on a fresh process`);
    const c = await startServer(env);
    servers.push(c);
    // One stream first, so the LISTEN connection and the code paths are in place before the baseline.
    const warm = await sse(c.baseUrl, QUERY, () => undefined);
    await new Promise((r) => setTimeout(r, 2000));
    const before = rssMb(c.child.pid!);
    let received = 0;
    let allReceived: () => void = () => undefined;
    const streams: http.ClientRequest[] = [];
    for (let i = 0; i < STREAMS; i += 50) {
      streams.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, STREAMS - i) }, () =>
            sse(c.baseUrl, QUERY, () => {
              if (++received === STREAMS) allReceived();
            }),
          ),
        )),
      );
    }
    await new Promise((r) => setTimeout(r, 3000));
    const after = rssMb(c.child.pid!);
    const fanOutDone = new Promise<void>((resolve) => (allReceived = resolve));
    const start = await commitFlattr();
    await fanOutDone;
    const fanOutMs = performance.now() - start;
    for (const req of [...streams, warm]) req.destroy();
    await writer.end();

    const result = {
      commitToDelivery: {
        oneProcess: summary(one!),
        twoProcesses: { sameProcessAsListenerA: summary(twoA!), otherProcessB: summary(twoB!) },
        restOnAToSseOnB: summary(restToB!),
      },
      memory: { streams: STREAMS, rssBeforeMb: +before.toFixed(1), rssAfterMb: +after.toFixed(1), mbPer1000Streams: +(((after - before) * 1000) / STREAMS).toFixed(1) },
      fanOut: { streams: STREAMS, oneEventToAllMs: +fanOutMs.toFixed(1) },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    for (const server of servers) await server.stop();
    redis.kill('SIGTERM');
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
