import type { EntityManager } from '@mikro-orm/postgresql';
import { Flattr, Thing, User, periodOf, type FlattrEntity, type ThingEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError, INVALID_PARAMETERS, NOT_FOUND_THINGS, NOT_FOUND_USER } from './domain-error.js';
import { isAutoSubmitUrl, parseAutoSubmitUrl } from './auto-submit.js';
import { existingThing, findThingByUrl, insertThing, isUniqueViolation } from './things.js';
import { primaryRows, type ReadStatement } from './read-model/statement.js';
import { thingsWithOwners, type ThingRecord } from './read-model/rows.js';
import type { FlattrRecord, FlattrSource } from './read-model/flattrs.js';
import { isAbsoluteHttpUrl } from './thing-rules.js';
import { findUserByUsername } from './users.js';

/** Canonical error texts (spec §6.2, §11.6). */
export const FLATTR_OWNER = 'You are not allowed to flattr your own thing';
export const FLATTR_ONCE = 'You are not allowed to flattr this thing more than once this period';
export const NO_MEANS = "You don't have any money to flattr with";
export const NO_THING_FOUND = 'No thing was found';
export const OWNER_MISMATCH = 'Owner mismatch. Current thing owned by other account.';
export const UNSUPPORTED_OWNER = 'Unsupported owner identifier';
export { INVALID_PARAMETERS };

export type { FlattrRecord, FlattrSource } from './read-model/flattrs.js';

export interface FlattrOutcome {
  flattr: FlattrRecord;
  /** The flattred thing, read back after the commit: its counters include the new flattr. */
  thing: ThingRecord;
}

/** Checks 1 and 3 of §12.4 that do not need the thing to exist yet (D72 runs them before creating it). */
async function assertMeans(em: EntityManager, userId: number): Promise<void> {
  const user = await em.findOne(User, { id: userId }, { refresh: true });
  // D73: a user has means when balance > 0.
  if (!user || user.balanceCents <= 0) throw new DomainError('no_means', NO_MEANS);
}

/**
 * Spec §12.4 inside the caller's transaction: flattr_owner, flattr_once (the period of `at`), no_means,
 * then the insert. The counters on the thing are the database trigger's job. A concurrent duplicate
 * fails on `flattrs_user_thing_period_unique`, which the callers turn into flattr_once.
 */
export async function flattrInTransaction(
  tx: EntityManager,
  userId: number,
  thing: ThingEntity,
  at: Date,
  source: FlattrSource,
): Promise<number> {
  if (thing.owner.id === userId) throw new DomainError('flattr_owner', FLATTR_OWNER);
  if (await tx.count(Flattr, { user: userId, thing: thing.id, period: periodOf(at) })) throw new DomainError('flattr_once', FLATTR_ONCE);
  await assertMeans(tx, userId);
  const flattr = tx.create(Flattr, {
    user: tx.getReference(User, userId),
    thing: tx.getReference(Thing, thing.id),
    createdAt: at,
    period: periodOf(at), // the trigger derives it from created_at anyway
    source,
  });
  await tx.flush();
  return flattr.id;
}

/** Runs one write attempt; the unique key of flattrs turns a lost race into flattr_once. */
async function withFlattrOnce<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'flattrs_user_thing_period_unique')) throw new DomainError('flattr_once', FLATTR_ONCE);
    throw error;
  }
}

/** The flattr and its thing, read from the database after the commit (the counters are the trigger's). */
async function readBack(em: EntityManager, flattrId: number, thingId: number): Promise<FlattrOutcome> {
  const thing = await em.findOneOrFail(Thing, { id: thingId }, { refresh: true });
  const flattr = await em.findOneOrFail(Flattr, { id: flattrId }, { refresh: true });
  return { flattr, thing };
}

/**
 * E15's checks in their order (404 thing, flattr_owner, flattr_once, no_means) from one statement on the primary.
 * They need no transaction with the insert: a transaction would take no lock either, and the unique key of flattrs
 * still turns a concurrent duplicate into flattr_once.
 */
const FLATTR_CHECKS: ReadStatement = {
  name: 'flattr_checks',
  text:
    'select t.owner_id, exists (select 1 from flattrs f where f.user_id = $2 and f.thing_id = t.id and f.period = $3) as flattred, ' +
    '(select u.balance_cents from users u where u.id = $2) as balance_cents from things t where t.id = $1',
};

/** The flattr row; its triggers keep the thing's counters, the day counts and the search windows (one transaction). */
const FLATTR_INSERT: ReadStatement = {
  name: 'flattr_insert',
  text: 'insert into flattrs (user_id, thing_id, created_at, period, source) values ($1, $2, $3, $4, $5) returning id',
};

/**
 * E15: 404 thing, then §12.4 with `created_at = now`: two prepared statements (the checks, then the insert, which
 * commits with its triggers), then the thing read back with its new counters. No entity, no unit of work: the write
 * path of the busiest write (issue 18 item 5).
 */
