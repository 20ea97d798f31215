import type { EntityManager } from '@mikro-orm/postgresql';
import { Category, Language, Thing, User, type ThingEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError, NOT_FOUND_THINGS } from './domain-error.js';
import { isAutoSubmitUrl } from './auto-submit.js';
import {
  couldBeThingUrl,
  normaliseCategory,
  normaliseDescription,
  normaliseLanguage,
  normaliseTags,
  normaliseTitle,
  normaliseUrl,
} from './thing-rules.js';

/** The thing type the services hand out (website code names it from here, not from src/entities). */
export type { ThingEntity } from '../entities/index.js';

export interface NewThing {
  url?: string;
  title?: string;
  description?: string;
  category?: string;
  language?: string;
  tags?: string | string[];
  hidden?: boolean;
  image?: string;
}

/** E9: every field optional; absent fields are left alone. `url` is not part of it (D53). */
export interface ThingPatch {
  title?: string;
  description?: string;
  category?: string;
  language?: string;
  /** Replaces the whole list; `[]` or `""` clears it. */
  tags?: string | string[];
  hidden?: boolean;
}

export interface ThingRuleOptions {
  /**
   * SITE_URL, so that auto-submit URLs on this site's own authority are refused as thing urls (§11.2,
   * §12.2). Without it only flattr.com and www.flattr.com auto-submit URLs are recognised.
   */
  siteUrl?: string;
}

export const FORBIDDEN_UPDATE = 'You are not allowed to update the thing';
export const FORBIDDEN_DELETE = 'You are not allowed to delete the thing';
export const URL_TAKEN = 'A thing with that url already exists';

/** A fully validated new thing, ready to insert. */
export interface ThingFields {
  url: string;
  title: string;
  description: string;
  category: string;
  language: string;
  tags: string[];
  hidden: boolean;
  image: string;
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string } | null;
  if (!e || e.code !== '23505') return false;
  return e.constraint === undefined ? String(error).includes(constraint) : e.constraint === constraint;
}

/** E8 checks in the table order of E8 (url, title, description, category, language); the first failure throws. */
async function validateNewThing(em: EntityManager, input: NewThing, options: ThingRuleOptions): Promise<ThingFields> {
  const url = normaliseUrl(input.url, (parsed) => isAutoSubmitUrl(parsed, options.siteUrl));
  if (await em.count(Thing, { url })) throw new DomainError('validation', URL_TAKEN, 'url');
  const title = normaliseTitle(input.title, url);
  const description = normaliseDescription(input.description);
  const category = normaliseCategory(input.category);
  const language = normaliseLanguage(input.language);
  return { url, title, description, category, language, tags: normaliseTags(input.tags), hidden: input.hidden ?? false, image: input.image ?? '' };
}

/**
 * Inserts an already validated thing with `created_at = now`. A concurrent insert of the same url fails on
 * `things_url_unique` (the caller decides what that means).
 */
export async function insertThing(em: EntityManager, clock: Clock, ownerId: number, fields: ThingFields): Promise<ThingEntity> {
  const thing = em.create(Thing, {
    owner: em.getReference(User, ownerId),
    url: fields.url,
    title: fields.title,
    description: fields.description,
    category: em.getReference(Category, fields.category),
    language: em.getReference(Language, fields.language),
    tags: fields.tags,
    hidden: fields.hidden,
    image: fields.image,
    createdAt: clock.now(),
  });
  await em.flush();
  return thing;
}

/** Spec E8 / §12.2: checks run in the table order of E8 and the first failure is reported. */
export async function createThing(
  em: EntityManager,
  clock: Clock,
  ownerId: number,
  input: NewThing,
  options: ThingRuleOptions = {},
): Promise<ThingEntity> {
  try {
    return await em.transactional(async (tx) => insertThing(tx, clock, ownerId, await validateNewThing(tx, input, options)));
  } catch (error) {
    // Two creations of the same url raced past the check above; the unique constraint decides.
    if (isUniqueViolation(error, 'things_url_unique')) throw new DomainError('validation', URL_TAKEN, 'url');
    throw error;
  }
}

/** The thing, read from the database (not the identity map), or `404 not_found`. */
export async function existingThing(em: EntityManager, thingId: number): Promise<ThingEntity> {
  const thing = await em.findOne(Thing, { id: thingId }, { refresh: true });
  if (!thing) throw new DomainError('not_found', NOT_FOUND_THINGS);
  return thing;
}

