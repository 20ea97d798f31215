import type { EntityManager } from '@mikro-orm/postgresql';
import { readRows, timestamp, type ReadStatement } from './statement.js';

/** A subscription as GraphQL shows it (`ThingSubscription`): plain values, the user and the thing by id. */
export interface SubscriptionRecord {
  id: number;
  user: { id: number };
  thing: { id: number };
  active: boolean;
  createdAt: Date;
  startedAt: Date;
}

interface SubscriptionColumns {
  id: number;
  user_id: number;
  thing_id: number;
  active: boolean;
  created_at: string;
  started_at: string;
}

/** E17 (D59): newest first, then thing id desc. A user has at most 1,000 (SECURITY.md, collections and their bounds). */
const SUBSCRIPTIONS_OF_USER: ReadStatement = {
  name: 'read_subscriptions_of_user',
  text:
    'select s.id, s.user_id, s.thing_id, s.active, s.created_at, s.started_at from subscriptions s ' +
    'where s.user_id = $1 order by s.created_at desc, s.thing_id desc',
};

export async function subscriptionRecordsOfUser(em: EntityManager, userId: number): Promise<SubscriptionRecord[]> {
  const rows = await readRows<SubscriptionColumns>(em, SUBSCRIPTIONS_OF_USER, [userId]);
  return rows.map((row) => ({
    id: row.id,
    user: { id: row.user_id },
    thing: { id: row.thing_id },
    active: row.active,
    createdAt: timestamp(row.created_at),
    startedAt: timestamp(row.started_at),
  }));
}
