import type { EntityManager } from '@mikro-orm/postgresql';
import { periodOf } from '../../entities/index.js';
import { thingsWithOwners, type ThingRecord } from '../read-model/rows.js';
import { DomainError, INVALID_PARAMETERS } from '../domain-error.js';
import { referenceData } from '../reference-data.js';
import type { Page } from '../listings.js';
import { parseTagExpression, type TagExpression } from './tag-expression.js';
import { Sql, compileTagExpression, escapeLike, join, list, query, raw, sql } from './sql.js';
import { searchCountCache } from './count-cache.js';
import type { RelevanceLevelCache, RelevanceQuery } from './relevance-levels.js';
import type { WindowSort } from './windows.js';
import { windowSortPage } from './window-sort.js';

/**
 * Thing search, spec §10 (E11), in PostgreSQL. Every filter is a parameterised condition that an index serves:
 *
 * | filter | condition | index |
 * |---|---|---|
 * | `query` term | `search_text like '%term%'` (lower-cased, LIKE-escaped) | trigram GIN on `search_text` |
 * | `url` | `url like 'prefix%'` (LIKE-escaped) | btree `url varchar_pattern_ops` |
 * | `tags` | `lower_tags @> array[tag]`, combined with and/or/not | GIN on `lower_tags` |
 * | `language`, `category` | `language_id in (...)`, `category_id in (...)` | btree |
 * | `user` | `owner_id in (select id from users where lower(username) = ?)` | `lower(username)` unique + owner btree |
 *
 * Sorts (§10.4, D66) at the injected clock's now, never SQL now():
 * - `relevance`: the score of §10.4 over the filtered rows, then flattrs, id; without query terms every score
 *   is 0 and the order is the `(flattrs_count, id)` index. With terms, the GraphQL/REST resolver passes the
 *   process's relevance levels (relevance-levels.ts): the matches grouped by score, kept per filter and
 *   `search_generation`, read group by group in live (flattrs, id) order.
 * - `flattrs`: the `(flattrs_count, id)` index.
 * - `flattrs_month|week|day`, `trend` (window-sort.ts): a threshold algorithm over two lists ordered by upper
 *   bounds of the key — `search_window_base` (whole days and the full oldest day, built once per UTC day) and
 *   `search_window_today` (today's flattrs, kept by the flattrs triggers) — with exact keys computed only for the
 *   things read. Things with key 0 follow in `(flattrs_count, id)` index order.
 *
 * `total_items` comes from the process's count cache (count-cache.ts), or for the relevance order with terms from
 * the relevance levels' sizes; both exact, kept per filter and corrected from the change log (changes.ts).
 * - `text_rank` (GraphQL only): `ts_rank_cd` of the `textSearch` query on `search_vector`, then flattrs, id.
 */

