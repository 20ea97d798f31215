import {
  parse,
  print,
  validate,
  visit,
  visitWithTypeInfo,
  getNamedType,
  isEnumType,
  specifiedRules,
  Kind,
  TypeInfo,
  isSpecifiedScalarType,
  type ASTNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { OperationResults } from './operation-types.js';
import { documentLimitsRule, type DocumentLimits } from '../schema/limits.js';

/**
 * Every GraphQL operation a REST route runs, by name. Routes (routes.ts) refer to these names;
 * the documents are parsed and validated once, at start-up, so a broken one stops the server from starting.
 *
 * REST keeps its v2 contract on top of the GraphQL one: lists read page N directly with `first`/`offset` (not
 * cursors), things are read by their numeric `databaseId`, mutations get the thing's global id
 * (params.ts `thingGlobalId`), and the UPPER_SNAKE codes and enum values GraphQL answers are mapped back to the v2
 * strings (pipeline.ts, shapes/actions.ts).
 */
const FRAGMENTS = /* GraphQL */ `
  fragment V2MiniUser on User { username resourceUrl webUrl }
  fragment V2FullUser on User {
    ...V2MiniUser firstname lastname avatar about city country url email registeredAt
  }
  fragment V2MiniThing on Thing { databaseId resourceUrl webUrl url title image flattrCount owner { ...V2MiniUser } }
  fragment V2Flattr on Flattr {
    createdAt
    owner { ...V2MiniUser ...V2FullUser @include(if: $full) }
    thing { ...V2MiniThing ...V2Thing @include(if: $full) }
  }
  fragment V2ActionThing on Thing { databaseId resourceUrl webUrl url title image flattrCount }
  fragment V2MutationError on MutationError { code message }
  fragment V2Subscription on ThingSubscription { active createdAt startedAt thing { ...V2Thing } }
  fragment V2Activity on Activity { verb published actor { username } thing { databaseId title } }
  fragment V2Thing on Thing {
    databaseId resourceUrl webUrl url flattrCount flattrUserCount title description tags
    language { id } category { id } createdAt hidden image
    owner { ...V2MiniUser ...V2FullUser @include(if: $full) }
    viewerState { flattred subscribed }
    ownerView { lastFlattrAt updatedAt }
  }
`;

const OPERATIONS = /* GraphQL */ `
  query Categories { categories { id text } }
  query Languages { languages { id text } }
  query UserByUsername($username: String!) { user(username: $username) { ...V2FullUser } }
  query Viewer { viewer { ...V2FullUser } }
  query ThingById($id: Int!, $full: Boolean!) { thing(id: $id) { ...V2Thing } }
  query ThingsByIds($ids: [Int!]!, $full: Boolean!) { things(ids: $ids) { ...V2Thing } }
  query UserThings($username: String!, $first: Int!, $offset: Int!, $full: Boolean!) {
    user(username: $username) { username things(first: $first, offset: $offset) { edges { node { ...V2Thing } } } }
  }
  query ViewerThings($first: Int!, $offset: Int!, $full: Boolean!) {
    viewer { username things(first: $first, offset: $offset) { edges { node { ...V2Thing } } } }
  }
  query UserFlattrs($username: String!, $first: Int!, $offset: Int!, $full: Boolean!) {
    user(username: $username) { username flattrs(first: $first, offset: $offset) { edges { node { ...V2Flattr } } } }
  }
  query ViewerFlattrs($first: Int!, $offset: Int!, $full: Boolean!) {
    viewer { username flattrs(first: $first, offset: $offset) { edges { node { ...V2Flattr } } } }
  }
  query ThingFlattrs($id: Int!, $first: Int!, $offset: Int!, $full: Boolean!) {
    thing(id: $id) { databaseId title owner { username } flattrs(first: $first, offset: $offset) { edges { node { ...V2Flattr } } } }
  }
  query UserActivities($username: String!, $direction: ActivityDirection!, $first: Int!, $offset: Int!) {
    user(username: $username) { username activities(direction: $direction, first: $first, offset: $offset) { edges { node { ...V2Activity } } } }
  }
  query ViewerSubscriptions($full: Boolean!) { viewer { subscriptions { ...V2Subscription } } }
  mutation CreateThing($input: ThingInput!) {
    createThing(input: $input) { __typename ... on CreateThingSuccess { thing { databaseId resourceUrl } } ...V2MutationError }
  }
  mutation UpdateThing($id: ID!, $patch: ThingPatch!) {
    updateThing(id: $id, patch: $patch) { __typename ... on UpdateThingSuccess { thing { databaseId } } ...V2MutationError }
  }
  query ThingInputProblem($id: ID, $input: ThingInput, $patch: ThingPatch) {
    thingInputProblem(id: $id, input: $input, patch: $patch) { ...V2MutationError }
  }
  mutation DeleteThing($id: ID!) { deleteThing(id: $id) { __typename ...V2MutationError } }
  mutation FlattrThing($id: ID!) {
    flattrThing(id: $id) { __typename ... on FlattrSuccess { thing { ...V2ActionThing } } ...V2MutationError }
  }
  mutation FlattrUrl($url: String!) {
    flattrUrl(url: $url) { __typename ... on FlattrSuccess { thing { ...V2ActionThing } } ...V2MutationError }
  }
  mutation Subscribe($thingId: ID!) {
    subscribe(thingId: $thingId) { __typename ... on SubscribeSuccess { thing { ...V2ActionThing } } ...V2MutationError }
  }
  mutation ToggleSubscription($thingId: ID!) {
    toggleSubscription(thingId: $thingId) { __typename ... on ToggleSubscriptionSuccess { subscription { active } } ...V2MutationError }
  }
  mutation Unsubscribe($thingId: ID!) { unsubscribe(thingId: $thingId) { __typename ...V2MutationError } }
  query ViewerActivities($direction: ActivityDirection!, $first: Int!, $offset: Int!) {
    viewer { username activities(direction: $direction, first: $first, offset: $offset) { edges { node { ...V2Activity } } } }
  }
  query LookupThing($url: String!) { lookupThing(url: $url) { databaseId resourceUrl } }
  query SearchThings(
    $query: String, $url: String, $tags: String, $languages: [String!], $categories: [String!], $user: String,
    $sort: ThingSearchSort!, $first: Int!, $offset: Int!, $full: Boolean!
  ) {
    searchThings(
      query: $query, url: $url, tags: $tags, languages: $languages, categories: $categories, user: $user,
      sort: $sort, first: $first, offset: $offset
    ) { totalCount edges { node { ...V2Thing } } }
  }
`;

/** The whole document: every operation and the fragments they use (scripts/codegen-rest.ts types it). */
export const REST_OPERATIONS_DOCUMENT = OPERATIONS + FRAGMENTS;

/** The name of an operation of OPERATIONS (rest-facade/operation-types.ts maps each to its result type). */
export type OperationName = keyof OperationResults;

export interface CompiledOperations {
  get(name: string): DocumentNode;
  /**
   * Runs the operation: compiled once at start-up with graphql-jit into a function that resolves exactly the
   * operation's selection, instead of graphql-js walking the document on every request.
   */
  execute(name: string, variables: Record<string, unknown>, contextValue: unknown): Promise<ExecutionResult>;
}

/**
 * Operations compiled without graphql-jit's leaf serialization: a String, Int or Boolean value is taken as the resolver
 * gives it (still checked for null and errors) instead of going through the scalar's serializer, which for every leaf
 * of every item also builds the location and path arrays of a possible error (issue 18: 30 things x ~25 leaves per
 * page). Only for the thing lists, whose leaves are all read from typed columns (int4, text, boolean: already numbers,
 * strings and booleans) or are custom scalars (DateTime, still serialized); `leafSerializationUnneeded` refuses any
 * other leaf type (an enum's value would come out unmapped, an ID or Float uncoerced) at start-up.
 */
const UNSERIALIZED_LEAVES = new Set<string>(['UserThings', 'ViewerThings']);

const TAKEN_AS_IS = new Set<string>(['String', 'Int', 'Boolean']);

/** Whether every leaf the document selects is a String, Int or Boolean (taken as is) or a custom scalar (serialized). */
export function leafSerializationUnneeded(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let unneeded = true;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const type = typeInfo.getType();
        const named = type ? getNamedType(type) : undefined;
        if (isEnumType(named) || (named !== undefined && isSpecifiedScalarType(named) && !TAKEN_AS_IS.has(named.name))) unneeded = false;
      },
    }),
  );
  return unneeded;
}

