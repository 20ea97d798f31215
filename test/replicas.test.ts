import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { systemClock } from '../src/config/clock.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { startRedisServer, startServerProcess, type RedisProcess, type ServerProcess } from './support/processes.js';
import { startReplicatedPair, type ReplicatedPair } from './support/replication.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { until } from './support/until.js';

/**
 * Read replicas (issue 19) on real streaming replication: a primary and a replica started with the machine's
 * PostgreSQL binaries (initdb + pg_basebackup -R), and real server processes with DATABASE_REPLICA_URLS. Which
 * server answered from where is seen in the data: the replica's replay is paused (pg_wal_replay_pause()) and the
 * primary changed, so a read of the replica still shows the old value.
 */

let pair: ReplicatedPair;
let redis: RedisProcess;
let orm: MikroORM;
/** Two processes sharing the read-your-writes marks through Redis, and one that takes a replica out when it lags 1 s. */
let a: ServerProcess;
let b: ServerProcess;
let strict: ServerProcess;
let thingId: number;
let token: string;
/** Another token of the same owner, which never writes. */
let reader: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  pair = await startReplicatedPair();
  await pair.primary.query('postgres', 'create database flattr');
  redis = await startRedisServer();
  const env = (maxLag: string) => ({
    DATABASE_URL: pair.primary.url('flattr'),
    DATABASE_REPLICA_URLS: pair.replica.url('flattr'),
    REPLICA_STICKY_SECONDS: '120',
    REPLICA_MAX_LAG_SECONDS: maxLag,
    JOBS: 'false',
    REDIS_URL: redis.url,
    RATE_LIMIT_KEY_PREFIX: 'replicas-test',
  });
  a = await startServerProcess(env('3600'));
  servers.push(a);
  [b, strict] = await Promise.all([startServerProcess(env('3600')), startServerProcess(env('1'))]);
  servers.push(b, strict);
  orm = await openDatabase({ databaseUrl: pair.primary.url('flattr'), poolMax: 2 });
  const fx = new Fixtures(orm, systemClock);
  const owner = await fx.user();
  token = await fx.token(owner, ['thing']);
  reader = await fx.token(owner, ['thing']);
  thingId = (await fx.thing(owner, { title: 'Original title' })).id;
  await pair.caughtUp();
  for (const server of servers) await until(async () => (await readyz(server)).checks.replicas?.status === 'ok', 'the replica in rotation');
}, 180_000);

afterAll(async () => {
  for (const server of servers) await server.stop(15_000).catch(() => undefined);
  await orm?.close(true);
  await redis?.stop();
  await pair?.destroy();
});

async function readyz(server: ServerProcess) {
  const res = await request(server.baseUrl, '/readyz');
  return { httpStatus: res.status, ...(res.json() as { checks: Record<string, { status: string; detail?: string; replicas?: { name: string; state: string; lagSeconds: number | null }[] }> }) };
}

/** The thing's title as `server` answers GET /rest/v2/things/:id (anonymous unless `auth`). */
async function title(server: ServerProcess, auth?: string): Promise<string> {
  const res = await request(server.baseUrl, `/rest/v2/things/${thingId}`, { headers: auth ? { Authorization: `Bearer ${auth}` } : {} });
  expect(res.status, res.text).toBe(200);
  return res.json().title;
}

