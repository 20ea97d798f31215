import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from './support/processes.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/fuzz/private-postgres.js';
import { lostWrites, seedDatabase, waitUntil, WriteLoad, type Seeded } from './support/fuzz/fault-load.js';
import { DbWatcher } from './support/fuzz/db-state.js';
import { reportFigures } from './support/fuzz/settings.js';

/**
 * Issue 10 (6): kill -9 the real server (node src/server/main.ts on a private PostgreSQL) in the middle of a burst of
 * flattrs and thing creations, restart it, and check that every acknowledged write is there, that no write exists
 * twice or half (counters equal rows, per-day counts add up, no orphan), and that the restarted server serves.
 * FAULT_CYCLES (default 2) kills in a row.
 */

const CYCLES = Number(process.env.FAULT_CYCLES ?? 2);
const ENV = { RATE_LIMIT_PER_HOUR: '1000000000', LOG_LEVEL: 'info' };

let postgres: PrivatePostgres;
let databaseUrl: string;
let seeded: Seeded;
let server: ServerProcess | null = null;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  databaseUrl = postgres.urlFor('flattr_faults');
  seeded = await seedDatabase(postgres.adminUrl, databaseUrl, 'flattr_faults', { users: 40, things: 30 });
}, 120_000);

afterAll(async () => {
  await server?.stop(1_000);
  await postgres?.destroy();
});

describe('kill -9 during a burst of writes', () => {
  it(
    `${CYCLES} crash(es): no acknowledged write lost, no partial write, the restarted server serves`,
    async () => {
      let baseUrl = '';
      const load = new WriteLoad(seeded, () => baseUrl, 24);
      let killed = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        server = await startServerProcess({ DATABASE_URL: databaseUrl, ...ENV });
        baseUrl = server.baseUrl;
        const ackedBefore = load.acknowledged;
        load.start();
        // Kill in the middle of the burst: after some writes were acknowledged, with requests in flight.
        expect(await waitUntil(() => load.acknowledged >= ackedBefore + 80, 30_000), 'the burst did not get going').toBe(true);
        server.child.kill('SIGKILL');
        await new Promise<void>((resolve) => (server!.child.exitCode !== null || server!.child.signalCode !== null ? resolve() : server!.child.once('exit', () => resolve())));
        expect(server.child.signalCode).toBe('SIGKILL');
        killed += 1;
        await load.stop();
        server = null;
      }
      // Restart and check.
      server = await startServerProcess({ DATABASE_URL: databaseUrl, ...ENV });
      baseUrl = server.baseUrl;
      const lost = await lostWrites(databaseUrl, load);
      const db = await DbWatcher.connect(databaseUrl);
      try {
        expect(lost, 'acknowledged writes missing after the crash').toEqual([]);
        expect(await db.counterViolations()).toEqual([]);
        // Nothing but clean refusals while the server was up (no 5xx); failed connections are not acknowledgements.
        expect(load.refusals.filter((r) => r.status >= 500)).toEqual([]);
        // The restarted server answers from the same data: the REST counter of a thing equals its rows.
        const thingId = seeded.thingIds[0]!;
        const { rows } = await db.query('select count(*)::int as n from flattrs where thing_id = $1', [thingId]);
        const thing = await (await fetch(`${baseUrl}/rest/v2/things/${thingId}`)).json();
        expect(thing.flattrs).toBe(rows[0].n);
        // And it takes writes again.
        load.start();
        expect(await waitUntil(() => load.remaining === 0 || load.acknowledged > 0, 10_000)).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await load.stop();
        expect(await lostWrites(databaseUrl, load)).toEqual([]);
        expect(await db.counterViolations()).toEqual([]);
        const { rows: totals } = await db.query('select (select count(*) from flattrs)::int as flattrs, (select count(*) from things)::int as things');
        reportFigures({
          suite: 'faults-crash',
          kills: killed,
          acknowledgedWrites: load.acknowledged,
          lostWrites: lost.length,
          rowsAfter: totals[0],
          outcomes: load.outcomes.toJSON(),
        });
      } finally {
        await db.close();
      }
    },
    180_000,
  );
});
