import { defaultFieldResolver, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { badUserInput } from './errors.js';

/**
 * PostgreSQL `text` cannot hold U+0000: a string argument containing it made every query or insert it reached fail
 * with "invalid byte sequence" / "invalid message format", which surfaced as `500 server_error` on REST (search
 * `query`, `/users/a%00b`, thing titles, flattr urls, ...) and as a masked INTERNAL_SERVER_ERROR on /graphql.
 * No stored value can contain the character, so such an argument is malformed input: BAD_USER_INPUT naming the
 * argument, which the REST facade answers as `400 invalid_parameters`.
 *
 * Applied once to the built schema: every field that takes arguments gets its resolver wrapped by a check of the
 * (already coerced) argument values, however deeply nested in input objects and lists. Fields without arguments are
 * left alone, so the check costs nothing on the hot path of nested selections.
 */

export const NUL_IN_ARGUMENT = 'One or many parameters are missing or invalid';

function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => containsNul(item, depth + 1));
  if (value instanceof Date) return false;
  return Object.values(value as Record<string, unknown>).some((item) => containsNul(item, depth + 1));
}

export function guardStringArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        if (containsNul(args)) {
          const argument = Object.keys(args as Record<string, unknown>).find((name) => containsNul((args as Record<string, unknown>)[name]));
          throw badUserInput(NUL_IN_ARGUMENT, argument ?? null, { reason: 'INVALID_PARAMETERS' });
        }
        return resolve(source, args, context, info);
      };
    }
  }
  return schema;
}
