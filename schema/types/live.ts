import { contextCacheSymbol } from '@pothos/core';
import { builder } from '../builder.js';
import { FlattrRef, ThingRef } from '../refs.js';
import { StatsBucketRef, StatsTotalsRef } from './stats.js';
import type { GraphQLContext } from '../context.js';
import { badUserInput, codedError } from '../errors.js';
import { databaseIdOf, encodeGlobalId } from '../global-id.js';
import { findThingsWithOwners } from '../loaders.js';
import type { FlattrEntity, ThingEntity, UserEntity } from '../../src/entities/index.js';
import { LiveLimitError, type LiveHandler } from '../../src/services/live/hub.js';
import { LiveEnd, type LiveStream } from '../../src/services/live/stream.js';
import { flattrSeries, resolveRange, totals, type Bucket, type Totals } from '../../src/services/stats.js';

/**
 * The Subscription root (issue 20): live events of committed writes, served over Server-Sent Events at /graphql
 * (src/server/live.ts). Each event is executed like a query with the subscriber's own viewer, on a fresh entity
 * manager and fresh loaders, so it carries current data and the same object types (and visibility rules) as queries.
 * Who may receive an event is decided per event (a hidden thing only for its owner; a flattr of a user who hides
 * their flattrs only for that user); scopes are checked when the subscription starts and again on every event.
 */

interface FlattrCreatedPayload {
  flattr: FlattrEntity;
  thing: ThingEntity;
}

type ThingChange = 'updated' | 'deleted';
interface ThingChangedPayload {
  change: ThingChange;
  thingId: number;
  thing: ThingEntity | null;
}

interface StatsTotalsPayload {
  totals: Totals;
  flattrsToday: Bucket;
  at: Date;
}

export const MAX_STATS_INTERVAL_SECONDS = 3_600;
export const DEFAULT_STATS_INTERVAL_SECONDS = 10;

const FlattrCreatedEventRef = builder.objectRef<FlattrCreatedPayload>('FlattrCreatedEvent');
const ThingChangedEventRef = builder.objectRef<ThingChangedPayload>('ThingChangedEvent');
const StatsTotalsEventRef = builder.objectRef<StatsTotalsPayload>('StatsTotalsEvent');

const ThingChangeEnum = builder.enumType('ThingChange', {
  description: 'What happened to a thing.',
  values: {
    UPDATED: { value: 'updated', description: 'A field changed: an edit by its owner, or its counters after a flattr.' },
    DELETED: { value: 'deleted', description: 'The thing was deleted; the subscription completes after this event.' },
  } satisfies Record<string, { value: ThingChange; description: string }>,
});

builder.objectType(FlattrCreatedEventRef, {
  description: 'A new flattr, committed.',
  fields: (t) => ({
    flattr: t.field({ type: FlattrRef, description: 'The new flattr.', resolve: (event) => event.flattr }),
    thing: t.field({
      type: ThingRef,
      description: 'The flattred thing, read after the flattr was committed: its counters include the new flattr.',
      resolve: (event) => event.thing,
    }),
  }),
});

builder.objectType(ThingChangedEventRef, {
  description: 'A committed change of a thing.',
  fields: (t) => ({
    change: t.field({ type: ThingChangeEnum, description: 'Updated or deleted.', resolve: (event) => event.change }),
    thingId: t.id({ description: 'The global id of the thing (still given once it is deleted).', resolve: (event) => encodeGlobalId('Thing', event.thingId) }),
    thing: t.field({
      type: ThingRef,
      nullable: true,
      description: 'The thing as committed; null when it was deleted.',
      resolve: (event) => event.thing,
    }),
  }),
});

builder.objectType(StatsTotalsEventRef, {
  description: 'The `stats` totals and today’s flattrs, computed when a write changed them.',
  fields: (t) => ({
    totals: t.field({ type: StatsTotalsRef, description: 'The same totals as `stats { totals }`, but never cached.', resolve: (event) => event.totals }),
    flattrsToday: t.field({
      type: StatsBucketRef,
      description: 'Today’s bucket (UTC) of `stats { flattrs(interval: DAY) }`, never cached.',
      resolve: (event) => event.flattrsToday,
    }),
    at: t.field({ type: 'DateTime', description: 'When these numbers were computed.', resolve: (event) => event.at }),
  }),
});

