import type { ObjectRef } from '@pothos/core';
import { builder } from '../../builder.js';
import { MutationErrorRef, type MutationErrorShape } from '../../refs.js';
import { DomainError, type DomainErrorCode } from '../../../src/services/domain-error.js';

/** Every DomainError code with what it means for a client; the REST facade answers the lower-case form. */
const MUTATION_ERROR_CODES = {
  not_found: 'The object an argument names does not exist (or is hidden from the caller).',
  validation: 'An input value breaks a rule (too long, unknown category, url taken, ...); `field` names it.',
  invalid_parameters: 'An argument is missing or malformed (for example a url that is not an absolute http(s) URL).',
  forbidden: 'The caller may not do this to that object (not its owner, or a per-user limit is reached).',
  flattr_once: 'The caller already flattred this thing this month.',
  flattr_owner: 'Users cannot flattr their own things.',
  thing_owner: 'Users cannot subscribe to their own things.',
  subscribed: 'The caller is already subscribed to this thing.',
  no_means: 'The caller has no money to flattr with.',
} as const satisfies Record<DomainErrorCode, string>;

export const MutationErrorCode = builder.enumType('MutationErrorCode', {
  description: 'Why a write was refused. The REST API reports the same refusals with the lower-case code.',
  values: Object.fromEntries(
    Object.entries(MUTATION_ERROR_CODES).map(([code, description]) => [code.toUpperCase(), { value: code as DomainErrorCode, description }]),
  ) as Record<Uppercase<DomainErrorCode>, { value: DomainErrorCode; description: string }>,
});

MutationErrorRef.implement({
  description: 'A rule refused the write. Nothing was changed.',
  fields: (t) => ({
    code: t.field({ type: MutationErrorCode, description: 'Which rule refused the write.', resolve: (error) => error.code }),
    message: t.exposeString('message', { description: 'A human-readable explanation, the same text the REST API answers.' }),
    field: t.exposeStringList('field', {
      nullable: true,
      description:
        'The path of the offending input, from the argument down (for example ["input", "title"] or ["id"]); ' +
        'null when the rule is not about one input.',
    }),
  }),
});

export function isMutationError(value: unknown): value is MutationErrorShape {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && 'field' in value;
}

/**
 * Where a mutation's inputs are: `input` names the input-object argument whose fields the domain rules check (or,
 * for flattrUrl, null: every rule is about its `url`), `id` the argument naming the object.
 */
export interface MutationInputs {
  input?: string;
  id?: string;
  /** The argument every remaining rule is about. */
  rest?: string;
}

export function toMutationError(error: DomainError, inputs: MutationInputs = {}): MutationErrorShape {
  let field: string[] | null = null;
  if (error.field !== null && inputs.input) field = [inputs.input, error.field];
  else if (error.code === 'not_found' && inputs.id) field = [inputs.id];
  else if (inputs.rest && (error.field !== null || ['not_found', 'validation', 'invalid_parameters'].includes(error.code))) field = [inputs.rest];
  return { code: error.code, message: error.message, field };
}

/** Runs a service call: a DomainError becomes the MutationError member; anything else stays a real error. */
export async function domainResult<T>(inputs: MutationInputs, work: () => Promise<T>): Promise<T | MutationErrorShape> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) return toMutationError(error, inputs);
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
