import type { ObjectRef } from '@pothos/core';
import { builder } from '../../builder.js';
import { MutationErrorRef, type MutationErrorShape } from '../../refs.js';
import { DomainError, type DomainErrorCode } from '../../../src/services/domain-error.js';

/** Every DomainError code, in the order of the contract; the values are the spec's lower-case codes (§6.2). */
const MUTATION_ERROR_CODES = [
  'not_found',
  'validation',
  'invalid_parameters',
  'forbidden',
  'flattr_once',
  'flattr_owner',
  'thing_owner',
  'subscribed',
  'no_means',
] as const satisfies readonly DomainErrorCode[];

// Compile-time check that no DomainErrorCode is missing from the enum.
type MissingCodes = Exclude<DomainErrorCode, (typeof MUTATION_ERROR_CODES)[number]>;
const allCodesListed: MissingCodes extends never ? true : never = true;
void allCodesListed;

export const MutationErrorCode = builder.enumType('MutationErrorCode', {
  description: 'The error codes of the REST API (spec §6.2) that a write can be refused with.',
  values: MUTATION_ERROR_CODES,
});

MutationErrorRef.implement({
  description: 'A domain rule refused the write. Nothing was changed.',
  fields: (t) => ({
    code: t.field({ type: MutationErrorCode, resolve: (error) => error.code }),
    message: t.exposeString('message', { description: "The spec's canonical error_description." }),
  }),
});

export function isMutationError(value: unknown): value is MutationErrorShape {
  return value instanceof DomainError || (typeof value === 'object' && value !== null && 'code' in value && 'message' in value);
}

export function toMutationError(error: DomainError): MutationErrorShape {
  return { code: error.code, message: error.message };
}

/** Runs a service call: a DomainError becomes the MutationError member; anything else stays a real error. */
export async function domainResult<T>(work: () => Promise<T>): Promise<T | MutationErrorShape> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) return toMutationError(error);
    throw error;
  }
}

type SchemaTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** `union <name> = <success> | MutationError`, told apart by shape: a MutationError has a `code`. */
export function resultUnion<Shape extends object>(name: string, success: ObjectRef<SchemaTypes, Shape>, description: string) {
  return builder.unionType(name, {
    description,
    types: [success, MutationErrorRef],
    resolveType: (value) => (isMutationError(value) ? MutationErrorRef : success),
  });
}