export function compileOperations(schema: GraphQLSchema, limits: DocumentLimits): CompiledOperations {
  const document = parse(REST_OPERATIONS_DOCUMENT);
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const byName = new Map<string, DocumentNode>();
  const compiledByName = new Map<string, CompiledQuery>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION || !definition.name) continue;
    // One document per operation, holding only the fragments it is validated with.
    const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [definition, ...fragments] };
    const used = usedFragments(single);
    const trimmed: DocumentNode = { kind: Kind.DOCUMENT, definitions: [definition, ...fragments.filter((f) => used.has(f.name.value))] };
    const errors = validate(schema, trimmed, [...specifiedRules, documentLimitsRule(limits)]);
    if (errors.length > 0) {
      throw new Error(`REST operation ${definition.name.value} is invalid: ${errors.map((e) => e.message).join('; ')}`);
    }
    byName.set(definition.name.value, trimmed);
    const name = definition.name.value;
    const unserialized = UNSERIALIZED_LEAVES.has(name);
    if (unserialized && !leafSerializationUnneeded(schema, trimmed)) {
      throw new Error(`REST operation ${name} selects a leaf that needs serializing (an enum, ID or Float): take it out of UNSERIALIZED_LEAVES`);
    }
    // A private copy of the AST: graphql-jit memoises on AST nodes, and the fragment nodes are shared by every operation.
    const compiled = compileQuery(schema, parse(print(trimmed)), name, unserialized ? { disableLeafSerialization: true } : {});
    if (!isCompiledQuery(compiled)) throw new Error(`REST operation ${definition.name.value} does not compile: ${JSON.stringify(compiled.errors)}`);
    compiledByName.set(definition.name.value, compiled);
  }
  return {
    get(name) {
      const doc = byName.get(name);
      if (!doc) throw new Error(`Unknown REST operation ${name}`);
      return doc;
    },
    async execute(name, variables, contextValue) {
      const compiled = compiledByName.get(name);
      if (!compiled) throw new Error(`Unknown REST operation ${name}`);
      return compiled.query(undefined, contextValue, variables);
    },
  };
}

function usedFragments(document: DocumentNode): Set<string> {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const used = new Set<string>();
  const pending: string[] = [];
  const collect = (node: ASTNode) =>
    visit(node, {
      FragmentSpread(spread) {
        if (!used.has(spread.name.value)) {
          used.add(spread.name.value);
          pending.push(spread.name.value);
        }
      },
    });
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) collect(d);
  while (pending.length > 0) {
    const fragment = fragments.get(pending.pop()!);
    if (fragment) collect(fragment);
  }
  return used;
}