builder.subscriptionType({
  description:
    'Live events of committed writes, over Server-Sent Events: POST (or GET) /graphql with `Accept: text/event-stream` ' +
    '(graphql-sse "distinct connections" mode). Streams end with a final coded event (SLOW_CONSUMER, TOKEN_REVOKED, ' +
    'SERVER_SHUTTING_DOWN, RATE_LIMITED); opening one beyond the caps is SUBSCRIPTION_LIMIT. See docs/live.md.',
});

/**
 * The start of each event's execution: a fresh entity manager and fresh loader and scope caches (Pothos keys them
 * on the context's cache symbol), so the event's fields read current rows and authorization is checked anew.
 * A final LiveEnd becomes the stream's last event, a coded error.
 */
function eventPayload<T>(payload: T | LiveEnd, ctx: GraphQLContext): T {
  if (payload instanceof LiveEnd) throw codedError(payload.code, payload.message);
  (ctx as unknown as Record<symbol, unknown>)[contextCacheSymbol] = {};
  ctx.em = ctx.em.fork();
  return payload;
}

async function openLive<T>(ctx: GraphQLContext, kind: string, handle: LiveHandler<T>): Promise<LiveStream<T>> {
  const live = ctx.live;
  if (!live) throw codedError('BAD_REQUEST', 'Subscriptions are served by /graphql over Server-Sent Events (Accept: text/event-stream).');
  try {
    return await live.hub.openStream(kind, live.owner, handle, live.charge);
  } catch (error) {
    if (error instanceof LiveLimitError) throw codedError('SUBSCRIPTION_LIMIT', error.message, { limit: error.limit, max: error.max });
    throw error;
  }
}

/** The numeric key of a global id of `typename`, or BAD_USER_INPUT naming the argument. */
const idOf = (value: string | number, typename: 'Thing' | 'User', argument: string): number => databaseIdOf(String(value), typename, argument);

function seesThing(ctx: GraphQLContext, hidden: boolean, ownerId: number): boolean {
  return !hidden || ctx.viewer?.user.id === ownerId;
}