/** The thing with this id and its owner loaded (the website's thing page), or null. Hidden things are found too. */
/**
 * The thing registered under exactly `url`, or null. A url no thing could hold is answered without a query:
 * MikroORM 6 runs `Object.keys` over a plain string criterion, one key per character, so a flattr of a 700 KB
 * form-reassembled url blocked the event loop for half a second before PostgreSQL was even asked.
 */
export async function findThingByUrl(em: EntityManager, url: string, options: { refresh?: boolean; withOwner?: boolean } = {}): Promise<ThingEntity | null> {
  if (!couldBeThingUrl(url)) return null;
  return em.findOne(Thing, { url }, { refresh: options.refresh, populate: options.withOwner ? ['owner'] : [] });
}

export function findThingWithOwner(em: EntityManager, thingId: number): Promise<ThingEntity | null> {
  return em.findOne(Thing, { id: thingId }, { populate: ['owner'] });
}

/** E9 validation, in E8 table order, over the present fields only. Returns the changes to apply. */
function validatePatch(thing: ThingEntity, patch: ThingPatch): Partial<ThingFields> {
  const changes: Partial<ThingFields> = {};
  if (patch.title !== undefined) changes.title = normaliseTitle(patch.title, thing.url);
  if (patch.description !== undefined) changes.description = normaliseDescription(patch.description);
  if (patch.category !== undefined) changes.category = normaliseCategory(patch.category);
  if (patch.language !== undefined) changes.language = normaliseLanguage(patch.language);
  if (patch.tags !== undefined) changes.tags = normaliseTags(patch.tags);
  if (patch.hidden !== undefined) changes.hidden = patch.hidden;
  return changes;
}

/**
 * Spec E9: 404, then 403 forbidden for anyone but the owner, then validation (E8 table order). Only
 * present fields change; `updated_at` is set to now on every success (D54). The url never changes (D53).
 */
export async function updateThing(em: EntityManager, clock: Clock, viewerId: number, thingId: number, patch: ThingPatch): Promise<ThingEntity> {
  await em.transactional(async (tx) => {
    const thing = await existingThing(tx, thingId);
    if (thing.owner.id !== viewerId) throw new DomainError('forbidden', FORBIDDEN_UPDATE);
    const changes = validatePatch(thing, patch);
    if (changes.title !== undefined) thing.title = changes.title;
    if (changes.description !== undefined) thing.description = changes.description;
    if (changes.category !== undefined) thing.category = tx.getReference(Category, changes.category);
    if (changes.language !== undefined) thing.language = tx.getReference(Language, changes.language);
    if (changes.tags !== undefined) thing.tags = changes.tags;
    if (changes.hidden !== undefined) thing.hidden = changes.hidden;
    thing.updatedAt = clock.now();
  });
  return em.findOneOrFail(Thing, { id: thingId }, { refresh: true });
}

/**
 * Spec E10: 404, then 403 forbidden for anyone but the owner. The database cascades the delete to the
 * thing's flattrs and subscriptions (D74); the url becomes free again.
 */
export async function deleteThing(em: EntityManager, viewerId: number, thingId: number): Promise<void> {
  await em.transactional(async (tx) => {
    const thing = await existingThing(tx, thingId);
    if (thing.owner.id !== viewerId) throw new DomainError('forbidden', FORBIDDEN_DELETE);
    tx.remove(thing);
  });
}

/**
 * The first DomainError that createThing (`thingId` null) or updateThing (`thingId` given) would raise for
 * this input, in the spec's order (404, 403, then validation in E8 table order), or null when every
 * check passes. Nothing is written.
 */
export async function thingInputProblem(
  em: EntityManager,
  viewerId: number,
  thingId: number | null,
  input: NewThing,
  options: ThingRuleOptions = {},
): Promise<DomainError | null> {
  try {
    if (thingId === null) {
      await validateNewThing(em, input, options);
    } else {
      const thing = await existingThing(em, thingId);
      if (thing.owner.id !== viewerId) throw new DomainError('forbidden', FORBIDDEN_UPDATE);
      validatePatch(thing, input);
    }
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}
