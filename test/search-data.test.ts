import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import type { ThingEntity, UserEntity } from '../src/entities/index.js';
import { updateThing, deleteThing } from '../src/services/things.js';

/**
 * The data the search reads is kept by the database itself (Migration20261129010000Search): the per-day flattr
 * counts by triggers on `flattrs`, the lower-cased search columns by a trigger on `things`, whoever writes.
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
  owner = await fx.user({ username: 'owner' });
});
afterAll(async () => {
  await db?.end();
  await app?.close();
});

/** thing_flattr_days as stored, and as recomputed from the flattr rows. */
async function days() {
  const stored = await db.query(`select thing_id, to_char(day, 'YYYY-MM-DD') as day, flattrs, epoch_sum::text from thing_flattr_days order by 1, 2`);
  const actual = await db.query(`select thing_id, to_char((created_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, count(*)::int as flattrs,
      sum(floor(extract(epoch from created_at)))::bigint::text as epoch_sum from flattrs group by 1, 2 order by 1, 2`);
  return { stored: stored.rows, actual: actual.rows };
}

describe('thing_flattr_days', () => {
  it('always equals what the flattr rows say, whoever writes them', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, () => fx.user()));
    const a = await fx.thing(owner);
    const b = await fx.thing(owner);
    await fx.flattr(users[0]!, a, new Date('2026-03-01T23:59:59.900Z'));
    await fx.flattr(users[1]!, a, new Date('2026-03-01T00:00:00Z'));
    await fx.flattr(users[2]!, a, new Date('2026-03-02T00:00:00Z'));
    await fx.flattr(users[0]!, b, new Date('2026-02-10T12:00:00Z'));
    await db.query(`insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, '2026-02-10T13:00:00Z', '2026-02', 'subscription')`, [users[3]!.id, b.id]);
    let { stored, actual } = await days();
    expect(stored).toEqual(actual);
    expect(stored.filter((r) => r.thing_id === a.id)).toEqual([
      { thing_id: a.id, day: '2026-03-01', flattrs: 2, epoch_sum: String(Date.parse('2026-03-01T23:59:59Z') / 1000 + Date.parse('2026-03-01T00:00:00Z') / 1000) },
      { thing_id: a.id, day: '2026-03-02', flattrs: 1, epoch_sum: String(Date.parse('2026-03-02T00:00:00Z') / 1000) },
    ]);

    // One flattr of a day goes: the row shrinks; the last one goes: the row goes.
    await db.query('delete from flattrs where thing_id = $1 and user_id = $2', [a.id, users[0]!.id]);
    await db.query('delete from flattrs where thing_id = $1 and user_id = $2', [a.id, users[2]!.id]);
    ({ stored, actual } = await days());
    expect(stored).toEqual(actual);
    expect(stored.filter((r) => r.thing_id === a.id).map((r) => [r.day, r.flattrs])).toEqual([['2026-03-01', 1]]);

    // Deleting a user (their flattrs cascade) and a thing (E10, D74).
    await db.query('delete from users where id = $1', [users[3]!.id]);
    await deleteThing(app.orm.em.fork(), owner.id, a.id);
    ({ stored, actual } = await days());
    expect(stored).toEqual(actual);
    expect(stored.some((r) => r.thing_id === a.id)).toBe(false);
  });

  it('stays right under concurrent flattrs on one thing', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => fx.user()));
    const target = await fx.thing(owner);
    await Promise.all(users.map((u) => fx.flattr(u, target, new Date('2026-03-05T10:00:00Z'))));
    const { stored, actual } = await days();
    expect(stored).toEqual(actual);
    expect(stored.find((r) => r.thing_id === target.id)?.flattrs).toBe(12);
  });
});

describe('search columns of things', () => {
  async function columns(thing: ThingEntity) {
    const { rows } = await db.query('select lower_tags, search_text, search_vector::text as vector from things where id = $1', [thing.id]);
    return rows[0];
  }

  it('are derived on insert and on every update of title, description, url or tags', async () => {
    const thing = await fx.thing(owner, { title: 'Hello World', description: 'Line one\nLine two', url: 'https://Example.org/Path', tags: ['Ruby', 'ÄPFEL', 'New York'] });
    expect(await columns(thing)).toMatchObject({
      lower_tags: ['ruby', 'äpfel', 'new york'],
      search_text: 'hello world\nline one\nline two\nhttps://example.org/path\nruby\näpfel\nnew york',
    });
    await updateThing(app.orm.em.fork(), app.clock, owner.id, thing.id, { title: 'Changed', tags: ['Go'] });
    expect(await columns(thing)).toMatchObject({ lower_tags: ['go'], search_text: 'changed\nline one\nline two\nhttps://example.org/path\ngo' });
    // The derived columns cannot be written to anything else.
    await db.query(`update things set lower_tags = '{x}', search_text = 'x' where id = $1`, [thing.id]);
    expect(await columns(thing)).toMatchObject({ lower_tags: ['go'], search_text: 'changed\nline one\nline two\nhttps://example.org/path\ngo' });
    expect((await columns(thing)).vector).toContain("'changed':1A");
  });

  it('lower-case as JavaScript does (§2.3), beyond ASCII', async () => {
    const thing = await fx.thing(owner, { title: 'ΟΔΟΣ İstanbul', tags: ['ΣΟΦΟΣ', 'Straße'] });
    const { lower_tags: lowerTags, search_text: text } = await columns(thing);
    expect(lowerTags).toEqual(['ΣΟΦΟΣ'.toLowerCase(), 'Straße'.toLowerCase()]);
    expect(text.split('\n')[0]).toBe('ΟΔΟΣ İstanbul'.toLowerCase());
    const search = async (q: string) => (await request(app.baseUrl, `/rest/v2/things/search?${q}`)).json().things.map((t: { id: number }) => t.id);
    expect(await search(`query=${encodeURIComponent('οδος')}`)).toEqual([thing.id]);
    expect(await search(`query=${encodeURIComponent('ΟΔΟΣ')}`)).toEqual([thing.id]);
    expect(await search(`query=${encodeURIComponent('İSTANBUL')}`)).toEqual([thing.id]);
    expect(await search(`tags=${encodeURIComponent('σοφος')}`)).toEqual([thing.id]);
    expect(await search(`tags=${encodeURIComponent('STRASSE')}`)).toEqual([]);
    expect(await search(`tags=${encodeURIComponent('STRAßE')}`)).toEqual([thing.id]);
  });
});
