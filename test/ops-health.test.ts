import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../src/config/config.js';
import { ManualClock } from '../src/config/clock.js';
import { openDatabase } from '../src/db/database.js';
import { closeApp, createApp } from '../src/server/app.js';
import { Readiness } from '../src/server/readiness.js';
import { createRateLimiter } from '../src/rate-limit/limiter.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { freePort } from './support/processes.js';
import { request } from './support/http.js';

/** /healthz and /readyz (issue 8, item 1): each check named, 503 when not ready, never rate limited. */

interface OpsApp {
  baseUrl: string;
  orm: MikroORM;
  database: TestDatabase;
  readiness: Readiness;
  close(): Promise<void>;
}

const opened: OpsApp[] = [];

async function startApp(env: Record<string, string> = {}): Promise<OpsApp> {
  const database = await createTestDatabase();
  const orm = await openDatabase({ databaseUrl: database.url });
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config = loadConfig({ PORT: String(port), LOG_LEVEL: 'silent', ...env });
  const readiness = new Readiness();
  const logger = pino({ level: 'silent' });
  // As main.ts does: Redis-backed when REDIS_URL is set.
  const rateLimiter = createRateLimiter(config, logger);
  const app = createApp({ orm, config, clock: new ManualClock(), logger, readiness, rateLimiter });
  server.on('request', app.callback());
  const ops: OpsApp = {
    baseUrl: `http://127.0.0.1:${port}`,
    orm,
    database,
    readiness,
    async close() {
      closeApp(app);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rateLimiter.close();
      await orm.close(true);
      await database.drop();
    },
  };
  opened.push(ops);
  return ops;
}

afterAll(async () => {
  for (const app of opened) await app.close().catch(() => undefined);
});

describe('GET /healthz', () => {
  let app: OpsApp;
  beforeAll(async () => {
    app = await startApp({ RATE_LIMIT_PER_HOUR: '1' });
  });

  it('answers 200 while the process serves, with no rate-limit headers however often it is asked', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await request(app.baseUrl, '/healthz');
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number), pid: process.pid });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
    // The REST bucket of this client was not touched: its one request is still there.
    const first = await request(app.baseUrl, '/rest/v2/categories');
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-current']).toBe('1');
    expect((await request(app.baseUrl, '/rest/v2/categories')).status).toBe(403);
    // ...while health and readiness still answer.
    expect((await request(app.baseUrl, '/healthz')).status).toBe(200);
    expect((await request(app.baseUrl, '/readyz')).status).toBe(200);
  });

  it('HEAD works too; other methods are not health checks', async () => {
    expect((await request(app.baseUrl, '/healthz', { method: 'HEAD' })).status).toBe(200);
    expect((await request(app.baseUrl, '/healthz', { method: 'POST' })).status).toBe(404);
  });
});

describe('GET /readyz', () => {
  it('names each check: database, migrations and the event loop (no redis check without REDIS_URL)', async () => {
    const app = await startApp();
    const res = await request(app.baseUrl, '/readyz');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({
      status: 'ok',
      ready: true,
      checks: {
        database: { status: 'ok', ms: expect.any(Number) },
        migrations: { status: 'ok', pending: [] },
        // The stall guard (test/ops-event-loop.test.ts), with its defaults.
        eventLoop: { status: 'ok', boundMs: 1000, holdSeconds: 30, ...(res.json().checks.eventLoop.p99Ms === undefined ? {} : { p99Ms: expect.any(Number) }) },
      },
    });
  });

  it('has no eventLoop check with EVENT_LOOP_STALL_MS=0 (the guard off)', async () => {
    const app = await startApp({ EVENT_LOOP_STALL_MS: '0' });
    const res = await request(app.baseUrl, '/readyz');
    expect(res.status).toBe(200);
    expect(Object.keys(res.json().checks).sort()).toEqual(['database', 'migrations']);
  });

  it('reports Redis when REDIS_URL is set: degraded (still ready) while it is unreachable; ?strict=1 makes that a 503', async () => {
    const deadPort = await freePort();
    const app = await startApp({ REDIS_URL: `redis://127.0.0.1:${deadPort}`, RATE_LIMIT_REDIS_TIMEOUT_MS: '50' });
    // The limiter learns about the refused connection within a moment.
    let body: any;
    for (let i = 0; i < 50; i++) {
      body = (await request(app.baseUrl, '/readyz')).json();
      if (body.checks.redis?.status === 'degraded') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(body.checks.redis).toMatchObject({ status: 'degraded', store: 'memory', detail: expect.stringContaining('Redis unavailable') });
    expect(body).toMatchObject({ status: 'degraded', ready: true });
    expect((await request(app.baseUrl, '/readyz')).status).toBe(200);
    const strict = await request(app.baseUrl, '/readyz?strict=1');
    expect(strict.status).toBe(503);
    expect(strict.json()).toMatchObject({ status: 'degraded', ready: false });
  });

  it('is 503 with the migrations check down when a migration is pending', async () => {
    const app = await startApp();
    const client = new pg.Client({ connectionString: app.database.url });
    await client.connect();
    try {
      await client.query(`delete from mikro_orm_migrations where name = 'Migration20261129020000Stats'`);
    } finally {
      await client.end();
    }
    const res = await request(app.baseUrl, '/readyz');
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'down',
      ready: false,
      checks: {
        database: { status: 'ok' },
        migrations: { status: 'down', detail: '1 migration(s) not applied', pending: ['Migration20261129020000Stats'] },
      },
    });
    expect((await request(app.baseUrl, '/healthz')).status).toBe(200);
  });

  it('is 503 with the database check down when the database is gone', async () => {
    const app = await startApp();
    await app.database.drop();
    const res = await request(app.baseUrl, '/readyz');
    expect(res.status).toBe(503);
    const body = res.json();
    expect(body).toMatchObject({ status: 'down', ready: false });
    expect(body.checks.database).toMatchObject({ status: 'down', detail: expect.any(String) });
    expect(body.checks.migrations.status).toBe('down');
    // Liveness does not depend on the database.
    expect((await request(app.baseUrl, '/healthz')).status).toBe(200);
  });

  it('includes the components registered on the Readiness object (main.ts: shutdown)', async () => {
    const app = await startApp();
    let stopping = false;
    app.readiness.register('shutdown', () => (stopping ? { status: 'down', detail: 'shutting down' } : { status: 'ok' }));
    expect((await request(app.baseUrl, '/readyz')).json().checks.shutdown).toEqual({ status: 'ok' });
    stopping = true;
    const res = await request(app.baseUrl, '/readyz');
    expect(res.status).toBe(503);
    expect(res.json().checks.shutdown).toEqual({ status: 'down', detail: 'shutting down' });
  });
});

describe('Readiness.check', () => {
  it('counts a probe that does not answer in time as down', async () => {
    const readiness = new Readiness();
    readiness.registerProbe('slow', () => new Promise(() => undefined));
    readiness.registerProbe('fine', async () => ({ status: 'ok' }));
    const report = await readiness.check(50);
    expect(report).toEqual({ status: 'down', ready: false, components: { slow: { status: 'down', detail: 'no answer within 50 ms' }, fine: { status: 'ok' } } });
  });
});
