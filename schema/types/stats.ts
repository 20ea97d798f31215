import { builder } from '../builder.js';
import { CategoryRef, LanguageRef, ThingRef, UserRef } from '../refs.js';
import type { GraphQLContext } from '../context.js';
import { badUserInput } from '../errors.js';
import { referenceData } from '../../src/services/reference-data.js';
import {
  StatsInputError,
  breakdown,
  databaseKey,
  flattrSeries,
  newThingsSeries,
  newUsersSeries,
  resolveRange,
  statsCache,
  topCreators,
  topThings,
  totals,
  type BreakdownRow,
  type Bucket,
  type DateRange,
  type StatsInterval,
  type TopCreator,
  type TopThing,
  type Totals,
} from '../../src/services/stats.js';

/**
 * `stats`: the platform in numbers, for internal dashboards. Only tokens with the internal scope `stats` (given by
 * the admin CLI, never by /oauth/authorize) may read it: others get FORBIDDEN with requiredScope "stats" (anonymous
 * callers UNAUTHENTICATED). Computation and indexes: src/services/stats.ts. Answers are cached per process for
 * STATS_CACHE_SECONDS (30 s by default), keyed by the arguments after defaults.
 */

/** The `stats` object itself carries nothing: each field computes its own answer. */
type StatsRoot = Record<string, never>;
const StatsRef = builder.objectRef<StatsRoot>('Stats');
export const StatsTotalsRef = builder.objectRef<Totals>('StatsTotals');
export const StatsBucketRef = builder.objectRef<Bucket>('StatsBucket');
const StatsTopThingRef = builder.objectRef<TopThing>('StatsTopThing');
const StatsTopCreatorRef = builder.objectRef<TopCreator>('StatsTopCreator');
const StatsCategoryRef = builder.objectRef<BreakdownRow>('StatsCategory');
const StatsLanguageRef = builder.objectRef<BreakdownRow>('StatsLanguage');

const StatsIntervalEnum = builder.enumType('StatsInterval', {
  description: 'Bucket size of a time series; days are UTC days, weeks ISO weeks (starting on Monday).',
  values: {
    DAY: { value: 'day', description: 'One bucket per UTC day.' },
    WEEK: { value: 'week', description: 'One bucket per ISO week, starting on Monday.' },
    MONTH: { value: 'month', description: 'One bucket per calendar month.' },
  } satisfies Record<string, { value: StatsInterval; description: string }>,
});

const categoriesById = new Map(referenceData.categories.map((c) => [c.id, c]));
const languagesById = new Map(referenceData.languages.map((l) => [l.id, l]));

function badInput(error: unknown): never {
  if (error instanceof StatsInputError) throw badUserInput(error.message, error.argument);
  throw error;
}

function range(ctx: GraphQLContext, args: { from?: string | null; to?: string | null }): DateRange {
  try {
    return resolveRange(ctx.clock, args.from, args.to);
  } catch (error) {
    return badInput(error);
  }
}

/** The cached answer to `question(args)` (args already resolved, so they are the whole key). */
function cached<T>(ctx: GraphQLContext, question: string, args: unknown, compute: () => Promise<T>): Promise<T> {
  const key = `${databaseKey(ctx.em)}|${question}|${JSON.stringify(args)}`;
  return statsCache.get(key, ctx.config.statsCacheSeconds * 1000, compute, ctx.clock).catch(badInput);
}

const RANGE_HELP =
  'Dates are `YYYY-MM-DD` (UTC), both ends included. `to` defaults to today (server clock), `from` to 29 days before `to`; ' +
  'at most 3660 days.';

