import type { EntityManager } from '@mikro-orm/postgresql';
import { readRows, type ReadStatement } from './statement.js';

const FLATTRED: ReadStatement = {
  name: 'read_viewer_flattred',
  text: 'select thing_id from flattrs where user_id = $1 and thing_id = any($2::int[]) and period = $3',
};

const SUBSCRIBED: ReadStatement = {
  name: 'read_viewer_subscribed',
  text: 'select thing_id from subscriptions where user_id = $1 and thing_id = any($2::int[])',
};

/** Which of these things the user flattred in the period (`YYYY-MM`, one flattr per user, thing and period). */
export async function flattredThingIds(em: EntityManager, userId: number, thingIds: readonly number[], period: string): Promise<Set<number>> {
  const rows = await readRows<{ thing_id: number }>(em, FLATTRED, [userId, thingIds, period]);
  return new Set(rows.map((row) => row.thing_id));
}

/** Which of these things the user subscribes to (active or paused). */
export async function subscribedThingIds(em: EntityManager, userId: number, thingIds: readonly number[]): Promise<Set<number>> {
  const rows = await readRows<{ thing_id: number }>(em, SUBSCRIBED, [userId, thingIds]);
  return new Set(rows.map((row) => row.thing_id));
}
