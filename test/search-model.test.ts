import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { prng } from './support/prng.js';
import type { UserEntity } from '../src/entities/index.js';
import { prepareSearch, type SearchCaller, type SearchSort, type ThingSearch } from '../src/services/search/search.js';
import { evaluateTagExpression, parseTagExpression } from '../src/services/search/tag-expression.js';
import { refreshWindowBase, windowSortTuning } from '../src/services/search/window-sort.js';

/**
 * The SQL search against a direct JavaScript transcription of spec §10 (filters, tag expressions, the sort
 * keys of §10.4 with all tie-breakers, hidden things), on a random fixture with random parameters.
 */

interface ModelThing {
  id: number;
  ownerId: number;
  owner: string;
  title: string;
  description: string;
  url: string;
  tags: string[];
  language: string;
  category: string;
  hidden: boolean;
}


const SEED = 20261129;
const WORDS = ['ruby', 'Rails', 'gem', 'photo', 'Photos', 'jazz', 'Kite', 'travel', 'GAME', 'games', 'news', 'code'];
const TAGS = ['ruby', 'Ruby', 'gem', 'photo', 'photos', 'jazz', 'kites', 'game', 'games', 'software', 'deprecated'];
const LANGUAGES = ['en_GB', 'sv_SE', 'de_DE'];
const CATEGORIES = ['text', 'images', 'software'];
const NOW = Date.parse('2026-03-10T12:00:00Z');
const DAY = 86_400;

