import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { until } from './support/until.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';

/**
 * Issue 18: the flattr counters live in `thing_counters` (Migration20261205030000ThingCounters), so a flattr never
 * rewrites the wide, GIN-indexed `things` row; the counters stay exact, follow the thing, and a counter change is
 * still announced to live clients as an update of the thing.
 */
let app: TestApp;
let fx: Fixtures;
let db: pg.Client;
let owner: UserEntity;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
  owner = await fx.user();
});
afterAll(async () => {
  await db?.end();
  await app?.close();
});

/** Things whose counters row is missing or differs from their flattr rows, language or category (none when exact). */
async function mismatches(): Promise<unknown[]> {
  const { rows } = await db.query(
    `select t.id from things t
     left join thing_counters c on c.thing_id = t.id
     left join (select thing_id, count(*)::int as n, count(distinct user_id)::int as u, max(created_at) as m from flattrs group by thing_id) f on f.thing_id = t.id
     where c.thing_id is null or c.language_id <> t.language_id or c.category_id <> t.category_id
        or c.flattrs_count <> coalesce(f.n, 0) or c.flattrs_user_count <> coalesce(f.u, 0) or c.last_flattr_at is distinct from f.m`,
  );
  return rows;
}

const insertFlattr = (client: pg.ClientBase, userId: number, thingId: number, at: string) =>
  client.query(`insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, $3, '', 'click')`, [userId, thingId, at]);

describe('thing_counters', () => {
  it('replaces the counter columns and the flattrs sort indexes of things', async () => {
    const columns = await db.query(`select column_name from information_schema.columns where table_name = 'things' and column_name in ('flattrs_count', 'flattrs_user_count', 'last_flattr_at')`);
    expect(columns.rows).toEqual([]);
    const indexes = await db.query(`select tablename, indexname from pg_indexes where tablename in ('things', 'thing_counters') and indexname like '%flattrs%' order by 1, 2`);
    expect(indexes.rows).toEqual([
      { tablename: 'thing_counters', indexname: 'thing_counters_flattrs_idx' },
      { tablename: 'thing_counters', indexname: 'thing_counters_language_category_flattrs_idx' },
    ]);
  });

  it('never touches the things row on a flattr or its deletion', async () => {
    const thing = await fx.thing(owner);
    const user = await fx.user();
    const version = async () => (await db.query('select xmin::text as v from things where id = $1', [thing.id])).rows[0].v as string;
    const before = await version();
    await insertFlattr(db, user.id, thing.id, '2026-03-01T00:00:00Z');
    await db.query('delete from flattrs where thing_id = $1', [thing.id]);
    expect(await version()).toBe(before);
    expect(await mismatches()).toEqual([]);
  });

  it('is created with the thing, follows its language and category, and goes with it', async () => {
    const thing = await fx.thing(owner, { language: 'en_GB', category: 'text' });
    const row = async () => (await db.query('select language_id, category_id, flattrs_count from thing_counters where thing_id = $1', [thing.id])).rows;
    expect(await row()).toEqual([{ language_id: 'en_GB', category_id: 'text', flattrs_count: 0 }]);
    await db.query(`update things set language_id = 'sv_SE', category_id = 'people' where id = $1`, [thing.id]);
    expect(await row()).toEqual([{ language_id: 'sv_SE', category_id: 'people', flattrs_count: 0 }]);
    await insertFlattr(db, (await fx.user()).id, thing.id, '2026-03-01T00:00:00Z');
    await db.query('delete from things where id = $1', [thing.id]);
    expect(await row()).toEqual([]);
  });

  it('stays exact under concurrent flattrs, flattr deletions and a user deletion on the same things', async () => {
    const things: ThingEntity[] = [await fx.thing(owner), await fx.thing(owner)];
    const users = await Promise.all(Array.from({ length: 8 }, () => fx.user()));
    const clients = await Promise.all(users.map(async () => {
      const client = new pg.Client({ connectionString: app.databaseUrl });
      await client.connect();
      return client;
    }));
    try {
      // Each user, on its own connection: flattrs both things in three months (one transaction per flattr), then
      // deletes one of its flattrs (on thing i % 2); the first user is then deleted (its flattrs cascade) while the
      // others write. (Two concurrent user deletions could deadlock on the two counters rows, as on the things rows.)
      await Promise.all(users.map(async (user, i) => {
        const client = clients[i]!;
        for (const month of ['01', '02', '03']) {
          for (const thing of things) await insertFlattr(client, user.id, thing.id, `2026-${month}-${String(10 + i).padStart(2, '0')}T00:00:00Z`);
        }
        await client.query(`delete from flattrs where user_id = $1 and thing_id = $2 and period = '2026-02'`, [user.id, things[i % 2]!.id]);
        if (i === 0) await client.query('delete from users where id = $1', [user.id]);
      }));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    expect(await mismatches()).toEqual([]);
    const { rows } = await db.query('select flattrs_count, flattrs_user_count from thing_counters where thing_id = any($1) order by thing_id', [things.map((t) => t.id)]);
    // 7 users remain with 3 flattrs per thing; users 2, 4, 6 deleted one on the first thing, users 1, 3, 5, 7 on the second.
    expect(rows).toEqual([
      { flattrs_count: 18, flattrs_user_count: 7 },
      { flattrs_count: 17, flattrs_user_count: 7 },
    ]);
  });

  it('announces a counter change to live clients as an update of the thing', async () => {
    const thing = await fx.thing(owner);
    const listener = new pg.Client({ connectionString: app.databaseUrl });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (n) => payloads.push(n.payload ?? ''));
    try {
      await listener.query('listen flattr_live');
      await insertFlattr(db, (await fx.user()).id, thing.id, '2026-03-01T00:00:00Z');
      const update = { k: 'thing', op: 'update', t: thing.id, o: owner.id, h: false };
      const updates = () => payloads.map((p) => JSON.parse(p)).filter((p) => p.k === 'thing');
      await until(async () => updates().length > 0, 'the thing update notification');
      expect(updates()).toEqual([update]);
    } finally {
      await listener.end();
    }
  });

  it('migrates down to the counter columns on things and up again with the same counts', async () => {
    const thing = await fx.thing(owner);
    await insertFlattr(db, (await fx.user()).id, thing.id, '2026-03-01T00:00:00Z');
    await insertFlattr(db, (await fx.user()).id, thing.id, '2026-03-02T00:00:00Z');
    const migrator = app.orm.getMigrator();
    await migrator.down({ to: 'Migration20261205020000SearchChanges' });
    try {
      const { rows } = await db.query('select flattrs_count, flattrs_user_count, last_flattr_at from things where id = $1', [thing.id]);
      expect(rows).toEqual([{ flattrs_count: 2, flattrs_user_count: 2, last_flattr_at: new Date('2026-03-02T00:00:00Z') }]);
      expect((await db.query(`select to_regclass('thing_counters') as t`)).rows).toEqual([{ t: null }]);
      // The old triggers count again on things.
      await insertFlattr(db, (await fx.user()).id, thing.id, '2026-03-03T00:00:00Z');
      expect((await db.query('select flattrs_count from things where id = $1', [thing.id])).rows).toEqual([{ flattrs_count: 3 }]);
    } finally {
      await migrator.up();
    }
    expect(await mismatches()).toEqual([]);
    expect((await db.query('select flattrs_count from thing_counters where thing_id = $1', [thing.id])).rows).toEqual([{ flattrs_count: 3 }]);
  });
});
