import { builder } from '../builder.js';
import { ThingRef } from '../refs.js';
import type { GraphQLContext } from '../context.js';
import { offsetConnection } from '../connections.js';
import { badUserInput, domainGraphQLError } from '../errors.js';
import { offsetArgDescription } from './listings.js';
import { prepareSearch, type PreparedSearch, type SearchCaller, type SearchSort } from '../../src/services/search/search.js';
import { TagExpressionError } from '../../src/services/search/tag-expression.js';
import { relevanceLevelCache } from '../../src/services/search/relevance-levels.js';
import { lookupThing } from '../../src/services/lookup.js';
import { DomainError } from '../../src/services/domain-error.js';

// Search and lookup as query fields; the REST routes (rest-facade/routes/search.ts) run them.

const ThingSearchSort = builder.enumType('ThingSearchSort', {
  description: 'Orders of `searchThings`, all descending, evaluated at the server clock.',
  values: {
    RELEVANCE: {
      value: 'relevance',
      description: 'The sum over query terms of 4 if in the title, 3 if equal to a tag, 2 if in the description, 1 if in the url; then flattrs, id.',
    },
    TREND: { value: 'trend', description: 'Flattrs of the last 7 days weighted linearly by recency; then flattrs in the last 7 days, flattrs, id.' },
    FLATTRS: { value: 'flattrs', description: 'All-time flattrs; then id.' },
    FLATTRS_MONTH: { value: 'flattrs_month', description: 'Flattrs in the last 30 days; then flattrs, id.' },
    FLATTRS_WEEK: { value: 'flattrs_week', description: 'Flattrs in the last 7 days; then flattrs, id.' },
    FLATTRS_DAY: { value: 'flattrs_day', description: 'Flattrs in the last 24 hours; then flattrs, id.' },
    TEXT_RANK: {
      value: 'text_rank',
      description:
        'GraphQL only (not a REST sort): full-text rank (ts_rank_cd) of `textSearch` over title (weight A), tags (B), ' +
        'description (C) and url (D); then flattrs, id. Without `textSearch`, the FLATTRS order.',
    },
  } satisfies Record<string, { value: SearchSort; description: string }>,
});

/** A service error as a coded GraphQL error (`reason` keeps the domain code the REST facade answers). */
function toGraphQLError(error: unknown, argument: string | null): unknown {
  if (error instanceof TagExpressionError) {
    return badUserInput(error.message, 'tags', { reason: 'INVALID_PARAMETERS', position: error.position, found: error.found, detail: error.detail });
  }
  if (error instanceof DomainError) return domainGraphQLError(error, argument);
  return error;
}

function caller(ctx: GraphQLContext): SearchCaller | null {
  return ctx.viewer ? { userId: ctx.viewer.user.id, extendedRead: ctx.viewer.scopes.has('extendedread') } : null;
}

builder.queryFields((t) => ({
  searchThings: t.connection(
    {
      type: ThingRef,
      description:
        'Things that are not hidden (plus, with scope extendedread, your own hidden ones) matching every filter ' +
        'given. Empty filters filter nothing; an unknown user, language or category matches nothing. A malformed ' +
        '`tags` expression fails with code BAD_USER_INPUT and extensions `argument` ("tags"), `position` (1-based), ' +
        '`found` and `detail`. The order is computed, so cursors hold positions: a page read after a cursor shifts ' +
        'when matching things are added or removed ahead of it between the two reads.',
      args: {
        query: t.arg.string({ description: 'Terms separated by whitespace; each must occur, case-insensitively, in the title, description, url or a tag.' }),
        url: t.arg.string({ description: 'Case-sensitive prefix of the thing url (trimmed).' }),
        tags: t.arg.string({ description: 'Tag expression: `|` or `,` (OR), `&` or juxtaposition (AND), `!` (NOT), parentheses; NOT binds tightest, then OR, then AND.' }),
        languages: t.arg.stringList({ description: 'Language ids; things in any of them.' }),
        categories: t.arg.stringList({ description: 'Category ids; things in any of them.' }),
        user: t.arg.string({ description: 'Owner username, case-insensitive.' }),
        textSearch: t.arg.string({ description: 'GraphQL only: full-text filter (web search syntax, no stemming) over title, tags, description and url.' }),
        sort: t.arg({ type: ThingSearchSort, defaultValue: 'relevance', description: 'The order of the results.' }),
        offset: t.arg.int({ description: offsetArgDescription }),
      },
      resolve: async (_root, args, ctx) => {
        let search: PreparedSearch;
        try {
          search = prepareSearch(
            ctx.em,
            {
              query: args.query,
              url: args.url,
              tags: args.tags,
              languages: args.languages,
              categories: args.categories,
              user: args.user,
              textSearch: args.textSearch,
              sort: args.sort ?? 'relevance',
            },
            caller(ctx),
            ctx.clock.now(),
            { countCacheSize: ctx.config.searchCountCacheSize, relevanceLevels: relevanceLevelCache(ctx.config.searchRelevanceCacheIds) },
          );
        } catch (error) {
          throw toGraphQLError(error, 'query');
        }
        return offsetConnection(args, ctx, { load: (page) => search.page(page), count: () => search.count() });
      },
    },
    { name: 'ThingSearchConnection' },
  ),
  lookupThing: t.field({
    type: ThingRef,
    nullable: true,
    description:
      'The thing whose url is exactly `url`, or for an auto-submit URL the thing of its inner url (a `user_id` naming ' +
      'another owner fails with code BAD_USER_INPUT, reason VALIDATION). Null when there is none; hidden things are ' +
      'found too. Nothing is ever created.',
    args: { url: t.arg.string({ required: true, description: 'A thing url, or an auto-submit URL.' }) },
    resolve: async (_root, { url }, ctx) => {
      try {
        return await lookupThing(ctx.em, url, { siteUrl: ctx.config.siteUrl });
      } catch (error) {
        throw toGraphQLError(error, 'url');
      }
    },
  }),
}));
