import { Kind, validate, type DefinitionNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import { documentLimitsRule } from '../../schema/limits.js';

/**
 * The estimated cost of the operation `operationName` (or the document's only operation), measured exactly as
 * schema/limits.ts measures it for GRAPHQL_MAX_COST: that rule is run with a cost ceiling of -1, so it always
 * reports, and the figure is read from its report. One measure, no copy of it to drift.
 */
export function documentCost(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null, variables: Record<string, unknown> = {}): number {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((d) => d.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return 0;
  const definitions: DefinitionNode[] = [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)];
  const errors = validate(schema, { kind: Kind.DOCUMENT, definitions }, [documentLimitsRule({ maxDepth: Number.MAX_SAFE_INTEGER, maxCost: -1 }, variables)]);
  for (const error of errors) {
    const match = error.extensions?.code === 'QUERY_TOO_COSTLY' ? /estimated cost (\d+)/.exec(error.message) : null;
    if (match) return Number(match[1]);
  }
  return 0;
}

/**
 * GraphQL request weight (README "Rate limiting"): a request counts 1, plus 1 per full 1000 of estimated cost of
 * the operation it executes: weight = 1 + floor(cost / 1000). With the default GRAPHQL_MAX_COST of 20000 a request
 * weighs at most 21. Requests that are not executed (parse or validation errors, including documents over
 * GRAPHQL_MAX_COST) weigh 1.
 */
export function graphqlWeight(cost: number): number {
  return 1 + Math.floor(Math.max(0, cost) / 1000);
}
