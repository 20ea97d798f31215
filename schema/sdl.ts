import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';

/**
 * The schema as SDL, types and fields in alphabetical order: the form of the committed `schema.graphql` (the
 * contract GraphQL clients build against) and of `GET /schema.graphql`. Sorted, so that a change to the schema is a
 * small, reviewable diff of that file whatever order the code defines things in.
 */
export function schemaSdl(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
