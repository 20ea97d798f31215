import type { DocumentNode, GraphQLSchema } from 'graphql';
import { measureOperation, type DocumentMeasure } from '../../schema/limits.js';

/**
 * The estimated cost of the data fields of the operation `operationName` (or the document's only operation),
 * measured exactly as schema/limits.ts measures it for GRAPHQL_MAX_COST, with the size variables (`first`, `last`,
 * `count`) at the request's values after coercion (an absent one at its default, else the cap of 100). One measure
 * (cached per document and values, schema/limits.ts measureOperation), no copy of it to drift. 0 when the operation
 * cannot run (no such operation, variables that do not coerce).
 */
export function documentCost(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null, variables: Record<string, unknown> = {}): number {
  return measureOperation(schema, document, operationName, variables)?.cost ?? 0;
}

/** Introspection adds one point of rate-limit weight per this much of its cost (README "Rate limiting"). */
export const INTROSPECTION_COST_PER_POINT = 200_000;

/**
 * GraphQL request weight (README "Rate limiting"): a request counts 1, plus 1 per full 1000 of estimated data cost
 * of the operation it executes, plus 1 per full 200,000 of introspection cost:
 * weight = 1 + floor(cost / 1000) + floor(introspectionCost / 200000). With the default GRAPHQL_MAX_COST of 20000
 * and the introspection bound of 2,000,000 a request weighs at most 31; the standard introspection query weighs 6.
 * Requests that are not executed (parse or validation errors, including documents over the limits) weigh 1.
 */
export function graphqlWeight(cost: number, introspectionCost = 0): number {
  return 1 + Math.floor(Math.max(0, cost) / 1000) + Math.floor(Math.max(0, introspectionCost) / INTROSPECTION_COST_PER_POINT);
}

/** The weight of an operation about to execute, from the same measure as the cost limit. */
export function operationWeight(measured: DocumentMeasure | null): number {
  return measured ? graphqlWeight(measured.cost, measured.introspectionCost) : 1;
}
