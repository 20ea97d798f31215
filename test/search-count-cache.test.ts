import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import type { UserEntity } from '../src/entities/index.js';
import { searchCountCache } from '../src/services/search/count-cache.js';
import { prepareSearch } from '../src/services/search/search.js';
import { createThing } from '../src/services/things.js';

/**
 * `total_items` comes from the process's count cache while `search_generation` is unchanged
 * (src/services/search/count-cache.ts, Migration20261129050000SearchCounts): exact after every kind of change
 * a filter can see, and really served from the cache otherwise.
 */

let app: TestApp;
let fx: Fixtures;
let db: pg.Client;
let owner: UserEntity;

const total = async (query: string) => {
  const res = await request(app.baseUrl, `/rest/v2/things/search?${query}`);
  expect(res.status).toBe(200);
  return res.json().total_items as number;
};
const generation = async () => Number((await db.query('select generation from search_generation where id = 1')).rows[0].generation);

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
  owner = await fx.user({ username: 'cacheowner' });
  for (let i = 0; i < 3; i++) await fx.thing(owner, { tags: ['cached'], title: `Cached ${i}` });
  await fx.thing(owner, { tags: ['other'] });
});
afterAll(async () => {
  await db?.end();
  await app?.close();
});
beforeEach(() => searchCountCache.clear());

describe('search count cache', () => {
  it('answers a repeated search from the cache: a thing inserted behind the triggers is not counted until the generation moves', async () => {
    expect(await total('tags=cached')).toBe(3);
    // Insert without firing any trigger (as a replica would): the data changed, the generation did not.
    await db.query('begin');
    await db.query(`set local session_replication_role = replica`);
    await db.query(
      `insert into things (owner_id, url, title, description, category_id, language_id, tags, lower_tags, search_text, created_at)
       values ($1, 'https://example.org/behind', 'Behind', '', 'rest', 'en_GB', '{cached}', '{cached}', 'behind', now())`,
      [owner.id],
    );
    await db.query('commit');
    expect(await total('tags=cached')).toBe(3);
    // Without the cache the same search counts the row.
    expect(await prepareSearch(app.orm.em.fork() as EntityManager, { tags: 'cached' }, null, app.clock.now()).count()).toBe(4);
    await db.query('update search_generation set generation = generation + 1');
    expect(await total('tags=cached')).toBe(4);
    await db.query(`delete from things where url = 'https://example.org/behind'`);
  });

  it('is exact after a thing is created, edited, hidden, deleted or its owner renamed', async () => {
    const before = await generation();
    expect(await total('tags=cached')).toBe(3);
    const created = await fx.thing(owner, { tags: ['cached'] });
    expect(await generation()).toBe(before + 1);
    expect(await total('tags=cached')).toBe(4);

    await db.query(`update things set tags = '{other}' where id = $1`, [created.id]);
    expect(await total('tags=cached')).toBe(3);
    await db.query(`update things set tags = '{cached}' where id = $1`, [created.id]);
    expect(await total('tags=cached')).toBe(4);

    await db.query(`update things set hidden = true where id = $1`, [created.id]);
    expect(await total('tags=cached')).toBe(3);

    expect(await total('user=cacheowner')).toBe(4);
    await db.query(`update users set username = 'renamedowner' where id = $1`, [owner.id]);
    expect(await total('user=cacheowner')).toBe(0);
    expect(await total('user=renamedowner')).toBe(4);
    await db.query(`update users set username = 'cacheowner' where id = $1`, [owner.id]);

    await db.query(`delete from things where id = $1`, [created.id]);
    expect(await total('tags=cached')).toBe(3);
  });

  it('moves the generation once per transaction, and not for flattrs or counters', async () => {
    const thing = await fx.thing(owner, { tags: ['flattred'] });
    const flattrer = await fx.user();
    const before = await generation();
    await fx.flattr(flattrer, thing);
    await db.query('update things set image = $2 where id = $1', [thing.id, 'https://example.org/i.png']);
    expect(await generation()).toBe(before);

    await db.query('begin');
    await db.query(`update things set title = title || '!' where owner_id = $1`, [owner.id]);
    await db.query(`update things set description = 'x' where owner_id = $1`, [owner.id]);
    await db.query('commit');
    expect(await generation()).toBe(before + 1);

    await db.query('begin');
    await db.query(`update things set title = 'rolled back' where id = $1`, [thing.id]);
    await db.query('rollback');
    expect(await generation()).toBe(before + 1);
  });

  it('does not keep a count read inside a transaction that wrote, which may roll back', async () => {
    expect(await total('tags=cached')).toBe(3);
    await db.query('update search_generation set generation = generation + 1');
    await app.orm.em
      .fork()
      .transactional(async (em) => {
        await createThing(em as EntityManager, app.clock, owner.id, { url: 'https://example.org/uncommitted', tags: ['cached'] });
        await em.flush();
        const inside = prepareSearch(em as EntityManager, { tags: 'cached' }, null, app.clock.now(), { countCacheSize: 100 });
        expect(await inside.count()).toBe(4);
        throw new Error('roll back');
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'));
    expect(await total('tags=cached')).toBe(3);
  });

  it('keeps counts apart per filter and per caller', async () => {
    const hidden = await fx.thing(owner, { tags: ['cached'], hidden: true });
    const token = await fx.token(owner, ['extendedread']);
    expect(await total('tags=cached')).toBe(3);
    const res = await request(app.baseUrl, '/rest/v2/things/search?tags=cached', { headers: { authorization: `Bearer ${token}` } });
    expect(res.json().total_items).toBe(4);
    expect(await total('tags=other')).toBe(1);
    expect(await total('tags=cached')).toBe(3);
    await db.query('delete from things where id = $1', [hidden.id]);
  });
});
