import {
  GraphQLError,
  type DocumentNode,
  type ParseOptions,
  type Source,
  type validate,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type GraphQLSchema,
  type OperationDefinitionNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  visit,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

/** Page size assumed for a list or connection field queried without `first`/`last`/`count`. */
const DEFAULT_LIST_SIZE = 30;
/** The largest page any list field serves (spec MAX_PAGE_SIZE default): the price of a size nobody knows yet. */
export const MAX_LIST_SIZE = 100;

/** Named fragments spreading fragments spreading fragments...: no real document comes near this. */
export const MAX_FRAGMENT_NESTING = 64;

/**
 * Introspection (`__schema`, `__type` and everything below them) is measured apart from data fields, with the same
 * rules (each field 1 per parent item, a list without a size argument multiplies its children by 30), against its
 * own bounds. graphql-js's `getIntrospectionQuery()` with every option has depth 15 and costs 1,095,763 by this
 * measure (test/graphql-tooling.test.ts measures it): the bounds leave it room (depth 20: a TypeRef five `ofType`
 * deeper fits; cost 2,000,000: 1.8 times it) while `__schema { types { fields { type { fields { type ...` 100 deep,
 * or two aliased full `__schema` selections, are refused. Introspection reads no database: it adds
 * floor(cost / 200,000) to the rate-limit weight (src/rate-limit/document-cost.ts), 5 for the standard query.
 */
export const INTROSPECTION_LIMITS = { maxDepth: 20, maxCost: 2_000_000 } as const;

/** Root fields whose subtree is introspection. `__typename` is not among them: it is an ordinary field of cost 1. */
const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);
/** Arguments that size a list or connection page. */
const SIZE_ARGUMENTS = ['first', 'last', 'count'];

class FragmentsTooDeep extends Error {}

export interface DocumentLimits {
  maxDepth: number;
  maxCost: number;
}

/**
 * How a size argument given as a variable is priced:
 * - `cap`: at MAX_LIST_SIZE (the REST facade's start-up check, whose operations must fit whatever a caller asks);
 * - `least`: at 1, the least it can cost (validation on /graphql, before the values are known: a document refused
 *   then is refused whatever its variables, and the check can be cached per document);
 * - an object: the request's coerced variable values (defaults applied); a variable that is absent or null is
 *   priced at MAX_LIST_SIZE.
 */
export type SizeVariables = 'cap' | 'least' | Record<string, unknown>;

export interface DocumentMeasure {
  /** Deepest data selection (root fields at depth 1); 0 without data fields. */
  depth: number;
  /** Estimated cost of the data fields. */
  cost: number;
  /** Deepest introspection selection (`__schema` at depth 1); 0 without introspection. */
  introspectionDepth: number;
  /** Estimated cost of the introspection fields. */
  introspectionCost: number;
}

function limitError(message: string, code: string, http?: boolean): GraphQLError {
  // `http.spec`: like Yoga's validation errors, a 400 for application/graphql-response+json, a 200 for application/json.
  return new GraphQLError(message, { extensions: { code, ...(http ? { http: { spec: true, status: 400 } } : {}) } });
}

function requestedSize(field: FieldNode, variables: SizeVariables): number | null {
  for (const arg of field.arguments ?? []) {
    if (!SIZE_ARGUMENTS.includes(arg.name.value)) continue;
    if (arg.value.kind === Kind.INT) return Number(arg.value.value);
    if (arg.value.kind === Kind.VARIABLE) {
      if (variables === 'cap') return MAX_LIST_SIZE;
      if (variables === 'least') return 1;
      const value = variables[arg.value.name.value];
      return typeof value === 'number' && Number.isFinite(value) ? value : MAX_LIST_SIZE;
    }
  }
  return null;
}

function isConnection(type: GraphQLCompositeType | null): boolean {
  return !!type && type.name.endsWith('Connection');
}

type Measure = { depth: number; cost: number; iDepth: number; iCost: number };

/**
 * Measures one operation (fragments expanded). Depth of a selection set (its fields' level included) and cost per parent item
 * (costs are linear in the number of parent items, so a set is measured once and scaled by its caller). Named
 * fragments are measured once each and reused: measuring every spread again made a document of n fragments, each
 * spreading the next twice, cost 2^n visits (a 1 KB "fragment bomb" held the event loop for minutes before the
 * cost limit could refuse it). Throws FragmentsTooDeep past MAX_FRAGMENT_NESTING.
 */
