import { periodOf } from '../src/entities/index.js';
import { thingsWithOwners, usersById, type ThingRecord, type UserRecord, type ViewerOfRead } from '../src/services/read-model/rows.js';
import type { GraphQLContext } from './context.js';

/**
 * Batch loads for the dataloader plugin: one statement per type per request tick, whatever the list size, of plain
 * records (src/services/read-model/rows.ts). A thing's owner usually comes with the thing and is not loaded again.
 */
export async function loadUsers(ctx: GraphQLContext, ids: readonly number[]): Promise<(UserRecord | Error)[]> {
  const byId = new Map<number, UserRecord>();
  const viewer = ctx.viewer?.user;
  if (viewer) byId.set(viewer.id, viewer);
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) for (const u of await usersById(ctx.em, missing)) byId.set(u.id, u);
  return ids.map((id) => byId.get(id) ?? new Error(`User ${id} not found`));
}

export async function loadThings(ctx: GraphQLContext, ids: readonly number[]): Promise<(ThingRecord | Error)[]> {
  const byId = new Map((await findThingsWithOwners(ctx, ids)).map((t) => [t.id, t]));
  return ids.map((id) => byId.get(id) ?? new Error(`Thing ${id} not found`));
}

/** The viewer of a read, for the viewer's state read in the same statement; null for anonymous callers. */
export function viewerOfRead(ctx: GraphQLContext): ViewerOfRead | null {
  return ctx.viewer ? { userId: ctx.viewer.user.id, period: periodOf(ctx.clock.now()) } : null;
}

/** Things by id with their owners (and the viewer's state) in one statement; unknown ids are skipped. */
export function findThingsWithOwners(ctx: GraphQLContext, ids: readonly number[]): Promise<ThingRecord[]> {
  return thingsWithOwners(ctx.em, ids, viewerOfRead(ctx));
}
