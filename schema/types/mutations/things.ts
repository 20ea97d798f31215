import { builder } from '../../builder.js';
import { ThingRef } from '../../refs.js';
import type { ThingEntity } from '../../../src/entities/index.js';
import { createThing, deleteThing, updateThing, type NewThing, type ThingPatch } from '../../../src/services/things.js';
import { domainResult, resultUnion } from './errors.js';

/** GraphQL null and absent both mean "not given". */
function given<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

type SchemaTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;

/** The editable fields, shared by a new thing and a patch. */
const editableThingFields = (t: PothosSchemaTypes.InputFieldBuilder<SchemaTypes, 'InputObject'>) => ({
  title: t.string(),
  description: t.string(),
  category: t.string(),
  language: t.string(),
  tags: t.stringList(),
  hidden: t.boolean(),
});

export const ThingInput = builder.inputType('ThingInput', {
  description: 'A new thing (spec E8). Absent fields take the defaults of E8.',
  fields: (t) => ({ url: t.string(), ...editableThingFields(t) }),
});

export const ThingPatchInput = builder.inputType('ThingPatch', {
  description: 'Changes to a thing (spec E9): absent fields stay unchanged; tags [] clears; title "" resets it to the url.',
  fields: (t) => editableThingFields(t),
});

type ThingInputValue = typeof ThingInput.$inferInput;

export function toNewThing(input: ThingInputValue): NewThing {
  return { url: given(input.url), ...toPatch(input) };
}

function toPatch(input: typeof ThingPatchInput.$inferInput): ThingPatch {
  return {
    title: given(input.title),
    description: given(input.description),
    category: given(input.category),
    language: given(input.language),
    tags: given(input.tags),
    hidden: given(input.hidden),
  };
}

const CreateThingSuccess = builder.objectRef<{ thing: ThingEntity }>('CreateThingSuccess').implement({
  fields: (t) => ({ thing: t.field({ type: ThingRef, resolve: (result) => result.thing }) }),
});
const UpdateThingSuccess = builder.objectRef<{ thing: ThingEntity }>('UpdateThingSuccess').implement({
  fields: (t) => ({ thing: t.field({ type: ThingRef, resolve: (result) => result.thing }) }),
});
const DeleteThingSuccess = builder.objectRef<{ deletedThingId: number }>('DeleteThingSuccess').implement({
  fields: (t) => ({ deletedThingId: t.exposeInt('deletedThingId') }),
});

const CreateThingResult = resultUnion('CreateThingResult', CreateThingSuccess, 'The created thing, or why it was refused (E8).');
const UpdateThingResult = resultUnion('UpdateThingResult', UpdateThingSuccess, 'The updated thing, or why it was refused (E9).');
const DeleteThingResult = resultUnion('DeleteThingResult', DeleteThingSuccess, 'The deleted thing id, or why it was refused (E10).');

builder.mutationFields((t) => ({
  createThing: t.field({
    type: CreateThingResult,
    description: 'Spec E8: creates a thing owned by the caller. Scope thing.',
    authScopes: { scope: 'thing' },
    args: { input: t.arg({ type: ThingInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      domainResult(async () => ({
        thing: await createThing(ctx.em, ctx.clock, ctx.viewer!.user.id, toNewThing(input), { siteUrl: ctx.config.siteUrl }),
      })),
  }),
  updateThing: t.field({
    type: UpdateThingResult,
    description: 'Spec E9: changes the present fields of a thing the caller owns; sets updatedAt. Scope thing.',
    authScopes: { scope: 'thing' },
    args: { id: t.arg.int({ required: true }), patch: t.arg({ type: ThingPatchInput, required: true }) },
    resolve: (_root, { id, patch }, ctx) =>
      domainResult(async () => ({ thing: await updateThing(ctx.em, ctx.clock, ctx.viewer!.user.id, id, toPatch(patch)) })),
  }),
  deleteThing: t.field({
    type: DeleteThingResult,
    description: 'Spec E10: deletes a thing the caller owns, with its flattrs and subscriptions (D74). Scope thing.',
    authScopes: { scope: 'thing' },
    args: { id: t.arg.int({ required: true }) },
    resolve: (_root, { id }, ctx) =>
      domainResult(async () => {
        await deleteThing(ctx.em, ctx.viewer!.user.id, id);
        return { deletedThingId: id };
      }),
  }),
}));
