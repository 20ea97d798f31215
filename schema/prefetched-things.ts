import { Kind, type GraphQLResolveInfo, type ValueNode } from 'graphql';
import { forwardPageWindow, type ConnectionArgs } from './connections.js';
import type { ListWindow, CreatedKey } from '../src/services/listings.js';
import type { ThingRecord, UserRecord } from '../src/services/read-model/rows.js';

/**
 * A page of a user's things read in the same statement as the user (`Query.user`), for `User.things` to use instead
 * of a second statement (issue 18: one statement per root field where the shape allows it). The `user` resolver
 * looks at its own selection: when it holds `things` with a plain forward page (`first`/`offset`, as REST E3 and
 * most GraphQL clients ask), it reads the user and that page at once and remembers the page here; `things` takes it
 * when the window it would read is exactly that one, for the same viewer, and reads as before otherwise.
 */
interface PrefetchedPage {
  limit: number;
  offset: number;
  viewerId: number | null;
  things: ThingRecord[];
}

// Keyed by the user record the `user` field resolved to: one per request, collected with it.
const pages = new WeakMap<UserRecord, PrefetchedPage>();

const PAGE_ARGUMENTS = new Set<string>(['first', 'last', 'after', 'before', 'offset']);

function argumentValue(value: ValueNode, variables: Record<string, unknown>): unknown {
  switch (value.kind) {
    case Kind.VARIABLE:
      return variables[value.name.value] ?? null;
    case Kind.INT:
      return Number(value.value);
    case Kind.NULL:
      return null;
    default:
      // A cursor literal or anything else: not a plain forward page.
      return undefined;
  }
}

/**
 * The window `things` will read first under this `user` field (connections.ts `forwardPageWindow`), or null when the
 * selection holds no `things` field directly (only in fragments, or under a directive) or it asks for another kind of
 * page. Looks at the first direct `things` field only: another one (an alias with other arguments) reads on its own.
 */
export function plannedThingsWindow(info: GraphQLResolveInfo, maxPageSize: number): { limit: number; offset: number } | null {
  for (const fieldNode of info.fieldNodes) {
    for (const selection of fieldNode.selectionSet?.selections ?? []) {
      if (selection.kind !== Kind.FIELD || selection.name.value !== 'things') continue;
      if (selection.directives && selection.directives.length > 0) return null;
      const args: ConnectionArgs = {};
      for (const argument of selection.arguments ?? []) {
        const name = argument.name.value;
        const value = argumentValue(argument.value, info.variableValues);
        if (!PAGE_ARGUMENTS.has(name) || value === undefined) return null;
        if (value !== null && typeof value !== 'number' && name !== 'after' && name !== 'before') return null;
        (args as Record<string, unknown>)[name] = value;
      }
      return forwardPageWindow(args, maxPageSize);
    }
  }
  return null;
}

export function rememberThingsPage(user: UserRecord, window: { limit: number; offset: number }, viewerId: number | null, things: ThingRecord[]): void {
  pages.set(user, { limit: window.limit, offset: window.offset, viewerId, things });
}

/** The page read with the user when `window` is the one read, for the same viewer; null otherwise. */
export function prefetchedThings(user: UserRecord, window: ListWindow<CreatedKey>, viewerId: number | null): ThingRecord[] | null {
  const page = pages.get(user);
  if (
    page === undefined ||
    page.viewerId !== viewerId ||
    page.limit !== window.limit ||
    page.offset !== (window.offset ?? 0) ||
    window.after != null ||
    window.before != null ||
    window.fromEnd === true
  ) {
    return null;
  }
  return page.things;
}
