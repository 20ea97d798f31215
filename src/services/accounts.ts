import { randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { UserEntity } from '../entities/index.js';
import type { Clock } from '../config/clock.js';
import { DomainError } from './domain-error.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { createUser, findUserByUsername, type NewUser } from './users.js';

/** Longest password accepted at login (scrypt hashes any length, but there is no reason to hash megabytes). */
export const MAX_PASSWORD_LENGTH = 1024;

let dummyHash: Promise<string> | undefined;

/** A hash of a random password, so that unknown users cost the same scrypt work as known ones. */
function timingDummy(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(18).toString('base64'));
  return dummyHash;
}

/**
 * The user whose username (case-insensitive) and password match, or null. Unknown usernames, accounts
 * without a password and wrong passwords are not told apart, and all of them run one scrypt verification,
 * so neither the answer nor its timing says whether a username exists.
 */
export async function authenticateUser(em: EntityManager, username: unknown, password: unknown): Promise<UserEntity | null> {
  if (typeof username !== 'string' || typeof password !== 'string') return null;
  const plausible = username.length > 0 && username.length <= 64 && password.length <= MAX_PASSWORD_LENGTH;
  const user = plausible ? await findUserByUsername(em, username) : null;
  const stored = user?.passwordHash ?? (await timingDummy());
  const ok = await verifyPassword(plausible ? password : '', stored);
  return ok && user?.passwordHash ? user : null;
}

/** Website signup: `createUser` (validation, scrypt hash), with a concurrent duplicate reported as taken. */
export async function signUp(em: EntityManager, clock: Clock, input: NewUser): Promise<UserEntity> {
  if (input.password.length > MAX_PASSWORD_LENGTH) {
    throw new DomainError('validation', `Password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  try {
    return await createUser(em, clock, input);
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw new DomainError('validation', 'Username is already taken');
    throw error;
  }
}