export async function flattrThing(
  em: EntityManager,
  clock: Clock,
  viewerId: number,
  thingId: number,
  source: FlattrSource = 'click',
): Promise<FlattrOutcome> {
  const createdAt = clock.now();
  const period = periodOf(createdAt);
  const [check] = await primaryRows<{ owner_id: number; flattred: boolean; balance_cents: number | null }>(em, FLATTR_CHECKS, [thingId, viewerId, period]);
  if (!check) throw new DomainError('not_found', NOT_FOUND_THINGS);
  if (check.owner_id === viewerId) throw new DomainError('flattr_owner', FLATTR_OWNER);
  if (check.flattred) throw new DomainError('flattr_once', FLATTR_ONCE);
  // D73: a user has means when balance > 0.
  if (check.balance_cents === null || check.balance_cents <= 0) throw new DomainError('no_means', NO_MEANS);
  const [inserted] = await withFlattrOnce(() => primaryRows<{ id: number }>(em, FLATTR_INSERT, [viewerId, thingId, createdAt.toISOString(), period, source]));
  const [thing] = await thingsWithOwners(em, [thingId], null, true);
  if (!inserted || !thing) throw new DomainError('not_found', NOT_FOUND_THINGS); // deleted meanwhile
  return { flattr: { id: inserted.id, user: { id: viewerId }, thing: { id: thingId }, createdAt, period, source }, thing };
}

export interface FlattrUrlOptions {
  /** SITE_URL: its authority also marks auto-submit URLs (§11.2). */
  siteUrl?: string;
}

/** One attempt of §11.6 in one transaction; returns the flattr and thing ids. */
async function flattrUrlAttempt(tx: EntityManager, clock: Clock, viewerId: number, url: string, options: FlattrUrlOptions): Promise<[number, number]> {
  const now = clock.now();
  // Step 2: a plain URL names a registered thing, exactly.
  if (!isAutoSubmitUrl(url, options.siteUrl)) {
    const thing = await findThingByUrl(tx, url, { refresh: true });
    if (!thing) throw new DomainError('not_found', NO_THING_FOUND);
    return [await flattrInTransaction(tx, viewerId, thing, now, 'click'), thing.id];
  }
  // Step 3: an auto-submit URL.
  const request = parseAutoSubmitUrl(url);
  // A thing's url is never an auto-submit URL (§12.2), so such an inner url is a bad inner url.
  if (isAutoSubmitUrl(request.url, options.siteUrl)) throw new DomainError('validation', 'Invalid url');
  if (request.owner !== null && request.userId === null) throw new DomainError('validation', UNSUPPORTED_OWNER);
  const found = await findThingByUrl(tx, request.url, { refresh: true, withOwner: true });
  if (found) {
    if (request.userId !== null && request.userId.toLowerCase() !== found.owner.username.toLowerCase()) {
      throw new DomainError('validation', OWNER_MISMATCH);
    }
    return [await flattrInTransaction(tx, viewerId, found, now, 'click'), found.id];
  }
  if (request.userId === null) throw new DomainError('not_found', NO_THING_FOUND);
  const owner = await findUserByUsername(tx, request.userId);
  if (!owner) throw new DomainError('not_found', NOT_FOUND_USER);
  // Step 4 (D72): the checks of §12.4 against the would-be thing first, so a failure creates nothing;
  // flattr_once cannot happen for a new thing.
  if (owner.id === viewerId) throw new DomainError('flattr_owner', FLATTR_OWNER);
  await assertMeans(tx, viewerId);
  const thing = await insertThing(tx, clock, owner.id, {
    url: request.url,
    title: request.title,
    description: request.description,
    category: request.category,
    language: request.language,
    tags: request.tags,
    hidden: request.hidden,
    image: '',
  });
  return [await flattrInTransaction(tx, viewerId, thing, now, 'click'), thing.id];
}

/** How often a lost race on a new auto-submit thing's url is retried (the retry finds the thing). */
const URL_RACE_ATTEMPTS = 3;

/**
 * E16, spec §11.6, given the effective url (the REST layer has done the §11.4 reassembly). Each attempt
 * is one transaction: creating a thing from an auto-submit URL and flattring it commit together or not at
 * all (D72). When another request created the same new thing concurrently, the unique url makes this
 * attempt fail and the next one flattrs the thing the other request created.
 */
export async function flattrUrl(
  em: EntityManager,
  clock: Clock,
  viewerId: number,
  url: string,
  options: FlattrUrlOptions = {},
): Promise<FlattrOutcome> {
  // Step 1 (no length limit here: an auto-submit URL with long metadata may exceed 2048 characters).
  const effective = url.trim();
  if (!isAbsoluteHttpUrl(effective, Number.POSITIVE_INFINITY)) throw new DomainError('invalid_parameters', INVALID_PARAMETERS);
  for (let attempt = 1; ; attempt++) {
    try {
      const [flattrId, thingId] = await withFlattrOnce(() => em.transactional((tx) => flattrUrlAttempt(tx, clock, viewerId, effective, options)));
      return await readBack(em, flattrId, thingId);
    } catch (error) {
      if (attempt < URL_RACE_ATTEMPTS && isUniqueViolation(error, 'things_url_unique')) continue;
      throw error;
    }
  }
}
