import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { Thing, type ThingEntity, type UserEntity } from '../src/entities/index.js';
import { createUser } from '../src/services/users.js';
import { createThing } from '../src/services/things.js';
import { verifyPassword } from '../src/services/passwords.js';
import { DomainError } from '../src/services/domain-error.js';

let app: TestApp;
let fx: Fixtures;
let db: pg.Client;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await app?.close();
});

async function counters(thing: ThingEntity) {
  const { rows } = await db.query('select flattrs_count, flattrs_user_count, last_flattr_at from things where id = $1', [thing.id]);
  const actual = await db.query('select count(*)::int as n, count(distinct user_id)::int as users, max(created_at) as last from flattrs where thing_id = $1', [thing.id]);
  return { stored: rows[0], fromRows: actual.rows[0] };
}

describe('migrations', () => {
  it('leave the database exactly as the entities describe it (no drift for migration:create)', async () => {
    expect(await app.orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});

describe('flattr counters', () => {
  let owner: UserEntity;
  let a: UserEntity;
  let b: UserEntity;
  let thing: ThingEntity;

  beforeAll(async () => {
    owner = await fx.user();
    a = await fx.user();
    b = await fx.user();
    thing = await fx.thing(owner);
  });

  it('always equal what the flattr rows say, whoever writes the rows', async () => {
    await fx.flattr(a, thing, new Date('2026-01-10T00:00:00Z'));
    await fx.flattr(a, thing, new Date('2026-02-10T00:00:00Z'));
    // A raw insert, as a seed script or another tool would do it.
    await db.query(`insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, '2026-02-11T00:00:00Z', '2026-02', 'subscription')`, [b.id, thing.id]);
    let { stored, fromRows } = await counters(thing);
    expect(stored).toEqual({ flattrs_count: 3, flattrs_user_count: 2, last_flattr_at: new Date('2026-02-11T00:00:00Z') });
    expect([fromRows.n, fromRows.users]).toEqual([3, 2]);

    await db.query(`delete from flattrs where user_id = $1 and period = '2026-02'`, [a.id]);
    ({ stored } = await counters(thing));
    expect(stored).toEqual({ flattrs_count: 2, flattrs_user_count: 2, last_flattr_at: new Date('2026-02-11T00:00:00Z') });

    await db.query('delete from flattrs where user_id = $1', [b.id]);
    ({ stored } = await counters(thing));
    expect(stored).toEqual({ flattrs_count: 1, flattrs_user_count: 1, last_flattr_at: new Date('2026-01-10T00:00:00Z') });

    await db.query('delete from flattrs where thing_id = $1', [thing.id]);
    ({ stored } = await counters(thing));
    expect(stored).toEqual({ flattrs_count: 0, flattrs_user_count: 0, last_flattr_at: null });
  });

  it('stay right under concurrent inserts by many users', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => fx.user()));
    const target = await fx.thing(owner);
    await Promise.all(users.map((u) => fx.flattr(u, target)));
    const { stored } = await counters(target);
    expect([stored.flattrs_count, stored.flattrs_user_count]).toEqual([12, 12]);
  });

  it('count a user once when one statement inserts or deletes several of their flattrs on a thing', async () => {
    const target = await fx.thing(owner);
    const other = await fx.thing(owner);
    const c = await fx.user();
    // One statement: c flattrs target in three months and other once; a flattrs target once.
    await db.query(
      `insert into flattrs (user_id, thing_id, created_at, period, source) values
         ($1, $2, '2026-01-05T00:00:00Z', '', 'click'), ($1, $2, '2026-02-05T00:00:00Z', '', 'click'),
         ($1, $2, '2026-03-05T00:00:00Z', '', 'click'), ($1, $3, '2026-03-06T00:00:00Z', '', 'click'),
         ($4, $2, '2026-03-07T00:00:00Z', '', 'click')`,
      [c.id, target.id, other.id, a.id],
    );
    expect((await counters(target)).stored).toEqual({ flattrs_count: 4, flattrs_user_count: 2, last_flattr_at: new Date('2026-03-07T00:00:00Z') });
    expect((await counters(other)).stored).toEqual({ flattrs_count: 1, flattrs_user_count: 1, last_flattr_at: new Date('2026-03-06T00:00:00Z') });

    // A later statement adding another month for c does not count c again.
    await db.query(`insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, '2026-04-05T00:00:00Z', '', 'click')`, [c.id, target.id]);
    expect((await counters(target)).stored.flattrs_user_count).toBe(2);

    // Two of c's four flattrs in one statement: c still has flattrs on the thing.
    await db.query(`delete from flattrs where user_id = $1 and thing_id = $2 and period in ('2026-01', '2026-04')`, [c.id, target.id]);
    expect((await counters(target)).stored).toEqual({ flattrs_count: 3, flattrs_user_count: 2, last_flattr_at: new Date('2026-03-07T00:00:00Z') });

    // Deleting the user removes all their flattrs in one cascaded statement.
    await db.query('delete from users where id = $1', [c.id]);
    expect((await counters(target)).stored).toEqual({ flattrs_count: 1, flattrs_user_count: 1, last_flattr_at: new Date('2026-03-07T00:00:00Z') });
    expect((await counters(other)).stored).toEqual({ flattrs_count: 0, flattrs_user_count: 0, last_flattr_at: null });
  });

  it('count a user once when two transactions add their flattrs on a thing concurrently', async () => {
    const target = await fx.thing(owner);
    const c = await fx.user();
    const first = new pg.Client({ connectionString: app.databaseUrl });
    const second = new pg.Client({ connectionString: app.databaseUrl });
    await Promise.all([first.connect(), second.connect()]);
    try {
      await first.query('begin');
      await second.query('begin');
      await first.query(`insert into flattrs (user_id, thing_id, created_at, period) values ($1, $2, '2026-01-05T00:00:00Z', '')`, [c.id, target.id]);
      // Waits for the first transaction's lock on the thing, then must see its flattr.
      const waiting = second.query(`insert into flattrs (user_id, thing_id, created_at, period) values ($1, $2, '2026-02-05T00:00:00Z', '')`, [c.id, target.id]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await first.query('commit');
      await waiting;
      await second.query('commit');
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
    expect((await counters(target)).stored).toEqual({ flattrs_count: 2, flattrs_user_count: 1, last_flattr_at: new Date('2026-02-05T00:00:00Z') });
  });

  it('allow one flattr per user, thing and period, enforced by the database', async () => {
    const target = await fx.thing(owner);
    await fx.flattr(a, target, new Date('2026-03-02T00:00:00Z'));
    await expect(db.query(`insert into flattrs (user_id, thing_id, created_at, period) values ($1, $2, '2026-03-20T00:00:00Z', '2026-03')`, [a.id, target.id])).rejects.toThrow(
      /flattrs_user_thing_period_unique/,
    );
    // The period always follows created_at, whatever the writer claims.
    await db.query(`insert into flattrs (user_id, thing_id, created_at, period) values ($1, $2, '2026-04-30T23:30:00-02:00', '2026-03')`, [b.id, target.id]);
    const stored = await db.query('select period from flattrs where user_id = $1 and thing_id = $2', [b.id, target.id]);
    expect(stored.rows).toEqual([{ period: '2026-05' }]);
    await expect(db.query('update flattrs set thing_id = $1 where user_id = $2 and thing_id = $3', [thing.id, a.id, target.id])).rejects.toThrow(/immutable/);
  });

  it('are removed with the thing: deleting a thing deletes its flattrs and subscriptions (D74)', async () => {
    const target = await fx.thing(owner);
    await fx.flattr(a, target);
    await db.query(`insert into subscriptions (user_id, thing_id, created_at, started_at) values ($1, $2, now(), now())`, [a.id, target.id]);
    await db.query('delete from things where id = $1', [target.id]);
    const left = await db.query('select (select count(*) from flattrs where thing_id = $1)::int as f, (select count(*) from subscriptions where thing_id = $1)::int as s', [target.id]);
    expect(left.rows[0]).toEqual({ f: 0, s: 0 });
  });
});

describe('users', () => {
  it('are unique regardless of case, and passwords are stored as scrypt hashes', async () => {
    const em = app.orm.em.fork();
    const user = await createUser(em, app.clock, { username: 'CaseUser', email: 'case@example.org', password: 'correct horse' });
    expect(user.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse', user.passwordHash ?? null)).toBe(true);
    expect(await verifyPassword('wrong horse', user.passwordHash ?? null)).toBe(false);
    await expect(createUser(app.orm.em.fork(), app.clock, { username: 'caseuser', email: 'x@example.org', password: 'correct horse' })).rejects.toThrow(
      'Username is already taken',
    );
    await expect(db.query(`insert into users (username, email, registered_at) values ('CASEUSER', 'y@example.org', now())`)).rejects.toThrow(/users_username_lower_unique/);
  });

  it('reject usernames that end in a format suffix', async () => {
    await expect(createUser(app.orm.em.fork(), app.clock, { username: 'bob.json', email: 'b@example.org', password: 'longenough' })).rejects.toBeInstanceOf(DomainError);
  });
});

describe('things', () => {
  it('get ascending ids, defaults and normalised text (spec §12.2)', async () => {
    const owner = await fx.user();
    const em = app.orm.em.fork();
    const first = await createThing(em, app.clock, owner.id, { url: ' https://example.com/a?x=1#frag ', title: '<i></i>', description: '  a<BR >b<script>x</script> ', tags: ['x', ' X ', '', 'y'] });
    const second = await createThing(app.orm.em.fork(), app.clock, owner.id, { url: 'https://example.com/b' });
    expect(second.id).toBeGreaterThan(first.id);
    const stored = await app.orm.em.fork().findOneOrFail(Thing, { id: first.id });
    expect({ url: stored.url, title: stored.title, description: stored.description, tags: stored.tags, category: stored.category.id, language: stored.language.id, hidden: stored.hidden }).toEqual({
      url: 'https://example.com/a?x=1#frag',
      title: 'https://example.com/a?x=1#frag',
      description: 'a\nbx',
      tags: ['x', 'y'],
      category: 'rest',
      language: 'en_GB',
      hidden: false,
    });
  });

  it('report the first failing rule in E8 order', async () => {
    const owner = await fx.user();
    const attempt = (input: Parameters<typeof createThing>[3]) => createThing(app.orm.em.fork(), app.clock, owner.id, input);
    await expect(attempt({ url: 'ftp://example.com' })).rejects.toThrow('Invalid url');
    await expect(attempt({})).rejects.toThrow('Invalid url');
    await attempt({ url: 'https://dup.example/' });
    await expect(attempt({ url: 'https://dup.example/', category: 'nope' })).rejects.toThrow('A thing with that url already exists');
    await expect(attempt({ url: 'https://new.example/', title: 'x'.repeat(101), category: 'nope' })).rejects.toThrow('Title is too long');
    await expect(attempt({ url: 'https://new.example/', description: 'x'.repeat(1001) })).rejects.toThrow('Description is too long');
    await expect(attempt({ url: 'https://new.example/', category: 'nope', language: 'nope' })).rejects.toThrow('Invalid category');
    await expect(attempt({ url: 'https://new.example/', language: 'xx_XX' })).rejects.toThrow('Invalid language');
    expect((await attempt({ url: 'https://new.example/', title: '€'.repeat(100) })).title).toHaveLength(100);
  });
});
