import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import type { UserEntity } from '../src/entities/index.js';
import { prepareSearch, type SearchCaller, type SearchSort, type ThingSearch } from '../src/services/search/search.js';
import { evaluateTagExpression, parseTagExpression } from '../src/services/search/tag-expression.js';

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

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() < p;
  return { int, pick, chance };
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
let flattrs: { thingId: number; at: number }[] = [];
let owners: UserEntity[] = [];

beforeAll(async () => {
  app = await startTestApp();
  const fx = new Fixtures(app.orm, app.clock);
  const r = prng(SEED);
  owners = [];
  for (const name of ['amy', 'Ben', 'cy', 'dora']) owners.push(await fx.user({ username: name }));
  const flattrers: UserEntity[] = [];
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
  const seen = new Set<string>();
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
    flattrs.push({ thingId: thing.id, at });
  }
  app.clock.set(new Date(NOW));
});
afterAll(() => app?.close());

/** Spec §10 in plain JavaScript. */
function reference(search: ThingSearch, caller: SearchCaller | null): number[] {
  const lc = (s: string) => s.toLowerCase();
  const terms = (search.query ?? '').split(/\s+/u).filter(Boolean).map(lc);
  const tagExpr = parseTagExpression(search.tags ?? '');
  const prefix = (search.url ?? '').trim();
  const T = Math.floor(NOW / 1000);
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