export const SEARCH_SORTS = ['relevance', 'trend', 'flattrs', 'flattrs_month', 'flattrs_week', 'flattrs_day', 'text_rank'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

export interface ThingSearch {
  /** Free-text terms (§10.2); split on whitespace. */
  query?: string | null;
  /** Case-sensitive url prefix, trimmed (D62). */
  url?: string | null;
  /** Tag expression (§10.3). */
  tags?: string | null;
  /** Language ids; an empty list filters nothing. */
  languages?: readonly string[] | null;
  /** Category ids; an empty list filters nothing. */
  categories?: readonly string[] | null;
  /** Owner username, case-insensitive. */
  user?: string | null;
  /** GraphQL only: PostgreSQL `websearch_to_tsquery` syntax over title, tags, description and url. */
  textSearch?: string | null;
  sort?: SearchSort;
}

/** Who searches: their own hidden things join the candidates with `extendedread` (D61). */
export interface SearchCaller {
  userId: number;
  extendedRead: boolean;
}

export interface SearchOptions {
  /** Entries of the process's count cache (count-cache.ts) this search may use; 0 or absent: count every time. */
  countCacheSize?: number;
  /** The relevance levels of a filter kept by this process (relevance-levels.ts); absent: score every match per page. */
  relevanceLevels?: RelevanceLevelCache | null;
}

/** At most this many distinct query terms (each is a few SQL parameters). */
export const MAX_QUERY_TERMS = 256;

export interface PreparedSearch {
  /** Number of things matching, over all pages (§8.8 `total_items`). */
  count(): Promise<number>;
  /**
   * The things at positions [offset, offset + limit) of the ordered result, as plain records with their owners (and,
   * for a caller, their state for the caller: flattred this period, subscribed), read in one statement.
   */
  page(page: Page): Promise<ThingRecord[]>;
}

interface Filters {
  terms: Map<string, number>;
  urlPrefix: string | null;
  tags: TagExpression | null;
  /** null: no filter; [] matches nothing. */
  languages: readonly string[] | null;
  categories: readonly string[] | null;
  user: string | null;
  textSearch: string | null;
}

/** §10.2: split on whitespace; lower-cased (§2.3); each distinct term with how often it occurs. */
export function queryTerms(query: string | null | undefined): Map<string, number> {
  const terms = new Map<string, number>();
  for (const term of (query ?? '').split(/\s+/u)) {
    if (term === '') continue;
    const lower = term.toLowerCase();
    terms.set(lower, (terms.get(lower) ?? 0) + 1);
  }
  return terms;
}

const nonEmpty = (value: string | null | undefined): string | null => (value === undefined || value === null || value === '' ? null : value);

const LANGUAGE_IDS = new Set(referenceData.languages.map((l) => l.id));
const CATEGORY_IDS = new Set(referenceData.categories.map((c) => c.id));

/**
 * A language or category list: null (no filter) when empty; otherwise the ids of the list that exist, which
 * may be none (D55: an unknown id matches nothing). So the SQL never holds more than the reference list.
 */
function knownIds(value: readonly string[] | null | undefined, known: ReadonlySet<string>): string[] | null {
  if (!value || value.length === 0) return null;
  return [...new Set(value)].filter((id) => known.has(id));
}

/** Validates and normalises the filters; throws TagExpressionError or DomainError('invalid_parameters'). */
function prepareFilters(search: ThingSearch): Filters {
  // A malformed tag expression is reported before too many query terms, as REST always answered.
  const tags = parseTagExpression(search.tags ?? '');
  const terms = queryTerms(search.query);
  // The catalogue's text (spec §6.2): the spec names no specific one for this limit (README "REST choices").
  if (terms.size > MAX_QUERY_TERMS) throw new DomainError('invalid_parameters', INVALID_PARAMETERS);
  return {
    terms,
    urlPrefix: nonEmpty(search.url?.trim()),
    tags,
    languages: knownIds(search.languages, LANGUAGE_IDS),
    categories: knownIds(search.categories, CATEGORY_IDS),
    user: nonEmpty(search.user),
    textSearch: nonEmpty(search.textSearch?.trim()),
  };
}

/** The WHERE conditions over `things t`. */
function whereClause(filters: Filters, caller: SearchCaller | null): Sql {
  const conditions: Sql[] = [];
  // §10.1, D61.
  conditions.push(caller?.extendedRead ? sql`(not t.hidden or t.owner_id = ${caller.userId})` : raw('not t.hidden'));
  for (const term of filters.terms.keys()) conditions.push(sql`t.search_text like ${`%${escapeLike(term)}%`}`);
  if (filters.urlPrefix !== null) conditions.push(sql`t.url like ${`${escapeLike(filters.urlPrefix)}%`}`);
  if (filters.languages) conditions.push(filters.languages.length > 0 ? sql`t.language_id in (${list(filters.languages)})` : raw('false'));
  if (filters.categories) conditions.push(filters.categories.length > 0 ? sql`t.category_id in (${list(filters.categories)})` : raw('false'));
  // Usernames are ASCII (§2.4), where lower() and toLowerCase agree; the unique index on lower(username) serves it.
  if (filters.user !== null) conditions.push(sql`t.owner_id in (select u.id from users u where lower(u.username) = ${filters.user.toLowerCase()})`);
  if (filters.tags) conditions.push(compileTagExpression(filters.tags));
  if (filters.textSearch !== null) conditions.push(sql`t.search_vector @@ websearch_to_tsquery('simple', flattr_lower(${filters.textSearch}))`);
  return join(conditions, ' and ');
}

/**
 * §10.4 relevance: Σ over terms of 4·[in title] + 3·[equals a tag] + 2·[in description] + 1·[in url], all
 * case-insensitive. A term given n times counts n times. `l` holds the lower-cased fields.
 */
function relevanceScore(filters: Filters): Sql {
  const parts = [...filters.terms].map(
    ([term, times]) =>
      sql`${times}::int * (4 * (strpos(l.title, ${term}) > 0)::int + 3 * (${term} = any(t.lower_tags))::int
        + 2 * (strpos(l.description, ${term}) > 0)::int + (strpos(l.url, ${term}) > 0)::int)`,
  );
  return join(parts, ' + ');
}

const BY_FLATTRS = raw('t.flattrs_count desc, t.id desc');

async function ids(em: EntityManager, fragment: Sql): Promise<number[]> {
  const rows = await query<{ id: number }>(em, fragment);
  return rows.map((r) => r.id);
}

async function loadInOrder(em: EntityManager, thingIds: number[], caller: SearchCaller | null, now: Date): Promise<ThingRecord[]> {
  if (thingIds.length === 0) return [];
  const records = await thingsWithOwners(em, thingIds, caller ? { userId: caller.userId, period: periodOf(now) } : null);
  const byId = new Map(records.map((t) => [t.id, t]));
  return thingIds.flatMap((id) => byId.get(id) ?? []);
}

/** The lower-cased fields the relevance score tests, computed once per row. */
const LOWER_FIELDS = raw(
  'cross join lateral (select flattr_lower(t.title) as title, flattr_lower(t.description) as description, flattr_lower(t.url) as url) l',
);

/**
 * Prepares a search: validates the parameters now (a malformed tag expression throws TagExpressionError,
 * too many terms a DomainError) and returns functions that run the count and page queries.
 */
export function prepareSearch(em: EntityManager, search: ThingSearch, caller: SearchCaller | null, now: Date, options: SearchOptions = {}): PreparedSearch {
  const filters = prepareFilters(search);
  const sort = search.sort ?? 'relevance';
  const where = whereClause(filters, caller);

  // The relevance order with terms reads its levels anyway; their sizes are the total (relevance-levels.ts).
  const relevance: RelevanceQuery | null =
    sort === 'relevance' && filters.terms.size > 0 && options.relevanceLevels
      ? { where, score: relevanceScore(filters), lowerFields: LOWER_FIELDS, byFlattrs: BY_FLATTRS }
      : null;
  const count = () => (relevance ? options.relevanceLevels!.total(em, relevance) : searchCountCache.count(em, where, options.countCacheSize ?? 0));

  const orderedPage = (page: Page, orderBy: Sql, from: Sql = raw('')) =>
    ids(em, sql`select t.id from things t ${from} where ${where} order by ${orderBy} offset ${page.offset} limit ${page.limit}`);

  // §10.4 window sorts: window-sort.ts.
  // A window sort orders a filter of few matches whole; the search's own total says which, when it is cached.
  const windowPage = (page: Page, windowSort: WindowSort): Promise<number[]> =>
    windowSortPage(em, where, page, windowSort, now, (options.countCacheSize ?? 0) > 0 ? count : undefined);

  const pageIds = (p: Page): Promise<number[]> => {
    switch (sort) {
      case 'relevance':
        if (filters.terms.size === 0) return orderedPage(p, BY_FLATTRS);
        if (relevance) return options.relevanceLevels!.page(em, relevance, p);
        return orderedPage(p, sql`${relevanceScore(filters)} desc, ${BY_FLATTRS}`, LOWER_FIELDS);
      case 'flattrs':
        return orderedPage(p, BY_FLATTRS);
      case 'text_rank':
        return filters.textSearch === null
          ? orderedPage(p, BY_FLATTRS)
          : orderedPage(p, sql`ts_rank_cd(t.search_vector, websearch_to_tsquery('simple', flattr_lower(${filters.textSearch}))) desc, ${BY_FLATTRS}`);
      default:
        return windowPage(p, sort);
    }
  };

  return { count, page: async (p) => loadInOrder(em, await pageIds(p), caller, now) };
}