builder.objectType(StatsRef, {
  description: 'Platform statistics for internal dashboards (scope `stats`). ' + RANGE_HELP,
  fields: (t) => {
    const rangeArgs = {
      from: t.arg.string({ description: 'First day, YYYY-MM-DD (UTC).' }),
      to: t.arg.string({ description: 'Last day, YYYY-MM-DD (UTC), included.' }),
    };
    const seriesArgs = { ...rangeArgs, interval: t.arg({ type: StatsIntervalEnum, defaultValue: 'day', description: 'The bucket size.' }) };
    const topArgs = { ...rangeArgs, limit: t.arg.int({ defaultValue: 10, description: '1 to 100.' }) };
    return {
      totals: t.field({
        type: StatsTotalsRef,
        description: 'Users, things (hidden ones included), flattrs and active subscriptions, now.',
        resolve: (_root, _args, ctx) => cached(ctx, 'totals', null, () => totals(ctx.em)),
      }),
      flattrs: t.field({
        type: [StatsBucketRef],
        description: 'Flattrs made per day, week or month over the range; empty buckets are 0.',
        args: seriesArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          const interval = args.interval ?? 'day';
          return cached(ctx, 'flattrs', { ...r, interval }, () => flattrSeries(ctx.em, r, interval));
        },
      }),
      newUsers: t.field({
        type: [StatsBucketRef],
        description: 'Users registered per day, week or month over the range.',
        args: seriesArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          const interval = args.interval ?? 'day';
          return cached(ctx, 'newUsers', { ...r, interval }, () => newUsersSeries(ctx.em, r, interval));
        },
      }),
      newThings: t.field({
        type: [StatsBucketRef],
        description: 'Things created per day, week or month over the range (hidden ones included).',
        args: seriesArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          const interval = args.interval ?? 'day';
          return cached(ctx, 'newThings', { ...r, interval }, () => newThingsSeries(ctx.em, r, interval));
        },
      }),
      topThings: t.field({
        type: [StatsTopThingRef],
        description: 'The things flattred most over the range, most first (ties: lower thing id first).',
        args: topArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          const limit = args.limit ?? 10;
          return cached(ctx, 'topThings', { ...r, limit }, () => topThings(ctx.em, r, limit));
        },
      }),
      topCreators: t.field({
        type: [StatsTopCreatorRef],
        description: 'The users whose things were flattred most over the range, most first (ties: lower user id first).',
        args: topArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          const limit = args.limit ?? 10;
          return cached(ctx, 'topCreators', { ...r, limit }, () => topCreators(ctx.em, r, limit));
        },
      }),
      byCategory: t.field({
        type: [StatsCategoryRef],
        description: 'Every category in the served order: things in it, things created and flattrs made over the range.',
        args: rangeArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          return cached(ctx, 'byCategory', r, () => breakdown(ctx.em, r, 'category'));
        },
      }),
      byLanguage: t.field({
        type: [StatsLanguageRef],
        description: 'Every language in the served order: things in it, things created and flattrs made over the range.',
        args: rangeArgs,
        resolve: (_root, args, ctx) => {
          const r = range(ctx, args);
          return cached(ctx, 'byLanguage', r, () => breakdown(ctx.em, r, 'language'));
        },
      }),
    };
  },
});

builder.objectType(StatsTotalsRef, {
  description: 'Counts of the whole platform, now.',
  fields: (t) => ({
    users: t.exposeInt('users', { description: 'Registered users.' }),
    things: t.exposeInt('things', { description: 'Things, hidden ones included.' }),
    flattrs: t.exposeInt('flattrs', { description: 'Flattrs ever made.' }),
    activeSubscriptions: t.exposeInt('activeSubscriptions', { description: 'Subscriptions that are running (not paused).' }),
  }),
});

builder.objectType(StatsBucketRef, {
  description: 'One bucket of a time series.',
  fields: (t) => ({
    start: t.exposeString('start', { description: 'First day of the bucket, YYYY-MM-DD; the first bucket may start before `from`.' }),
    count: t.exposeInt('count', { description: 'What happened within the range on the days of this bucket.' }),
  }),
});

builder.objectType(StatsTopThingRef, {
  description: 'A thing among the most flattred over the range.',
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: 'Position in the list, from 1.' }),
    flattrs: t.exposeInt('flattrs', { description: 'Flattrs on the thing over the range.' }),
    thing: t.field({ type: ThingRef, nullable: true, description: 'Null if the thing was deleted since.', resolve: (row) => row.thingId }),
  }),
});

builder.objectType(StatsTopCreatorRef, {
  description: 'A user among those whose things were flattred most over the range.',
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: 'Position in the list, from 1.' }),
    flattrs: t.exposeInt('flattrs', { description: "Flattrs on the user's things over the range." }),
    things: t.exposeInt('things', { description: 'How many of their things were flattred over the range.' }),
    user: t.field({ type: UserRef, nullable: true, description: 'Null if the user was deleted since.', resolve: (row) => row.userId }),
  }),
});

const breakdownFields = {
  things: 'Things in it now (hidden ones included).',
  newThings: 'Things created in it over the range.',
  flattrs: 'Flattrs on its things over the range.',
} as const;

builder.objectType(StatsCategoryRef, {
  description: 'The numbers of one category over the range.',
  fields: (t) => ({
    category: t.field({ type: CategoryRef, description: 'The category.', resolve: (row) => categoriesById.get(row.id) ?? { id: row.id, text: row.id } }),
    things: t.exposeInt('things', { description: breakdownFields.things }),
    newThings: t.exposeInt('newThings', { description: breakdownFields.newThings }),
    flattrs: t.exposeInt('flattrs', { description: breakdownFields.flattrs }),
  }),
});

builder.objectType(StatsLanguageRef, {
  description: 'The numbers of one language over the range.',
  fields: (t) => ({
    language: t.field({ type: LanguageRef, description: 'The language.', resolve: (row) => languagesById.get(row.id) ?? { id: row.id, text: row.id } }),
    things: t.exposeInt('things', { description: breakdownFields.things }),
    newThings: t.exposeInt('newThings', { description: breakdownFields.newThings }),
    flattrs: t.exposeInt('flattrs', { description: breakdownFields.flattrs }),
  }),
});

builder.queryField('stats', (t) =>
  t.field({
    type: StatsRef,
    nullable: true,
    description: 'Platform statistics for internal dashboards. Needs a token with the internal scope `stats` (admin CLI).',
    authScopes: { scope: 'stats' },
    resolve: () => ({}),
  }),
);
