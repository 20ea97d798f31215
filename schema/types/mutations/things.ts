import { builder } from '../../builder.js';
import { ThingRef } from '../../refs.js';
import type { ThingEntity } from '../../../src/entities/index.js';
import { createThing, deleteThing, updateThing, type NewThing, type ThingPatch } from '../../../src/services/things.js';
import { databaseIdOf, encodeGlobalId } from '../../global-id.js';
import { domainResult, resultUnion } from './errors.js';

/** GraphQL null and absent both mean "not given". */
function given<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

type SchemaTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;

/** The editable fields, shared by a new thing and a patch. */
const editableThingFields = (t: PothosSchemaTypes.InputFieldBuilder<SchemaTypes, 'InputObject'>) => ({
  title: t.string({ description: 'At most 100 characters after markup is stripped; empty means the url.' }),
  description: t.string({ description: 'At most 1000 characters after markup is stripped.' }),
  category: t.string({ description: 'A category id (see `categories`); "rest" when a new thing has none.' }),
  language: t.string({ description: 'A language id (see `languages`); "en_GB" when a new thing has none.' }),
  tags: t.stringList({ description: 'Tags (at most 100, each at most 255 characters); duplicates are dropped.' }),
  hidden: t.boolean({ description: 'Hide the thing from listings and search; false when a new thing has none.' }),
});

export const ThingInput = builder.inputType('ThingInput', {
  description: 'A new thing. Absent fields take their defaults.',
  fields: (t) => ({
    url: t.string({ required: true, description: 'The absolute http(s) URL of the thing, at most 2048 characters; unique.' }),
    ...editableThingFields(t),
  }),
});

export const ThingPatchInput = builder.inputType('ThingPatch', {
  description: 'Changes to a thing: absent fields stay unchanged; tags [] clears them; title "" resets it to the url.',
  fields: (t) => editableThingFields(t),
});

type ThingInputValue = typeof ThingInput.$inferInput;

export function toNewThing(input: ThingInputValue): NewThing {
  return { url: input.url, ...toPatch(input) };
}

export function toPatch(input: typeof ThingPatchInput.$inferInput): ThingPatch {
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
  description: 'The thing was created.',
  fields: (t) => ({ thing: t.field({ type: ThingRef, description: 'The new thing.', resolve: (result) => result.thing }) }),
});
const UpdateThingSuccess = builder.objectRef<{ thing: ThingEntity }>('UpdateThingSuccess').implement({
  description: 'The thing was updated.',
  fields: (t) => ({ thing: t.field({ type: ThingRef, description: 'The thing as it is now.', resolve: (result) => result.thing }) }),
});
const DeleteThingSuccess = builder.objectRef<{ deletedThingId: number }>('DeleteThingSuccess').implement({
  description: 'The thing was deleted.',
  fields: (t) => ({
    deletedThingId: t.id({ description: 'The global id the deleted thing had.', resolve: (result) => encodeGlobalId('Thing', result.deletedThingId) }),
  }),
});

const CreateThingResult = resultUnion('CreateThingResult', CreateThingSuccess, 'The created thing, or why it was refused.');
const UpdateThingResult = resultUnion('UpdateThingResult', UpdateThingSuccess, 'The updated thing, or why it was refused.');
const DeleteThingResult = resultUnion('DeleteThingResult', DeleteThingSuccess, 'The deleted thing id, or why it was refused.');

builder.mutationFields((t) => ({
  createThing: t.field({
    type: CreateThingResult,
    description: 'Creates a thing owned by the caller. Scope thing.',
    authScopes: { scope: 'thing' },
    args: { input: t.arg({ type: ThingInput, required: true, description: 'The new thing.' }) },
    resolve: (_root, { input }, ctx) =>
      domainResult({ input: 'input' }, async () => ({
        thing: await createThing(ctx.em, ctx.clock, ctx.viewer!.user.id, toNewThing(input), { siteUrl: ctx.config.siteUrl }),
      })),
  }),
  updateThing: t.field({
    type: UpdateThingResult,
    description: 'Changes the given fields of a thing the caller owns, and sets its updatedAt. Scope thing.',
    authScopes: { scope: 'thing' },
    args: {
      id: t.arg.id({ required: true, description: 'The global id of the thing.' }),
      patch: t.arg({ type: ThingPatchInput, required: true, description: 'The fields to change.' }),
    },
    resolve: (_root, { id, patch }, ctx) => {
      const thingId = databaseIdOf(String(id), 'Thing', 'id');
      return domainResult({ input: 'patch', id: 'id' }, async () => ({
        thing: await updateThing(ctx.em, ctx.clock, ctx.viewer!.user.id, thingId, toPatch(patch)),
      }));
    },
  }),
  deleteThing: t.field({
    type: DeleteThingResult,
    description: 'Deletes a thing the caller owns, with its flattrs and subscriptions. Scope thing.',
    authScopes: { scope: 'thing' },
    args: { id: t.arg.id({ required: true, description: 'The global id of the thing.' }) },
    resolve: (_root, { id }, ctx) => {
      const thingId = databaseIdOf(String(id), 'Thing', 'id');
      return domainResult({ id: 'id' }, async () => {
        await deleteThing(ctx.em, ctx.viewer!.user.id, thingId);
        return { deletedThingId: thingId };
      });
    },
  }),
}));