function measureOperationNode(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, variables: SizeVariables): DocumentMeasure {
  const fragmentMeasures = new Map<string, Measure>();
  const measuring = new Set<string>();
  const none: Measure = { depth: 0, cost: 0, iDepth: 0, iCost: 0 };

  function measureFragment(name: string): Measure {
    const known = fragmentMeasures.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    // Unknown or cyclic fragments are reported by the standard rules.
    if (!fragment || measuring.has(name)) return none;
    // A chain of thousands of fragments, each spreading the next, would exhaust the stack here (a 500).
    if (measuring.size >= MAX_FRAGMENT_NESTING) throw new FragmentsTooDeep();
    measuring.add(name);
    const type = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType;
    const measured = measure(fragment.selectionSet, type ?? null);
    measuring.delete(name);
    fragmentMeasures.set(name, measured);
    return measured;
  }

  function measure(set: SelectionSetNode, parent: GraphQLCompositeType | null): Measure {
    const out: Measure = { depth: 0, cost: 0, iDepth: 0, iCost: 0 };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const fieldDef: GraphQLField<unknown, unknown> | undefined =
          name === '__schema' ? SchemaMetaFieldDef : name === '__type' ? TypeMetaFieldDef
          : parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
        const introspection = INTROSPECTION_FIELDS.has(name);
        if (introspection) out.iCost += 1;
        else out.cost += 1;
        if (!selection.selectionSet) {
          // A leaf is one level (`__schema` and `__type` always have a selection).
          out.depth = Math.max(out.depth, 1);
          continue;
        }
        const fieldType = fieldDef ? getNullableType(fieldDef.type) : null;
        const named = fieldDef ? (getNamedType(fieldDef.type) as GraphQLCompositeType) : null;
        // A connection's own page size already multiplies its edges, so those lists do not count again.
        const many = !isConnection(parent) && ((fieldType && isListType(fieldType)) || isConnection(named));
        const size = many ? Math.max(1, requestedSize(selection, variables) ?? DEFAULT_LIST_SIZE) : 1;
        const child = measure(selection.selectionSet, named);
        if (introspection) {
          // Everything below __schema / __type is introspection.
          out.iDepth = Math.max(out.iDepth, 1 + child.depth, child.iDepth ? 1 + child.iDepth : 0);
          out.iCost += size * (child.cost + child.iCost);
        } else {
          out.depth = Math.max(out.depth, 1 + child.depth);
          if (child.iDepth) out.iDepth = Math.max(out.iDepth, 1 + child.iDepth);
          out.cost += size * child.cost;
          out.iCost += size * child.iCost;
        }
      } else {
        const child =
          selection.kind === Kind.INLINE_FRAGMENT
            ? measure(selection.selectionSet, selection.typeCondition ? ((schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType) ?? null) : parent)
            : measureFragment(selection.name.value);
        out.depth = Math.max(out.depth, child.depth);
        out.iDepth = Math.max(out.iDepth, child.iDepth);
        out.cost += child.cost;
        out.iCost += child.iCost;
      }
    }
    return out;
  }

  const root =
    operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  // Root fields are at depth 1: measure() counts each field's own level.
  const measured = measure(operation.selectionSet, root ?? null);
  return { depth: measured.depth, cost: measured.cost, introspectionDepth: measured.iDepth, introspectionCost: measured.iCost };
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  return fragments;
}

