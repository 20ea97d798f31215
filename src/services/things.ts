import type { EntityManager } from '@mikro-orm/postgresql';
import { Category, Language, Thing, User, type ThingEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError } from './domain-error.js';
import {
  normaliseCategory,
  normaliseDescription,
  normaliseLanguage,
  normaliseTags,
  normaliseTitle,
  normaliseUrl,
} from './thing-rules.js';

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

/** Spec E8 / §12.2: checks run in the table order of E8 and the first failure is reported. */
export async function createThing(em: EntityManager, clock: Clock, ownerId: number, input: NewThing): Promise<ThingEntity> {
  const url = normaliseUrl(input.url);
  if (await em.count(Thing, { url })) throw new DomainError('validation', 'A thing with that url already exists');
  const title = normaliseTitle(input.title, url);
  const description = normaliseDescription(input.description);
  const category = normaliseCategory(input.category);
  const language = normaliseLanguage(input.language);
  const thing = em.create(Thing, {
    owner: em.getReference(User, ownerId),
    url,
    title,
    description,
    category: em.getReference(Category, category),
    language: em.getReference(Language, language),
    tags: normaliseTags(input.tags),
    hidden: input.hidden ?? false,
    image: input.image ?? '',
    createdAt: clock.now(),
  });
  try {
    await em.flush();
  } catch (error) {
    // Two creations of the same url raced past the check above; the unique constraint decides.
    if ((error as { code?: string }).code === '23505' || /things_url_unique/.test(String(error))) {
      throw new DomainError('validation', 'A thing with that url already exists');
    }
    throw error;
  }
  return thing;
}
