import { builder } from '../builder.js';
import { MutationErrorRef } from '../refs.js';
import { thingInputProblem } from '../../src/services/things.js';
import { ThingInput, toNewThing } from './mutations/things.js';
import { toMutationError } from './mutations/errors.js';

builder.queryField('thingInputProblem', (t) =>
  t.field({
    type: MutationErrorRef,
    nullable: true,
    description:
      'The first error createThing (id null) or updateThing (id given) would report for this input, in the ' +
      "spec's order (404 thing, 403 forbidden, then validation in E8 table order); null when every check passes. " +
      'Writes nothing. Scope thing.',
    authScopes: { scope: 'thing' },
    args: { id: t.arg.int(), input: t.arg({ type: ThingInput, required: true }) },
    resolve: async (_root, { id, input }, ctx) => {
      const problem = await thingInputProblem(ctx.em, ctx.viewer!.user.id, id ?? null, toNewThing(input), { siteUrl: ctx.config.siteUrl });
      return problem ? toMutationError(problem) : null;
    },
  }),
);