/** The errors of a measure against the limits (data and introspection apart). */
function limitErrors(measured: DocumentMeasure, limits: DocumentLimits, checks: { depth: boolean; cost: boolean; introspection: boolean }, http = false): GraphQLError[] {
  const errors: GraphQLError[] = [];
  if (checks.depth && measured.depth > limits.maxDepth) {
    errors.push(limitError(`Query is too deep: depth ${measured.depth} exceeds the limit of ${limits.maxDepth}`, 'QUERY_TOO_DEEP', http));
  }
  if (checks.cost && measured.cost > limits.maxCost) {
    errors.push(limitError(`Query is too expensive: estimated cost ${measured.cost} exceeds the limit of ${limits.maxCost}`, 'QUERY_TOO_COSTLY', http));
  }
  if (checks.introspection && measured.introspectionDepth > INTROSPECTION_LIMITS.maxDepth) {
    errors.push(limitError(`Introspection is too deep: depth ${measured.introspectionDepth} exceeds the limit of ${INTROSPECTION_LIMITS.maxDepth}`, 'QUERY_TOO_DEEP', http));
  }
  if (checks.introspection && measured.introspectionCost > INTROSPECTION_LIMITS.maxCost) {
    errors.push(limitError(`Introspection is too expensive: estimated cost ${measured.introspectionCost} exceeds the limit of ${INTROSPECTION_LIMITS.maxCost}`, 'QUERY_TOO_COSTLY', http));
  }
  return errors;
}

/**
 * Rejects documents nested deeper than `maxDepth` or whose estimated cost exceeds `maxCost`, and introspection over
 * INTROSPECTION_LIMITS. Cost: every field costs 1 times the number of parent items; a list or connection multiplies
 * its children by its `first`/`last`/`count` argument, or by 30 when none is given; a size given as a variable is
 * priced as `variables` says (default `cap`: 100). Fragments are expanded.
 *
 * /graphql validates with `least` and checks the cost again with the request's values before executing
 * (`operationLimitErrors`, src/server/graphql-server.ts), so `searchThings(first: $n)` costs what `$n` asks.
 */
export function documentLimitsRule(limits: DocumentLimits, variables: SizeVariables = 'cap'): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const fragments = fragmentsOf(context.getDocument());
    return {
      OperationDefinition(operation) {
        let measured: DocumentMeasure;
        try {
          measured = measureOperationNode(schema, operation, fragments, variables);
        } catch (error) {
          if (!(error instanceof FragmentsTooDeep)) throw error;
          context.reportError(limitError(`Query is too deep: fragments nested more than ${MAX_FRAGMENT_NESTING} levels`, 'QUERY_TOO_DEEP'));
          return;
        }
        for (const error of limitErrors(measured, limits, { depth: true, cost: true, introspection: true })) context.reportError(error);
      },
    };
  };
}

function selectOperation(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((d) => d.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
}

/** Names of the variables given to a `first`, `last` or `count` argument anywhere in the document. */
function sizeVariableNames(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(argument) {
      if (SIZE_ARGUMENTS.includes(argument.name.value) && argument.value.kind === Kind.VARIABLE) names.add(argument.value.name.value);
    },
  });
  return [...names].sort();
}

const measureCache = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, { sizeVariables: string[]; measures: Map<string, DocumentMeasure | null> }>>();
const MAX_MEASURES_PER_DOCUMENT = 64;

/**
 * The measure of the operation `operationName` (or the document's only operation) of a validated document, its size
 * variables priced at the request's values after coercion (an operation's defaults apply; an absent or null one is
 * priced at MAX_LIST_SIZE). Null when the operation cannot be chosen or its variables do not coerce: executing it
 * fails with that error (BAD_USER_INPUT), before any resolver runs.
 *
 * Cached per document (Yoga hands over the same parsed DocumentNode for the same text), operation and value of the
 * size variables, so the rate-limit weight and the cost check share one measure.
 */
export function measureOperation(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Record<string, unknown> | null | undefined): DocumentMeasure | null {
  let byDocument = measureCache.get(schema);
  if (!byDocument) measureCache.set(schema, (byDocument = new WeakMap()));
  let entry = byDocument.get(document);
  if (!entry) byDocument.set(document, (entry = { sizeVariables: sizeVariableNames(document), measures: new Map() }));
  const operation = selectOperation(document, operationName);
  if (!operation) return null;
  let values: Record<string, unknown> = {};
  if (entry.sizeVariables.length > 0) {
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {}, { maxErrors: 1 });
    if (coerced.errors) return null;
    values = coerced.coerced;
  }
  const key = `${operationName ?? ''}\u0000${JSON.stringify(entry.sizeVariables.map((name) => values[name] ?? null))}`;
  if (entry.measures.has(key)) return entry.measures.get(key)!;
  let measured: DocumentMeasure | null;
  try {
    measured = measureOperationNode(schema, operation, fragmentsOf(document), values);
  } catch (error) {
    if (!(error instanceof FragmentsTooDeep)) throw error;
    measured = null; // refused by validation already
  }
  if (entry.measures.size < MAX_MEASURES_PER_DOCUMENT) entry.measures.set(key, measured);
  return measured;
}