builder.subscriptionFields((t) => ({
  flattrCreated: t.field({
    type: FlattrCreatedEventRef,
    description:
      'Each new flattr, once committed, with the thing’s updated counters: of one thing (`thingId`), of the things of ' +
      'one user (`ownerId`), or all. Flattrs of hidden things reach only their owner; flattrs of a user who hides their ' +
      'flattrs reach only that user (a live count of such flattrs comes with `thingChanged`).',
    args: {
      thingId: t.arg.id({ description: 'Only flattrs of this thing (a Thing global id).' }),
      ownerId: t.arg.id({ description: 'Only flattrs of the things of this user (a User global id).' }),
    },
    subscribe: (_root, args, ctx) => {
      const thingId = args.thingId == null ? null : idOf(args.thingId, 'Thing', 'thingId');
      const ownerId = args.ownerId == null ? null : idOf(args.ownerId, 'User', 'ownerId');
      return openLive<FlattrCreatedPayload>(ctx, 'flattrCreated', (event) => {
        if (event.kind !== 'flattr') return null;
        const { flattr, thing } = event;
        if (thingId !== null && thing.id !== thingId) return null;
        if (ownerId !== null && thing.owner.id !== ownerId) return null;
        if (!seesThing(ctx, thing.hidden, thing.owner.id)) return null;
        const flattrer = flattr.user as UserEntity;
        if (flattrer.hideFlattrs && ctx.viewer?.user.id !== flattrer.id) return null;
        return { flattr, thing };
      });
    },
    resolve: (payload, _args, ctx) => eventPayload(payload, ctx),
  }),
  thingChanged: t.field({
    type: ThingChangedEventRef,
    description:
      'Updates (edits, and the counters after each flattr) and the deletion of one thing, once committed. A hidden ' +
      'thing can be followed only by its owner (others get NOT_FOUND, as from `node`), and while it is hidden its ' +
      'events reach only its owner.',
    args: { id: t.arg.id({ required: true, description: 'The global id of the thing.' }) },
    subscribe: async (_root, args, ctx) => {
      const thingId = idOf(args.id, 'Thing', 'id');
      const [thing] = await findThingsWithOwners(ctx, [thingId]);
      if (!thing || !seesThing(ctx, thing.hidden, thing.owner.id)) throw codedError('NOT_FOUND', 'No thing was found', { argument: 'id' });
      const stream: LiveStream<ThingChangedPayload> = await openLive<ThingChangedPayload>(ctx, 'thingChanged', (event) => {
        if (event.kind !== 'thing' || event.thingId !== thingId || event.op === 'insert') return null;
        if (!seesThing(ctx, event.hidden, event.ownerId)) return null;
        if (event.op === 'delete') {
          // Completes once this last event is queued.
          setImmediate(() => stream.end());
          return { change: 'deleted', thingId, thing: null };
        }
        return { change: 'updated', thingId, thing: event.thing };
      });
      return stream;
    },
    resolve: (payload, _args, ctx) => eventPayload(payload, ctx),
  }),
  statsTotals: t.field({
    type: StatsTotalsEventRef,
    description:
      'The `stats` totals and today’s flattrs (scope `stats`), whenever a committed write changed them (not when the ' +
      `subscription starts: a client reads the current numbers with a query), at most once every \`everySeconds\` (1 to ${MAX_STATS_INTERVAL_SECONDS}, default ` +
      `${DEFAULT_STATS_INTERVAL_SECONDS}).`,
    authScopes: { scope: 'stats' },
    args: {
      everySeconds: t.arg.int({
        defaultValue: DEFAULT_STATS_INTERVAL_SECONDS,
        description: `At most one event per this many seconds, 1 to ${MAX_STATS_INTERVAL_SECONDS}.`,
      }),
    },
    subscribe: async (_root, args, ctx) => {
      const every = args.everySeconds ?? DEFAULT_STATS_INTERVAL_SECONDS;
      if (!Number.isInteger(every) || every < 1 || every > MAX_STATS_INTERVAL_SECONDS) {
        throw badUserInput(`everySeconds must be between 1 and ${MAX_STATS_INTERVAL_SECONDS}`, 'everySeconds');
      }
      const stream = await openLive<StatsTotalsPayload>(ctx, 'statsTotals', () => null);
      const hub = ctx.live!.hub;
      const root = ctx.em.fork();
      // Computed at most once a second per process, whatever the number of subscribers.
      const compute = () => {
        const today = ctx.clock.now().toISOString().slice(0, 10);
        return hub.sharedValue(`statsTotals:${today}`, 1_000, async () => {
          const em = root.fork();
          const [all, series] = await Promise.all([totals(em), flattrSeries(em, resolveRange(ctx.clock, today, today), 'day')]);
          return { totals: all, flattrsToday: series[0] ?? { start: today, count: 0 }, at: ctx.clock.now() };
        });
      };
      const keyOf = (value: StatsTotalsPayload) => JSON.stringify([value.totals, value.flattrsToday]);
      // The numbers now are the baseline (a client has them from its query): only a change is pushed.
      let seenVersion = hub.statsVersion;
      let sent = keyOf(await compute());
      let busy = false;
      const tick = async () => {
        if (busy || !stream.isOpen || hub.statsVersion === seenVersion) return;
        busy = true;
        try {
          seenVersion = hub.statsVersion;
          const value = await compute();
          const key = keyOf(value);
          if (key !== sent && stream.isOpen) {
            sent = key;
            stream.push(value);
          }
        } catch {
          seenVersion = -1; // tried again at the next tick
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), every * 1000);
      timer.unref();
      stream.onClose(() => clearInterval(timer));
      return stream;
    },
    resolve: (payload, _args, ctx) => eventPayload(payload, ctx),
  }),
}));
