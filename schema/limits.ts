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
} from 'graphql';

/** Page size assumed for a list or connection field queried without `first`/`count`. */
const DEFAULT_LIST_SIZE = 30;
/** The largest page any list field serves (spec MAX_PAGE_SIZE default). */
const MAX_LIST_SIZE = 100;

/** Named fragments spreading fragments spreading fragments...: no real document comes near this. */
export const MAX_FRAGMENT_NESTING = 64;

class FragmentsTooDeep extends Error {}

export interface DocumentLimits {
  maxDepth: number;
  maxCost: number;
}

function limitError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

function requestedSize(field: FieldNode, variables: Record<string, unknown>): number | null {
  for (const arg of field.arguments ?? []) {
    if (!['first', 'last', 'count'].includes(arg.name.value)) continue;
    if (arg.value.kind === Kind.INT) return Number(arg.value.value);
    if (arg.value.kind === Kind.VARIABLE) {
      const value = variables[arg.value.name.value];
      // Validation usually runs before variables are known: assume the largest page a list serves.
      return typeof value === 'number' ? value : MAX_LIST_SIZE;
    }
  }
  return null;
}

function isConnection(type: GraphQLCompositeType | null): boolean {
  return !!type && type.name.endsWith('Connection');
}

/**
 * Rejects documents nested deeper than `maxDepth` or whose estimated cost exceeds `maxCost`.
 * Cost: every field costs 1 times the number of parent items; a list or connection multiplies its
 * children by its `first`/`last`/`count` argument, or by 30 when none is given (100 when it is a variable). Fragments are expanded.
 */
export function documentLimitsRule(limits: DocumentLimits, variables: Record<string, unknown> = {}): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }

    /**
     * Depth below the selection set's own level and cost per parent item (costs are linear in the number of parent
     * items, so a set is measured once and scaled by its caller). Named fragments are measured once each and reused:
     * measuring every spread again made a document of n fragments, each spreading the next twice, cost 2^n visits
     * (a 1 KB "fragment bomb" held the event loop for minutes before the cost limit could refuse it).
     */
    type Measure = { depth: number; cost: number };
    const fragmentMeasures = new Map<string, Measure>();
    const measuring = new Set<string>();

    function measureFragment(name: string): Measure {
      const known = fragmentMeasures.get(name);
      if (known) return known;
      const fragment = fragments.get(name);
      // Unknown or cyclic fragments are reported by the standard rules.
      if (!fragment || measuring.has(name)) return { depth: 0, cost: 0 };
      // A chain of thousands of fragments, each spreading the next, would exhaust the stack here (a 500).
      if (measuring.size >= MAX_FRAGMENT_NESTING) throw new FragmentsTooDeep();
      measuring.add(name);
      const type = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType;
      const measured = measure(fragment.selectionSet, type);
      measuring.delete(name);
      fragmentMeasures.set(name, measured);
      return measured;
    }

    function measure(set: SelectionSetNode, parent: GraphQLCompositeType | null): Measure {
      let maxDepth = 0;
      let cost = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const fieldDef: GraphQLField<unknown, unknown> | undefined =
            parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
          cost += 1;
          if (!selection.selectionSet) continue;
          const fieldType = fieldDef ? getNullableType(fieldDef.type) : null;
          const named = fieldDef ? (getNamedType(fieldDef.type) as GraphQLCompositeType) : null;
          // A connection's own page size already multiplies its edges, so those lists do not count again.
          const many = !isConnection(parent) && ((fieldType && isListType(fieldType)) || isConnection(named));
          const size = many ? Math.max(1, requestedSize(selection, variables) ?? DEFAULT_LIST_SIZE) : 1;
          const child = measure(selection.selectionSet, named);
          maxDepth = Math.max(maxDepth, 1 + child.depth);
          cost += size * child.cost;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const typeName = selection.typeCondition?.name.value;
          const type = typeName ? (schema.getType(typeName) as GraphQLCompositeType) : parent;
          const child = measure(selection.selectionSet, type);
          maxDepth = Math.max(maxDepth, child.depth);
          cost += child.cost;
        } else {
          const child = measureFragment(selection.name.value);
          maxDepth = Math.max(maxDepth, child.depth);
          cost += child.cost;
        }
      }
      return { depth: maxDepth, cost };
    }

    return {
      OperationDefinition(operation) {
        const root =
          operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
        let measured: Measure;
        try {
          measured = measure(operation.selectionSet, root ?? null);
        } catch (error) {
          if (!(error instanceof FragmentsTooDeep)) throw error;
          context.reportError(limitError(`Query is too deep: fragments nested more than ${MAX_FRAGMENT_NESTING} levels`, 'QUERY_TOO_DEEP'));
          return;
        }
        // Root fields are at depth 1.
        const depth = 1 + measured.depth;
        const cost = measured.cost;
        if (depth > limits.maxDepth) {
          context.reportError(limitError(`Query is too deep: depth ${depth} exceeds the limit of ${limits.maxDepth}`, 'QUERY_TOO_DEEP'));
        }
        if (cost > limits.maxCost) {
          context.reportError(limitError(`Query is too expensive: estimated cost ${cost} exceeds the limit of ${limits.maxCost}`, 'QUERY_TOO_COSTLY'));
        }
      },
    };
  };
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
