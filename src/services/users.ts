import { raw, type EntityManager } from '@mikro-orm/postgresql';
import { User, type UserEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError, NOT_FOUND_USER } from './domain-error.js';
import { hashPassword } from './passwords.js';
import { USER_NAME_PART_MAX } from './write-bounds.js';
import { userByLowerUsername, userWithThingsPage, type UserRecord, type UserWithThings, type ViewerOfRead } from './read-model/rows.js';

/** The user type the services hand out (website and OAuth code name it from here, not from src/entities). */
export type { UserEntity } from '../entities/index.js';

// Spec §2.4: stored usernames; none may end in a format suffix (§1.4).
const USERNAME_MAX = 64;
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const FORMAT_SUFFIX = /\.(json|xml|yaml|as|atom|txt)$/;
const EMAIL = /^[^\s@\u0000]+@[^\s@\u0000]+$/;

export interface NewUser {
  username: string;
  email: string;
  password: string;
  firstname?: string;
  lastname?: string;
  balanceCents?: number;
}

/**
 * Whether a stored username could be this one. None holds U+0000 (PostgreSQL refuses the character in a query
 * parameter: a 500) or is longer than 64 characters; checking the length first also keeps a megabyte of name away
 * from the ORM, which takes about 0.6 µs per character of a parameter.
 */
function couldBeUsername(username: string): boolean {
  return username.length <= USERNAME_MAX && !username.includes('\u0000');
}

export async function findUserByUsername(em: EntityManager, username: string): Promise<UserEntity | null> {
  if (!couldBeUsername(username)) return null;
  // Matches the unique index on lower(username), so the lookup uses it.
  return em.findOne(User, { [raw((alias) => `lower(${alias}.username)`)]: username.toLowerCase() });
}

/** findUserByUsername for read paths: a plain record (src/services/read-model/rows.ts), not a managed entity. */
export async function findUserRecordByUsername(em: EntityManager, username: string): Promise<UserRecord | null> {
  if (!couldBeUsername(username)) return null;
  return userByLowerUsername(em, username.toLowerCase());
}

/**
 * findUserRecordByUsername together with a page of the user's things as E3 lists them (listings.ts `thingsOfUser`:
 * newest first, hidden ones only for the user themself), with the viewer's state per thing, in one statement instead of
 * two (four with a viewer).
 */
export async function findUserRecordWithThings(
  em: EntityManager,
  username: string,
  viewer: ViewerOfRead | null,
  page: { limit: number; offset: number },
): Promise<UserWithThings | null> {
  if (!couldBeUsername(username)) return null;
  return userWithThingsPage(em, username.toLowerCase(), viewer, page);
}

export async function createUser(em: EntityManager, clock: Clock, input: NewUser): Promise<UserEntity> {
  if (!USERNAME.test(input.username) || FORMAT_SUFFIX.test(input.username)) {
    throw new DomainError('validation', 'Invalid username: use 1-64 letters, digits, _ . - (not starting with . or -)');
  }
  if (!EMAIL.test(input.email) || input.email.length > 320) throw new DomainError('validation', 'Invalid email');
  if (input.password.length < 8) throw new DomainError('validation', 'Password must be at least 8 characters');
  for (const [label, value] of [['First name', input.firstname], ['Last name', input.lastname]] as const) {
    if ((value ?? '').length > USER_NAME_PART_MAX || (value ?? '').includes('\u0000')) {
      throw new DomainError('validation', `${label} may be at most ${USER_NAME_PART_MAX} characters, without NUL`);
    }
  }
  if (input.balanceCents !== undefined && (!Number.isInteger(input.balanceCents) || input.balanceCents < 0)) {
    throw new DomainError('validation', 'Means must be a whole number of cents, 0 or more');
  }
  if (await findUserByUsername(em, input.username)) throw new DomainError('validation', 'Username is already taken');
  const user = em.create(User, {
    username: input.username,
    email: input.email,
    passwordHash: await hashPassword(input.password),
    firstname: input.firstname ?? '',
    lastname: input.lastname ?? '',
    balanceCents: input.balanceCents ?? 0,
    registeredAt: clock.now(),
  });
  await em.flush();
  return user;
}

/** Adds means to a user's balance (administration only: no API endpoint changes balances, spec §12.1). */
export async function fundUser(em: EntityManager, username: string, cents: number): Promise<UserEntity> {
  if (!Number.isInteger(cents) || cents <= 0) throw new DomainError('validation', 'Cents must be a positive whole number');
  const user = await findUserByUsername(em, username);
  if (!user) throw new DomainError('not_found', NOT_FOUND_USER);
  await em.nativeUpdate(User, { id: user.id }, { balanceCents: raw('balance_cents + ?', [cents]) });
  await em.refresh(user);
  return user;
}