async function metric(server: ServerProcess, sample: string): Promise<number | undefined> {
  const line = (await request(server.baseUrl, '/metrics')).text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

const pauseReplay = () => pair.replica.query('postgres', 'select pg_wal_replay_pause()');
const resumeReplay = async () => {
  await pair.replica.query('postgres', 'select pg_wal_replay_resume()');
  await pair.caughtUp();
};
const setTitleOnPrimary = (value: string) => pair.primary.query('flattr', 'update things set title = $1 where id = $2', [value, thingId]);

describe('read replicas on streaming replication', () => {
  it('anonymous reads are served by the replica; /readyz and /metrics report it and its lag', async () => {
    const before = (await metric(a, 'flattr_db_routed_reads_total{target="replica-1"}')) ?? 0;
    await pauseReplay();
    try {
      await setTitleOnPrimary('Changed on the primary');
      // The replica has not replayed the change: what these answers show comes from it.
      expect(await title(a)).toBe('Original title');
      expect(await title(b)).toBe('Original title');
    } finally {
      await resumeReplay();
    }
    await until(async () => (await title(a)) === 'Changed on the primary', 'the replica to replay the change');
    expect(await metric(a, 'flattr_db_routed_reads_total{target="replica-1"}')).toBeGreaterThan(before);
    expect(await metric(a, 'flattr_db_replica_up{replica="replica-1",state="up"}')).toBe(1);
    expect(await metric(a, 'flattr_db_replica_lag_seconds{replica="replica-1"}')).toBeGreaterThanOrEqual(0);
    const ready = await readyz(a);
    expect(ready.httpStatus).toBe(200);
    expect(ready.checks.replicas).toMatchObject({ status: 'ok', replicas: [{ name: 'replica-1', state: 'up', lagSeconds: expect.any(Number) }] });
  }, 60_000);

  it("read-your-writes while the replica's replay is paused: the writer (through either process) sees its write, others the replica", async () => {
    await pauseReplay();
    try {
      const res = await request(a.baseUrl, `/rest/v2/things/${thingId}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'Written by the owner' }),
      });
      expect(res.status, res.text).toBe(200);
      // The writer's token reads the primary, on this process and, through Redis, on the other.
      expect(await title(a, token)).toBe('Written by the owner');
      expect(await title(b, token)).toBe('Written by the owner');
      // Anonymous readers still read the paused replica.
      expect(await title(a)).toBe('Changed on the primary');
    } finally {
      await resumeReplay();
    }
    await until(async () => (await title(b)) === 'Written by the owner', 'the replica to replay the write');
  }, 60_000);

  it('a replica lagging more than REPLICA_MAX_LAG_SECONDS leaves the rotation (reads go to the primary) and comes back', async () => {
    await pauseReplay();
    try {
      await setTitleOnPrimary('While the replica lags');
      await until(async () => (await readyz(strict)).checks.replicas?.replicas?.[0]?.state === 'lagging', 'the replica to be out for lag');
      const ready = await readyz(strict);
      expect(ready.httpStatus).toBe(200); // degraded, still ready: the primary serves
      expect(ready.checks.replicas).toMatchObject({ status: 'degraded', detail: expect.stringContaining('replica-1 lagging') });
      expect(await title(strict)).toBe('While the replica lags');
      expect(await metric(strict, 'flattr_db_replica_up{replica="replica-1",state="lagging"}')).toBe(0);
    } finally {
      await resumeReplay();
    }
    await until(async () => (await readyz(strict)).checks.replicas?.status === 'ok', 'the replica back in rotation');
  }, 60_000);

  it('reads survive the replica being stopped (no failed request), and it is back in rotation when it returns', async () => {
    await setTitleOnPrimary('Before the replica stops');
    await pair.caughtUp();
    await pair.replica.stop('immediate');
    // The first reads may still pick the replica before a check sees it down: they are run again on the primary.
    for (let i = 0; i < 20; i++) expect(await title(a)).toBe('Before the replica stops');
    await until(async () => (await readyz(a)).checks.replicas?.replicas?.[0]?.state === 'down', 'the replica to be down');
    const down = await readyz(a);
    expect(down.httpStatus).toBe(200);
    expect(down.checks.replicas?.status).toBe('degraded');
    // The check asks the replica itself (never the primary a failed read falls back to).
    expect(down.checks.replicas?.detail).toMatch(/^replica-1 down: their reads go to the primary$/);
    expect(JSON.stringify(down.checks.replicas)).not.toContain('not a replica');
    expect(await metric(a, 'flattr_db_replica_up{replica="replica-1",state="down"}')).toBe(0);
    expect(await metric(a, 'flattr_db_replica_lag_seconds{replica="replica-1"}')).toBe(-1);
    for (let i = 0; i < 5; i++) expect(await title(a)).toBe('Before the replica stops');

    await pair.replica.start();
    await until(async () => (await readyz(a)).checks.replicas?.status === 'ok', 'the replica back in rotation', 60_000);
    const before = (await metric(a, 'flattr_db_routed_reads_total{target="replica-1"}')) ?? 0;
    expect(await title(a)).toBe('Before the replica stops');
    expect(await metric(a, 'flattr_db_routed_reads_total{target="replica-1"}')).toBeGreaterThan(before);
    // Each process checks on its own: the next tests expect the replica back in every one's rotation, not only a's.
    for (const server of servers) await until(async () => (await readyz(server)).checks.replicas?.status === 'ok', 'the replica back in rotation', 60_000);
  }, 120_000);

  it('GraphQL: queries read the replica; a mutation marks its token, whose queries then read the primary', async () => {
    const gql = async (server: ServerProcess, query: string, variables: Record<string, unknown> = {}, auth?: string) => {
      const res = await request(server.baseUrl, '/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      expect(res.status, res.text).toBe(200);
      const body = res.json();
      expect(body.errors, res.text).toBeUndefined();
      return body.data;
    };
    const read = `query Title($id: Int!) { thing(id: $id) { id title } }`;
    const { thing } = await gql(a, read, { id: thingId });
    await pauseReplay();
    try {
      await setTitleOnPrimary('GraphQL: changed on the primary');
      expect((await gql(a, read, { id: thingId })).thing.title).toBe(thing.title);
      expect((await gql(b, read, { id: thingId }, reader)).thing.title).toBe(thing.title);
      const mutation = `mutation Rename($id: ID!) { updateThing(id: $id, patch: { title: "GraphQL: written" }) { __typename ... on UpdateThingSuccess { thing { title } } } }`;
      expect((await gql(a, mutation, { id: thing.id }, token)).updateThing).toEqual({ __typename: 'UpdateThingSuccess', thing: { title: 'GraphQL: written' } });
      // The writer's token, on either process, reads the primary; the reader's and anonymous queries the replica.
      expect((await gql(b, read, { id: thingId }, token)).thing.title).toBe('GraphQL: written');
      expect((await gql(a, read, { id: thingId }, reader)).thing.title).toBe(thing.title);
      expect((await gql(b, read, { id: thingId })).thing.title).toBe(thing.title);
    } finally {
      await resumeReplay();
    }
    await until(async () => (await gql(a, read, { id: thingId })).thing.title === 'GraphQL: written', 'the replica to replay the mutation');
  }, 60_000);

  it("searches read the replica, their cached totals and relevance pages exact as it replays; the writer's read the primary", async () => {
    const search = async (server: ServerProcess, auth?: string) => {
      const res = await request(server.baseUrl, '/rest/v2/things/search?query=zeppelin', { headers: auth ? { Authorization: `Bearer ${auth}` } : {} });
      expect(res.status, res.text).toBe(200);
      const body = res.json();
      return { total: body.total_items, titles: body.things.map((t: { title: string }) => t.title) };
    };
    const none = { total: 0, titles: [] };
    const found = { total: 1, titles: ['Zeppelin'] };
    expect(await search(a)).toEqual(none);
    expect(await search(b)).toEqual(none);
    await pauseReplay();
    try {
      const created = await request(a.baseUrl, '/rest/v2/things', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.org/zeppelin', title: 'Zeppelin' }),
      });
      expect(created.status, created.text).toBe(201);
      // Anonymous searches read the paused replica: the process's cached total and levels say nothing new.
      expect(await search(a)).toEqual(none);
      // The writer's searches read the primary, on either process: the cached entries move forward to it.
      expect(await search(b, token)).toEqual(found);
      expect(await search(a, token)).toEqual(found);
      // And back on the replica, behind what the cache now holds: counted there again, not taken from the cache.
      expect(await search(a, reader)).toEqual(none);
    } finally {
      await resumeReplay();
    }
    await until(async () => (await search(a)).total === 1, 'the replica to replay the new thing');
    expect(await search(a)).toEqual(found);
    expect(await search(b)).toEqual(found);
  }, 60_000);
});

describe('a replica that hangs: no answer at all (REPLICA_CONNECT_TIMEOUT_MS)', () => {
  /** In front of the replica: forwards, or hangs the way a frozen host or a network dropping packets does. */
  let proxy: TcpProxy;
  /** A process whose DATABASE_REPLICA_URLS is the proxy (REPLICA_CONNECT_TIMEOUT_MS left at its default). */
  let hangs: ServerProcess;

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: pair.replica.port });
    hangs = await startServerProcess({
      DATABASE_URL: pair.primary.url('flattr'),
      DATABASE_REPLICA_URLS: proxy.url('flattr'),
      REPLICA_MAX_LAG_SECONDS: '3600',
      JOBS: 'false',
    });
    servers.push(hangs);
    await until(async () => (await readyz(hangs)).checks.replicas?.status === 'ok', 'the replica in rotation');
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
  });

  /**
   * Anonymous GET /rest/v2/things/:id. Without the connect timeout and the monitor cutting off a replica that does
   * not answer, a read routed to it waits 60 s (knex's acquire timeout) or until TCP gives up (minutes): the 15 s
   * bound tells such a hang from an answer, it measures no speed.
   */
  const get = async () => {
    const res = await request(hangs.baseUrl, `/rest/v2/things/${thingId}`, { signal: AbortSignal.timeout(15_000) });
    expect(res.status, res.text).toBe(200);
    return res.json();
  };
  const reads = async (target: string) => (await metric(hangs, `flattr_db_routed_reads_total{target="${target}"}`)) ?? 0;

  const HANGS = [
    { how: 'freeze', what: 'its open connections stop answering and new ones are never answered' },
    { how: 'cutAndHang', what: 'its connections are closed and new ones are never answered (the connect timeout)' },
  ] as const;
  for (const { how, what } of HANGS) it(`a hung replica (${how}: ${what}): reads answer from the primary, the replica is out of rotation until it answers again`, async () => {
    await setTitleOnPrimary(`Before the replica hangs (${how})`);
    await pair.caughtUp();
    await until(async () => (await readyz(hangs)).checks.replicas?.status === 'ok', 'the replica in rotation');
    // Served by the replica through the proxy: the process now holds a connection to it.
    const replicaBefore = await reads('replica-1');
    const body = await get();
    expect(body.title).toBe(`Before the replica hangs (${how})`);
    expect(await reads('replica-1')).toBeGreaterThan(replicaBefore);

    proxy[how]();
    try {
      // This read is routed to the replica (still in rotation): it is answered, from the primary.
      expect(await get()).toEqual(body);
      const down = await readyz(hangs);
      expect(down.httpStatus).toBe(200);
      expect(down.checks.replicas).toMatchObject({ status: 'degraded', detail: 'replica-1 down: their reads go to the primary', replicas: [{ name: 'replica-1', state: 'down' }] });
      expect(await metric(hangs, 'flattr_db_replica_up{replica="replica-1",state="down"}')).toBe(0);

      // Out of rotation: the next reads go straight to the primary, none waits on the replica.
      const [replicaOut, primaryOut] = [await reads('replica-1'), await reads('primary')];
      for (let i = 0; i < 10; i++) expect(await get()).toEqual(body);
      expect(await reads('replica-1')).toBe(replicaOut);
      expect(await reads('primary')).toBeGreaterThanOrEqual(primaryOut + 10);
    } finally {
      // It answers again (also when an assertion above failed: the next case starts from a replica in rotation).
      proxy.forward();
    }
    // A check puts it back, and reads go to it.
    await until(async () => (await readyz(hangs)).checks.replicas?.status === 'ok', 'the replica back in rotation');
    const replicaBack = await reads('replica-1');
    expect(await get()).toEqual(body);
    expect(await reads('replica-1')).toBeGreaterThan(replicaBack);
  }, 60_000);
});
