import { builder } from '../builder.js';
import { MutationErrorRef } from '../refs.js';
import { thingInputProblem } from '../../src/services/things.js';
import { databaseIdOf } from '../global-id.js';
import { badUserInput } from '../errors.js';
import { ThingInput, ThingPatchInput, toNewThing, toPatch } from './mutations/things.js';
import { toMutationError } from './mutations/errors.js';

builder.queryField('thingInputProblem', (t) =>
  t.field({
    type: MutationErrorRef,
    nullable: true,
    description:
      'The first error createThing (`input`, no `id`) or updateThing (`id` and `patch`) would report, in the order ' +
      'those mutations check (the thing exists, the caller owns it, then url, title, description, category, ' +
      'language, tags); null when every check passes. Writes nothing. Scope thing.',
    authScopes: { scope: 'thing' },
    args: {
      id: t.arg.id({ description: 'The global id of the thing an update would change; null for a creation.' }),
      input: t.arg({ type: ThingInput, description: 'The input of a creation (without `id`).' }),
      patch: t.arg({ type: ThingPatchInput, description: 'The changes of an update (with `id`).' }),
    },
    resolve: async (_root, { id, input, patch }, ctx) => {
      if (id == null && input == null) throw badUserInput('A creation needs `input` (and no `id`)', 'input');
      if (id != null && patch == null) throw badUserInput('An update needs `patch` with its `id`', 'patch');
      if (id == null && patch != null) throw badUserInput('`patch` goes with an `id`', 'patch');
      if (id != null && input != null) throw badUserInput('`input` is for a creation, without `id`', 'input');
      const thingId = id == null ? null : databaseIdOf(String(id), 'Thing', 'id');
      const fields = input != null ? toNewThing(input) : toPatch(patch!);
      const problem = await thingInputProblem(ctx.em, ctx.viewer!.user.id, thingId, fields, { siteUrl: ctx.config.siteUrl });
      return problem ? toMutationError(problem, { input: input != null ? 'input' : 'patch', id: 'id' }) : null;
    },
  }),
);
