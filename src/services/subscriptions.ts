import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { Subscription, Thing, User, periodOf, type SubscriptionEntity, type ThingEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError } from './domain-error.js';
import { existingThing, isUniqueViolation } from './things.js';
import { flattrInTransaction } from './flattring.js';
import { ADVISORY_LOCK, SUBSCRIPTIONS_PER_USER } from './write-bounds.js';
import { subscriptionRecordsOfUser, type SubscriptionRecord } from './read-model/subscriptions.js';

/** Canonical error texts (spec §6.2). */
export const THING_OWNER = 'You are not allowed to subscribe to your own thing';
export const SUBSCRIBED = 'User already subscribed to thing';
export const NO_SUBSCRIPTION = 'No subscription was found';
/** Issue 14: E17 returns every subscription of the user, so their number is bounded (403 forbidden beyond). */
export const TOO_MANY_SUBSCRIPTIONS = `You may have at most ${SUBSCRIPTIONS_PER_USER} subscriptions: unsubscribe from one first`;

export interface SubscribeOutcome {
  subscription: SubscriptionEntity;
  thing: ThingEntity;
}

/**
 * E18: 404 thing, 403 thing_owner, 403 subscribed (active or paused). The new subscription is active with
 * `created_at = started_at = now`; subscribing needs no means and does not flattr (§12.6).
 */
export async function subscribe(em: EntityManager, clock: Clock, viewerId: number, thingId: number): Promise<SubscribeOutcome> {
  let subscriptionId: number;
  try {
    subscriptionId = await em.transactional(async (tx) => {
      const thing = await existingThing(tx, thingId);
      if (thing.owner.id === viewerId) throw new DomainError('thing_owner', THING_OWNER);
      if (await tx.count(Subscription, { user: viewerId, thing: thingId })) throw new DomainError('subscribed', SUBSCRIBED);
      // Counted under a per-user lock, so concurrent subscribes cannot pass the bound together.
      await tx.execute('select pg_advisory_xact_lock(?, ?)', [ADVISORY_LOCK.subscriptionsOfUser, viewerId]);
      if ((await tx.count(Subscription, { user: viewerId })) >= SUBSCRIPTIONS_PER_USER) throw new DomainError('forbidden', TOO_MANY_SUBSCRIPTIONS);
      const now = clock.now();
      const subscription = tx.create(Subscription, {
        user: tx.getReference(User, viewerId),
        thing: tx.getReference(Thing, thingId),
        active: true,
        createdAt: now,
        startedAt: now,
      });
      await tx.flush();
      return subscription.id;
    });
  } catch (error) {
    // A concurrent subscribe of the same pair won; the unique key decides.
    if (isUniqueViolation(error, 'subscriptions_user_thing_unique')) throw new DomainError('subscribed', SUBSCRIBED);
    throw error;
  }
  return {
    subscription: await em.findOneOrFail(Subscription, { id: subscriptionId }, { refresh: true }),
    thing: await em.findOneOrFail(Thing, { id: thingId }, { refresh: true }),
  };
}

/** The caller's subscription to an existing thing, locked for the transaction, or the E19/E20 404s. */
async function existingSubscription(tx: EntityManager, viewerId: number, thingId: number): Promise<SubscriptionEntity> {
  await existingThing(tx, thingId);
  const subscription = await tx.findOne(
    Subscription,
    { user: viewerId, thing: thingId },
    { refresh: true, lockMode: LockMode.PESSIMISTIC_WRITE },
  );
  if (!subscription) throw new DomainError('not_found', NO_SUBSCRIPTION);
  return subscription;
}

/**
 * E19: active → paused; paused → active with `started_at = now` (D43). Resuming never flattrs. The row is
 * locked, so concurrent toggles apply one after the other.
 */
export async function toggleSubscription(em: EntityManager, clock: Clock, viewerId: number, thingId: number): Promise<SubscriptionEntity> {
  const subscriptionId = await em.transactional(async (tx) => {
    const subscription = await existingSubscription(tx, viewerId, thingId);
    if (subscription.active) {
      subscription.active = false;
    } else {
      subscription.active = true;
      subscription.startedAt = clock.now();
    }
    return subscription.id;
  });
  return em.findOneOrFail(Subscription, { id: subscriptionId }, { refresh: true });
}

/** E20: 404 thing, 404 subscription, then the subscription is removed. */
export async function unsubscribe(em: EntityManager, viewerId: number, thingId: number): Promise<void> {
  await em.transactional(async (tx) => {
    tx.remove(await existingSubscription(tx, viewerId, thingId));
  });
}

/** E17 (D59): every subscription of the user, newest first (created_at desc, then thing id desc). Plain records. */
export function subscriptionsOfUser(em: EntityManager, userId: number): Promise<SubscriptionRecord[]> {
  return subscriptionRecordsOfUser(em, userId);
}

/** The first instant of the period (UTC month, §2.2) that `at` falls in. */
export function periodStartOf(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

export interface PeriodRunResult {
  /** `YYYY-MM`. */
  period: string;
  /** Flattrs this run created. */
  flattred: number;
  /** Subscriptions active at the period start that produced no flattr in this run (already flattred, own thing, no means). */
  skipped: number;
}

/**
 * The monthly run (§12.6, D77) for the period of `at`: every subscription active at the period start
 * produces `flattr(user, thing, periodStart)` with source "subscription" through the rules of §12.4;
 * failures are skipped silently. Idempotent: a second run finds every flattr there already (flattr_once)
 * and changes nothing, and concurrent runs are kept apart by the flattrs' unique key.
 *
 * "Active at the period start" means active now and last started at or before the period start: a
 * subscription created or resumed later in the period was not running at its start, and a paused one is
 * skipped (§12.6). Each flattr is its own transaction, so one failure never undoes the others.
 */
export async function runSubscriptionPeriod(em: EntityManager, at: Date): Promise<PeriodRunResult> {
  const start = periodStartOf(at);
  const period = periodOf(start);
  const rows = await em.getConnection().execute<{ user_id: number; thing_id: number; done: boolean }[]>(
    `select s.user_id, s.thing_id,
        exists (select 1 from flattrs f where f.user_id = s.user_id and f.thing_id = s.thing_id and f.period = ?) as done
      from subscriptions s
      where s.active and s.started_at <= ?
      order by s.id`,
    [period, start],
  );
  let flattred = 0;
  for (const row of rows) {
    if (row.done) continue; // flattr_once, without a transaction: the hourly re-run stays cheap
    try {
      await em.fork().transactional(async (tx) => {
        const thing = await existingThing(tx, row.thing_id);
        await flattrInTransaction(tx, row.user_id, thing, start, 'subscription');
      });
      flattred++;
    } catch (error) {
      if (error instanceof DomainError || isUniqueViolation(error, 'flattrs_user_thing_period_unique')) continue;
      throw error;
    }
  }
  return { period, flattred, skipped: rows.length - flattred };
}
