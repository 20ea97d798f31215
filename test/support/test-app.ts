import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MikroORM } from '@mikro-orm/postgresql';
import pino from 'pino';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { ManualClock } from '../../src/config/clock.js';
import { openDatabase } from '../../src/db/database.js';
import { closeApp, createApp } from '../../src/server/app.js';
import { createTestDatabase } from './test-database.js';

export interface TestApp {
  baseUrl: string;
  orm: MikroORM;
  clock: ManualClock;
  config: AppConfig;
  databaseUrl: string;
  /** SQL statements run so far, when started with countQueries. */
  queries: string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * Keep every SQL statement in `queries` (default true). It switches on MikroORM's query logging, which formats
   * each statement with its parameters: tests that time requests turn it off, as production runs without it.
   */
  countQueries?: boolean;
}

/** The whole service on a fresh database and a random port, with a clock the test controls. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const queries: string[] = [];
  const onQuery = options.countQueries === false ? undefined : (sql: string) => queries.push(sql);
  const orm = await openDatabase({ databaseUrl: database.url, onQuery });
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config = loadConfig({ PORT: String(port), LOG_LEVEL: 'silent', ...env });
  const clock = new ManualClock(new Date('2026-03-10T12:00:00Z'));
  const app = createApp({ orm, config, clock, logger: pino({ level: 'silent' }) });
  server.on('request', app.callback());
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    orm,
    clock,
    config,
    databaseUrl: database.url,
    queries,
    async close() {
      closeApp(app);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orm.close(true);
      await database.drop();
    },
  };
}