let app: TestApp;
let things: ModelThing[] = [];
let flattrs: { thingId: number; userId: number; at: number }[] = [];
let flattrers: UserEntity[] = [];
const seen = new Set<string>();
let owners: UserEntity[] = [];
let fx: Fixtures;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
  const r = prng(SEED);
  owners = [];
  for (const name of ['amy', 'Ben', 'cy', 'dora']) owners.push(await fx.user({ username: name }));
  flattrers = [];
  for (let i = 0; i < 8; i++) flattrers.push(await fx.user());
  app.clock.set('2026-01-01T00:00:00Z');
  for (let i = 0; i < 60; i++) {
    const owner = r.pick(owners);
    const words = (n: number) => Array.from({ length: n }, () => r.pick(WORDS)).join(' ');
    const input = {
      title: `${words(1 + r.int(3))} ${i}`,
      description: r.chance(0.3) ? '' : words(r.int(5)),
      url: `https://${r.pick(['a', 'b', 'c'])}.example/${r.pick(WORDS)}/${i}${r.chance(0.2) ? '_x%' : ''}`,
      tags: [...new Set(Array.from({ length: r.int(4) }, () => r.pick(TAGS)).map((t) => t))],
      language: r.pick(LANGUAGES),
      category: r.pick(CATEGORIES),
      hidden: r.chance(0.15),
    };
    const thing = await fx.thing(owner, input);
    things.push({ id: thing.id, ownerId: owner.id, owner: owner.username, ...input, tags: thing.tags });
  }
  // Flattrs from 45 days ago to one hour ahead, many near the window edges; one per user, thing and month.
  for (let i = 0; i < 220; i++) {
    const thing = r.pick(things);
    const user = r.pick(flattrers);
    const edge = r.pick([DAY, 7 * DAY, 30 * DAY]);
    const age = r.chance(0.3) ? edge + r.pick([-1, 0, 1]) : r.chance(0.05) ? -r.int(3600) : r.int(45 * DAY);
    const at = Math.floor(NOW / 1000) - age;
    const key = `${user.id}/${thing.id}/${new Date(at * 1000).toISOString().slice(0, 7)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    await fx.flattr(user, { id: thing.id } as never, new Date(at * 1000));
    flattrs.push({ thingId: thing.id, userId: user.id, at });
  }
  app.clock.set(new Date(NOW));
});
afterAll(() => app?.close());

/** Spec §10 in plain JavaScript. */
function reference(search: ThingSearch, caller: SearchCaller | null, now = NOW): number[] {
  const lc = (s: string) => s.toLowerCase();
  const terms = (search.query ?? '').split(/\s+/u).filter(Boolean).map(lc);
  const tagExpr = parseTagExpression(search.tags ?? '');
  const prefix = (search.url ?? '').trim();
  const T = Math.floor(now / 1000);
  const inWindow = (id: number, w: number) => flattrs.filter((f) => f.thingId === id && T - w < f.at && f.at <= T);
  const all = (id: number) => flattrs.filter((f) => f.thingId === id).length;
  const keys = (t: ModelThing): number[] => {
    switch (search.sort ?? 'relevance') {
      case 'relevance': {
        let score = 0;
        for (const term of terms) {
          score +=
            4 * +lc(t.title).includes(term) + 3 * +t.tags.some((tag) => lc(tag) === term) + 2 * +lc(t.description).includes(term) + 1 * +lc(t.url).includes(term);
        }
        return [score, all(t.id), t.id];
      }
      case 'flattrs':
        return [all(t.id), t.id];
      case 'flattrs_month':
        return [inWindow(t.id, 30 * DAY).length, all(t.id), t.id];
      case 'flattrs_week':
        return [inWindow(t.id, 7 * DAY).length, all(t.id), t.id];
      case 'flattrs_day':
        return [inWindow(t.id, DAY).length, all(t.id), t.id];
      case 'trend': {
        const week = inWindow(t.id, 7 * DAY);
        return [week.reduce((sum, f) => sum + (604800 - (T - f.at)), 0), week.length, all(t.id), t.id];
      }
      default:
        throw new Error('unexpected sort');
    }
  };
  return things
    .filter((t) => !t.hidden || (caller?.extendedRead && caller.userId === t.ownerId))
    .filter((t) => terms.every((term) => [t.title, t.description, t.url, ...t.tags].some((field) => lc(field).includes(term))))
    .filter((t) => prefix === '' || t.url.startsWith(prefix))
    .filter((t) => !search.languages?.length || search.languages.includes(t.language))
    .filter((t) => !search.categories?.length || search.categories.includes(t.category))
    .filter((t) => !search.user || lc(t.owner) === lc(search.user))
    .filter((t) => !tagExpr || evaluateTagExpression(tagExpr, t.tags))
    .map((t) => ({ id: t.id, key: keys(t) }))
    .sort((x, y) => {
      for (let i = 0; i < x.key.length; i++) if (x.key[i] !== y.key[i]) return y.key[i]! - x.key[i]!;
      return 0;
    })
    .map((x) => x.id);
}

function randomTagExpression(r: ReturnType<typeof prng>, depth = 0): string {
  const roll = r.int(depth > 2 ? 2 : 6);
  if (roll <= 1) return `${r.chance(0.3) ? '!' : ''}${r.pick(TAGS).toUpperCase()}`;
  if (roll === 2) return `!(${randomTagExpression(r, depth + 1)})`;
  if (roll === 3) return `(${randomTagExpression(r, depth + 1)} | ${randomTagExpression(r, depth + 1)})`;
  if (roll === 4) return `${randomTagExpression(r, depth + 1)},${randomTagExpression(r, depth + 1)}`;
  return `${randomTagExpression(r, depth + 1)} ${r.chance(0.5) ? '& ' : ''}${randomTagExpression(r, depth + 1)}`;
}

function randomSearch(r: ReturnType<typeof prng>): ThingSearch {
  const search: ThingSearch = { sort: r.pick(['relevance', 'relevance', 'trend', 'flattrs', 'flattrs_month', 'flattrs_week', 'flattrs_day'] as SearchSort[]) };
  if (r.chance(0.4)) {
    search.query = Array.from({ length: 1 + r.int(2) }, () => {
      const word = r.pick(WORDS);
      return r.chance(0.3) ? word.slice(0, 2 + r.int(3)) : r.chance(0.2) ? word.toUpperCase() : word;
    }).join(r.pick([' ', '  ', '\t']));
  }
  if (r.chance(0.15)) search.query = r.pick(['_', '%', '_x%', 'example/', '.example']);
  if (r.chance(0.2)) search.url = r.pick(['https://a.example/', 'https://b.example/r', ' https://c.example/', 'https://a.example/ruby/1']);
  if (r.chance(0.35)) search.tags = randomTagExpression(r);
  if (r.chance(0.2)) search.languages = LANGUAGES.filter(() => r.chance(0.5));
  if (r.chance(0.2)) search.categories = [...CATEGORIES.filter(() => r.chance(0.5)), ...(r.chance(0.2) ? ['nope'] : [])];
  if (r.chance(0.15)) search.user = r.pick(['AMY', 'ben', 'cy', 'nobody']);
  return search;
}

describe('search agrees with a direct transcription of §10', () => {
  it('on 400 random searches: total, order and every page', async () => {
    const r = prng(SEED + 1);
    const callers: (SearchCaller | null)[] = [null, { userId: owners[0]!.id, extendedRead: true }, { userId: owners[1]!.id, extendedRead: false }];
    let nonEmpty = 0;
    for (let i = 0; i < 400; i++) {
      const search = randomSearch(r);
      const caller = r.pick(callers);
      const expected = reference(search, caller);
      const prepared = prepareSearch(app.orm.em.fork(), search, caller, new Date(NOW));
      const count = 1 + r.int(12);
      const offset = r.int(4) * count;
      const label = JSON.stringify({ i, search, caller, count, offset });
      expect(await prepared.count(), label).toBe(expected.length);
      const page = await prepared.page({ offset, limit: count });
      expect(page.map((t) => t.id), label).toEqual(expected.slice(offset, offset + count));
      if (expected.length > 0) nonEmpty++;
    }
    // The random searches must not be mostly empty, or they would prove little.
    expect(nonEmpty).toBeGreaterThan(200);
  });

  it('over HTTP too, for each sort', async () => {
    for (const sort of ['relevance', 'trend', 'flattrs', 'flattrs_month', 'flattrs_week', 'flattrs_day'] as const) {
      const res = await request(app.baseUrl, `/rest/v2/things/search?sort=${sort}&query=e&count=100`);
      expect(res.json().things.map((t: { id: number }) => t.id), sort).toEqual(reference({ sort, query: 'e' }, null));
    }
  });
});

/**
 * The window sorts (§10.4) read whole days from search_window_base, built per UTC day of the clock, and the edges
 * of the window from flattrs (window-sort.ts). Compared with the transcription at many instants: times of day,
 * exactly midnight, the last second of a day, across day changes (the base is rebuilt), the clock going back,
 * after a backdated flattr and after deleting a user with recent flattrs (the base is invalidated).
 */
describe('window sorts at many instants, with the base rebuilt and invalidated', () => {
  const WINDOW_SORTS = ['flattrs_month', 'flattrs_week', 'flattrs_day', 'trend'] as const;
  const at = (iso: string) => Date.parse(iso);
  const INSTANTS = [
    '2026-03-10T12:00:00Z',
    '2026-03-10T00:00:00Z',
    '2026-03-10T23:59:59Z',
    '2026-03-11T00:00:00Z',
    '2026-03-11T00:00:01Z',
    '2026-03-11T16:40:07Z',
    '2026-03-17T09:00:00Z',
    '2026-03-09T05:00:00Z',
  ].map(at);
  let db: pg.Client;
  const r = prng(SEED + 2);

  const state = async () =>
    (
      await db.query(
        `select to_char(as_of, 'YYYY-MM-DD') as as_of, generation::int, base_generation::int, rebuilds::int from search_window_state where id = 1`,
      )
    ).rows[0] as { as_of: string | null; generation: number; base_generation: number | null; rebuilds: number };

  const addFlattr = async (atSeconds: number) => {
    for (let tries = 0; tries < 50; tries++) {
      const thing = r.pick(things);
      const user = r.pick(flattrers);
      const key = `${user.id}/${thing.id}/${new Date(atSeconds * 1000).toISOString().slice(0, 7)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await fx.flattr(user, { id: thing.id } as never, new Date(atSeconds * 1000));
      flattrs.push({ thingId: thing.id, userId: user.id, at: atSeconds });
      return;
    }
    throw new Error('no free (user, thing, month)');
  };

  /** Every page of the search, at page sizes 1..7, against the transcription at `now`. */
  const comparePages = async (search: ThingSearch, caller: SearchCaller | null, now: number, label: string) => {
    const expected = reference(search, caller, now);
    const count = 1 + r.int(7);
    for (let offset = 0; offset <= expected.length; offset += count) {
      const page = await prepareSearch(app.orm.em.fork(), search, caller, new Date(now)).page({ offset, limit: count });
      expect(
        page.map((t) => t.id),
        `${label} ${JSON.stringify({ search, caller, now: new Date(now).toISOString(), offset, count })}`,
      ).toEqual(expected.slice(offset, offset + count));
    }
    return expected.length;
  };

  const compareAll = async (now: number, label: string, randomFilters = 2) => {
    for (const sort of WINDOW_SORTS) {
      await comparePages({ sort }, null, now, label);
      for (let i = 0; i < randomFilters; i++) {
        const search = { ...randomSearch(r), sort };
        await comparePages(search, r.pick([null, { userId: owners[0]!.id, extendedRead: true }]), now, label);
      }
    }
  };

  const savedTuning = { ...windowSortTuning };
  beforeAll(async () => {
    // Here every filter goes through the two lists (at this size all would be ordered whole otherwise).
    windowSortTuning.smallFilter = 0;
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    for (let i = 0; i < 12; i++) flattrers.push(await fx.user());
    // Flattrs on and next to every boundary of every window at every instant: T − W (out), T − W + 1 (in),
    // the midnights that split whole days from edges, and T, T + 1.
    for (const instant of INSTANTS) {
      const T = Math.floor(instant / 1000);
      const D = Math.floor(T / DAY) * DAY;
      const points = [T, T + 1, T - 1, D, D - 1, D + DAY - 1];
      for (const days of [1, 7, 30]) points.push(T - days * DAY, T - days * DAY + 1, D - (days - 1) * DAY, D - (days - 1) * DAY - 1, D - days * DAY);
      for (const point of points) await addFlattr(point);
    }
  }, 120_000);
  afterAll(async () => {
    Object.assign(windowSortTuning, savedTuning);
    await db?.end();
  });

  /** search_window_today holds exactly thing_flattr_days for the days ≥ as_of. */
  const expectTodayRowsExact = async () => {
    const { rows } = await db.query(
      `select count(*)::int as diff from (
         (select day, thing_id, flattrs, epoch_sum from search_window_today
          except select day, thing_id, flattrs, epoch_sum from thing_flattr_days where day >= (select as_of from search_window_state))
         union all
         (select day, thing_id, flattrs, epoch_sum from thing_flattr_days where day >= (select as_of from search_window_state)
          except select day, thing_id, flattrs, epoch_sum from search_window_today where day >= (select as_of from search_window_state))) x`,
    );
    expect(rows[0].diff).toBe(0);
  };

  it('agree with the transcription at every instant, every page, with filters', async () => {
    let rebuilds = (await state()).rebuilds;
    for (const instant of INSTANTS) {
      // Right after a day change the searches read the previous day's base (the daily rebuild is a job, off the
      // request path); then the job's rebuild, and the same searches on the day's own base.
      await compareAll(instant, 'instant');
      if (await refreshWindowBase(app.orm.em.fork(), new Date(instant))) await compareAll(instant, 'after the rebuild', 1);
      const s = await state();
      // The base was built for the instant's UTC day, at most once for it.
      expect(s.as_of).toBe(new Date(instant).toISOString().slice(0, 10));
      expect(s.base_generation).toBe(s.generation);
      expect(s.rebuilds - rebuilds).toBeLessThanOrEqual(1);
      rebuilds = s.rebuilds;
      await expectTodayRowsExact();
    }
  }, 300_000);

  it('agree when every list is read one row at a time (the threshold stops on its bound, in many rounds)', async () => {
    const saved = { ...windowSortTuning };
    windowSortTuning.firstDepth = () => 1;
    windowSortTuning.growth = 2;
    try {
      for (const instant of [INSTANTS[0]!, INSTANTS[2]!, INSTANTS[3]!, INSTANTS[5]!]) await compareAll(instant, 'depth 1', 1);
    } finally {
      Object.assign(windowSortTuning, saved);
    }
  }, 300_000);

  it('agree when the filter is small enough to be ordered whole, without the lists', async () => {
    const saved = { ...windowSortTuning };
    windowSortTuning.smallFilter = 1000;
    try {
      for (const instant of [INSTANTS[0]!, INSTANTS[2]!, INSTANTS[4]!]) await compareAll(instant, 'small filter', 1);
    } finally {
      Object.assign(windowSortTuning, saved);
    }
  }, 300_000);

  it('after a backdated flattr and after deleting a user with recent flattrs (the base is invalidated)', async () => {
    const now = at('2026-03-11T16:40:07Z');
    const T = Math.floor(now / 1000);
    await refreshWindowBase(app.orm.em.fork(), new Date(now));
    await compareAll(now, 'before');
    const before = await state();
    expect(before.as_of).toBe('2026-03-11');
    expect(before.base_generation).toBe(before.generation);

    // A flattr of today does not touch the base; the triggers add it to today's rows.
    await addFlattr(T - 60);
    expect((await state()).generation).toBe(before.generation);
    await expectTodayRowsExact();
    // A flattr of the days the base holds invalidates it; the next search rebuilds, and agrees.
    await addFlattr(T - 3 * DAY);
    const bumped = await state();
    expect(bumped.generation).toBe(before.generation + 1);
    await compareAll(now, 'backdated insert', 1);
    const rebuilt = await state();
    expect(rebuilt.rebuilds).toBe(before.rebuilds + 1);
    expect(rebuilt.base_generation).toBe(rebuilt.generation);
    // A flattr older than the month's whole days does not.
    await addFlattr(T - 40 * DAY);
    expect((await state()).generation).toBe(rebuilt.generation);

    // Deleting a user cascades to their flattrs, some within the base's days.
    const victim = flattrers.find((u) => flattrs.some((f) => f.userId === u.id && f.at < T - DAY && f.at > T - 20 * DAY))!;
    expect(victim).toBeDefined();
    await db.query('delete from users where id = $1', [victim.id]);
    flattrs = flattrs.filter((f) => f.userId !== victim.id);
    flattrers = flattrers.filter((u) => u.id !== victim.id);
    const deleted = await state();
    expect(deleted.generation).toBe(rebuilt.generation + 1);
    await expectTodayRowsExact();
    await compareAll(now, 'user deleted', 1);
    expect((await state()).rebuilds).toBe(rebuilt.rebuilds + 1);
  }, 300_000);

  it('trend: a thing below the first rows by trend_hi can still win late in the day', async () => {
    // At T = the last second of day D (r = 86399), A has three flattrs 4.57 days before midnight (trend_hi 630000,
    // key 630000 − 3r = 370803) and B one at the last second of D − 1 (trend_hi 604799, key 518400): A leads
    // by trend_hi, B by the exact key, so the page of one must look past the first row by trend_hi.
    const owner = await fx.user({ username: 'eve' });
    const make = async (title: string) => {
      const input = { title, description: '', url: `https://e.example/${title}`, tags: [], language: 'en_GB', category: 'text', hidden: false };
      const thing = await fx.thing(owner, input);
      things.push({ id: thing.id, ownerId: owner.id, owner: owner.username, ...input, tags: thing.tags });
      return thing;
    };
    const a = await make('a');
    const b = await make('b');
    const midnight = Date.parse('2026-03-25T00:00:00Z') / 1000;
    const flattr = async (user: UserEntity, thingId: number, atSeconds: number) => {
      seen.add(`${user.id}/${thingId}/${new Date(atSeconds * 1000).toISOString().slice(0, 7)}`);
      await fx.flattr(user, { id: thingId } as never, new Date(atSeconds * 1000));
      flattrs.push({ thingId, userId: user.id, at: atSeconds });
    };
    for (const user of flattrers.slice(0, 3)) await flattr(user, a.id, midnight - 394_800);
    await flattr(flattrers[3]!, b.id, midnight - 1);
    const T = (midnight + DAY - 1) * 1000;
    expect(reference({ sort: 'trend', user: 'eve' }, null, T)).toEqual([b.id, a.id]);
    for (const limit of [1, 2]) {
      const page = await prepareSearch(app.orm.em.fork(), { sort: 'trend', user: 'eve' }, null, new Date(T)).page({ offset: 0, limit });
      expect(page.map((t) => t.id)).toEqual([b.id, a.id].slice(0, limit));
    }
    // Earlier that day the order is A, B.
    expect(reference({ sort: 'trend', user: 'eve' }, null, midnight * 1000)).toEqual([a.id, b.id]);
    await comparePages({ sort: 'trend', user: 'eve' }, null, midnight * 1000, 'midnight');
  });

  it('rebuilds the base once per day, not per request; concurrent first searches of a day agree', async () => {
    const first = at('2026-03-20T10:00:00Z');
    const before = await state();
    const searches: { search: ThingSearch; offset: number }[] = [];
    for (const sort of WINDOW_SORTS) for (const offset of [0, 3, 9]) searches.push({ search: { sort }, offset });
    const pages = await Promise.all(searches.map(({ search, offset }) => prepareSearch(app.orm.em.fork(), search, null, new Date(first)).page({ offset, limit: 5 })));
    searches.forEach(({ search, offset }, i) => expect(pages[i]!.map((t) => t.id), JSON.stringify(search)).toEqual(reference(search, null, first).slice(offset, offset + 5)));
    const after = await state();
    expect(after.as_of).toBe('2026-03-20');
    // flattrs_day needs no base; the others share one rebuild.
    expect(after.rebuilds).toBe(before.rebuilds + 1);

    // Later the same day: no rebuild, whatever the time.
    for (const time of ['2026-03-20T00:00:00Z', '2026-03-20T13:14:15Z', '2026-03-20T23:59:59Z']) {
      for (const sort of WINDOW_SORTS) await comparePages({ sort }, null, at(time), 'same day');
    }
    expect((await state()).rebuilds).toBe(after.rebuilds);
    // The next day: no search rebuilds; they read the previous day's base, exactly.
    await comparePages({ sort: 'trend' }, null, at('2026-03-21T00:00:00Z'), 'next day');
    await comparePages({ sort: 'flattrs_month' }, null, at('2026-03-21T08:00:00Z'), 'next day');
    expect(await state()).toMatchObject({ as_of: '2026-03-20', rebuilds: after.rebuilds });
    // The search-window-base job (src/jobs/) rebuilds it once, off the request path.
    expect(await refreshWindowBase(app.orm.em.fork(), new Date(at('2026-03-21T08:00:00Z')))).toBe(true);
    expect(await refreshWindowBase(app.orm.em.fork(), new Date(at('2026-03-21T09:00:00Z')))).toBe(false);
    await comparePages({ sort: 'flattrs_month' }, null, at('2026-03-21T08:00:00Z'), 'next day, rebuilt');
    expect(await state()).toMatchObject({ as_of: '2026-03-21', rebuilds: after.rebuilds + 1 });
  }, 300_000);

  it('while the daily rebuild runs (day switched, rebuild lock held), searches of the new day do not wait and stay exact', async () => {
    const T = Math.floor(at('2026-04-03T00:30:00Z') / 1000);
    // Flattrs of the new day, of the day before, and on the window edges; then the base of 2026-04-02.
    for (const point of [T - 60, T - DAY, T - 1800 - 1, T - 7 * DAY + 1, T - 7 * DAY, T - 30 * DAY + 1, T - 30 * DAY]) await addFlattr(point);
    await refreshWindowBase(app.orm.em.fork(), new Date(at('2026-04-02T12:00:00Z')));
    const built = await state();
    expect(built.as_of).toBe('2026-04-02');
    // A flattr of 2026-04-02 while it is the writers' day: kept in its today rows, the base stays valid.
    await addFlattr(T - 3600);
    expect((await state()).generation).toBe(built.generation);
    // The job's rebuild of 2026-04-03 half done: the day switched (txA), and the rebuild's lock held (txB running).
    const rebuilder = new pg.Client({ connectionString: app.databaseUrl });
    await rebuilder.connect();
    try {
      await rebuilder.query(`update search_window_state set as_of = '2026-04-03' where id = 1`);
      await rebuilder.query('begin');
      await rebuilder.query(`select pg_advisory_xact_lock(hashtext('search_window:rebuild'))`);
      // A flattr committed after the switch, on the new day: today rows of 2026-04-03.
      await addFlattr(T - 5);
      for (const now of [T * 1000, (T + 3600) * 1000, at('2026-04-03T23:59:59Z')]) await compareAll(now, 'during the rebuild', 1);
      await rebuilder.query('rollback');
    } finally {
      await rebuilder.end();
    }
    expect(await state()).toMatchObject({ as_of: '2026-04-03', rebuilds: built.rebuilds });
  }, 300_000);
});