/** The cost errors of an operation at the request's variable values (run before executing; see documentLimitsRule). */
export function operationLimitErrors(measured: DocumentMeasure, limits: DocumentLimits): GraphQLError[] {
  return limitErrors(measured, limits, { depth: false, cost: true, introspection: false }, true);
}

/**
 * Limits on the GraphQL source itself, enforced before and around graphql-js's parser and validator, which are
 * recursive: a document nested a few thousand brackets deep (`{a{a{a...`, `[[[[...`) or a chain of thousands of
 * fragments made them throw RangeError (Maximum call stack size exceeded), which Yoga answered with a 500; and a
 * 20 MB document of tokens kept the event loop busy for seconds before the cost limit could refuse it.
 */
export interface SourceLimits {
  /** Tokens graphql-js may read (its `maxTokens` parse option). */
  maxTokens: number;
  /** Deepest nesting of `{` `(` `[` outside strings and comments. */
  maxNesting: number;
}

export const SOURCE_LIMITS: SourceLimits = { maxTokens: 100_000, maxNesting: 128 };

/** The deepest bracket nesting of a GraphQL source, skipping strings, block strings and comments. Linear. */
export function sourceNesting(body: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '#') {
      while (i < body.length && body[i] !== '\n' && body[i] !== '\r') i++;
    } else if (ch === '"') {
      if (body.startsWith('"""', i)) {
        const end = body.indexOf('"""', i + 3);
        i = end < 0 ? body.length : end + 2;
      } else {
        i++;
        while (i < body.length && body[i] !== '"' && body[i] !== '\n') i += body[i] === '\\' ? 2 : 1;
      }
    } else if (ch === '{' || ch === '(' || ch === '[') {
      depth++;
      if (depth > max) max = depth;
    } else if (ch === '}' || ch === ')' || ch === ']') {
      depth = Math.max(0, depth - 1);
    }
  }
  return max;
}

function tooDeepSource(limits: SourceLimits): GraphQLError {
  return new GraphQLError(`Query is too deep: more than ${limits.maxNesting} nested brackets`, { extensions: { code: 'QUERY_TOO_DEEP', http: { status: 400 } } });
}

type ParseFn = (source: string | Source, options?: ParseOptions) => DocumentNode;
type ValidateFn = typeof validate;

/**
 * An envelop/Yoga plugin (structurally typed, so this file does not depend on graphql-yoga): refuses sources nested
 * deeper than `maxNesting` before parsing, parses with `maxTokens`, and turns a RangeError of the parser or of the
 * validation rules into a QUERY_TOO_DEEP error instead of a 500. Wire it in src/server/graphql-server.ts
 * (createGraphQLServer's plugins).
 */
export function documentSourceGuardPlugin(limits: SourceLimits = SOURCE_LIMITS) {
  return {
    onParse({ parseFn, setParseFn }: { parseFn: ParseFn; setParseFn: (fn: ParseFn) => void }) {
      setParseFn((source, options) => {
        const body = typeof source === 'string' ? source : source.body;
        if (sourceNesting(body) > limits.maxNesting) throw tooDeepSource(limits);
        try {
          return parseFn(source, { ...options, maxTokens: Math.min(options?.maxTokens ?? Infinity, limits.maxTokens) });
        } catch (error) {
          if (error instanceof RangeError) throw tooDeepSource(limits);
          throw error;
        }
      });
    },
    onValidate({ validateFn, setValidationFn }: { validateFn: ValidateFn; setValidationFn: (fn: ValidateFn) => void }) {
      setValidationFn((...args: Parameters<ValidateFn>) => {
        try {
          return validateFn(...args);
        } catch (error) {
          if (error instanceof RangeError) return [tooDeepSource(limits)];
          throw error;
        }
      });
    },
  };
}
