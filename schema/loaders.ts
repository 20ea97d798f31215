import type { EntityManager } from '@mikro-orm/postgresql';
import { Thing, User, type ThingEntity, type UserEntity } from '../src/entities/index.js';

/** Batch loads for the dataloader plugin: one query per type per request tick, whatever the list size. */
export async function loadUsers(em: EntityManager, ids: readonly number[]): Promise<(UserEntity | Error)[]> {
  const rows = await em.find(User, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((u) => [u.id, u]));
  return ids.map((id) => byId.get(id) ?? new Error(`User ${id} not found`));
}

export async function loadThings(em: EntityManager, ids: readonly number[]): Promise<(ThingEntity | Error)[]> {
  const rows = await em.find(Thing, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((t) => [t.id, t]));
  return ids.map((id) => byId.get(id) ?? new Error(`Thing ${id} not found`));
}
