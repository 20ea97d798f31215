import type { EntityManager } from '@mikro-orm/postgresql';
import type { ThingEntity } from '../entities/index.js';
import { DomainError } from './domain-error.js';
import { isAutoSubmitUrl, parseAutoSubmitUrl, type AutoSubmitRequest } from './auto-submit.js';
import { INVALID_PARAMETERS, OWNER_MISMATCH } from './flattring.js';
import { findThingByUrl } from './things.js';

export interface LookupOptions {
  /** SITE_URL: its authority also marks auto-submit URLs (§11.2). */
  siteUrl?: string;
}

/**
 * Spec E7 / §11.5, given the effective url (after the REST §11.4 reassembly). Returns the thing or null (not
 * found); never creates anything. Hidden things are found too (D47).
 *
 * - An empty url (after trimming) is `invalid_parameters`.
 * - A plain url: the thing whose url equals it exactly (the unique index on `url`).
 * - An auto-submit url (§11.2): parsed (§11.3; a bad inner url is `validation` "Invalid url"), then the thing
 *   whose url equals the inner url; a `user_id` naming someone else than its owner (case-insensitive) is
 *   `validation` "Owner mismatch. Current thing owned by other account.".
 */
export async function lookupThing(em: EntityManager, rawUrl: string, options: LookupOptions = {}): Promise<ThingEntity | null> {
  const url = rawUrl.trim();
  if (url === '') throw new DomainError('invalid_parameters', INVALID_PARAMETERS);
  if (!isAutoSubmitUrl(url, options.siteUrl)) return findThingByUrl(em, url);
  return lookupAutoSubmitThing(em, parseAutoSubmitUrl(url));
}

/**
 * The thing an auto-submit URL names, once parsed (§11.3): the thing whose url equals the inner url, with its owner
 * loaded, or null; a `user_id` naming someone else than its owner (case-insensitive) is `validation` "Owner mismatch.
 * Current thing owned by other account.". Used by `lookupThing` and by the website's `/submit/auto` page.
 */
export async function lookupAutoSubmitThing(em: EntityManager, request: AutoSubmitRequest): Promise<ThingEntity | null> {
  const thing = await findThingByUrl(em, request.url, { withOwner: true });
  if (!thing) return null;
  if (request.userId !== null && request.userId.toLowerCase() !== thing.owner.username.toLowerCase()) {
    throw new DomainError('validation', OWNER_MISMATCH);
  }
  return thing;
}
