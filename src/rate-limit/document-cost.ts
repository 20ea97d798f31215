import { Kind, validate, visit, type DefinitionNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import { documentLimitsRule } from '../../schema/limits.js';

/**
 * The estimated cost of the operation `operationName` (or the document's only operation), measured exactly as
 * schema/limits.ts measures it for GRAPHQL_MAX_COST: that rule is run with a cost ceiling of -1, so it always
 * reports, and the figure is read from its report. One measure, no copy of it to drift.
 */
export function documentCost(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null, variables: Record<string, unknown> = {}): number {
  // Measured once per document, operation and value of the variables that can size a list (`first`/`last`/`count`):
  // Yoga hands over the same parsed DocumentNode for the same query text, so a repeated query costs a lookup
  // (about 1 µs instead of 110 µs of validate()). schema/limits.ts reads variables only in requestedSize; a rule
  // that read others would have to add them to this key.
  let byDocument = costCache.get(schema);
  if (!byDocument) costCache.set(schema, (byDocument = new WeakMap()));
  let entry = byDocument.get(document);
  if (!entry) byDocument.set(document, (entry = { sizeVariables: sizeVariableNames(document), costs: new Map() }));
  const key = `${operationName ?? ''}\u0000${JSON.stringify(entry.sizeVariables.map((name) => variables[name] ?? null))}`;
  let cost = entry.costs.get(key);
  if (cost === undefined) {
    cost = measureCost(schema, document, operationName, variables);
    if (entry.costs.size < MAX_COSTS_PER_DOCUMENT) entry.costs.set(key, cost);
  }
  return cost;
}

const costCache = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, { sizeVariables: string[]; costs: Map<string, number> }>>();
const MAX_COSTS_PER_DOCUMENT = 64;

/** Names of the variables given to a `first`, `last` or `count` argument anywhere in the document. */
function sizeVariableNames(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(argument) {
      if (['first', 'last', 'count'].includes(argument.name.value) && argument.value.kind === Kind.VARIABLE) names.add(argument.value.name.value);
    },
  });
  return [...names].sort();
}

function measureCost(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): number {
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
