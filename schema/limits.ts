import {
  GraphQLError,
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

    function measure(set: SelectionSetNode, parent: GraphQLCompositeType | null, depth: number, multiplier: number, seen: Set<string>): { depth: number; cost: number } {
      let maxDepth = depth;
      let cost = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const fieldDef: GraphQLField<unknown, unknown> | undefined =
            parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
          cost += multiplier;
          if (!selection.selectionSet) continue;
          const fieldType = fieldDef ? getNullableType(fieldDef.type) : null;
          const named = fieldDef ? (getNamedType(fieldDef.type) as GraphQLCompositeType) : null;
          // A connection's own page size already multiplies its edges, so those lists do not count again.
          const many = !isConnection(parent) && ((fieldType && isListType(fieldType)) || isConnection(named));
          const size = many ? Math.max(1, requestedSize(selection, variables) ?? DEFAULT_LIST_SIZE) : 1;
          const child = measure(selection.selectionSet, named, depth + 1, multiplier * size, seen);
          maxDepth = Math.max(maxDepth, child.depth);
          cost += child.cost;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const typeName = selection.typeCondition?.name.value;
          const type = typeName ? (schema.getType(typeName) as GraphQLCompositeType) : parent;
          const child = measure(selection.selectionSet, type, depth, multiplier, seen);
          maxDepth = Math.max(maxDepth, child.depth);
          cost += child.cost;
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || seen.has(name)) continue; // unknown or cyclic fragments are reported by the standard rules
          const type = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType;
          const child = measure(fragment.selectionSet, type, depth, multiplier, new Set([...seen, name]));
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
        const { depth, cost } = measure(operation.selectionSet, root ?? null, 1, 1, new Set());
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
