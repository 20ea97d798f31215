/**
 * What the `flattr_live` notifications say (src/migrations/Migration20261205010000LiveEvents.ts issues them from
 * triggers, inside the writing transaction, so only committed writes are ever announced).
 */
export type LiveNotification =
  | { kind: 'flattr'; flattrId: number; thingId: number }
  | { kind: 'thing'; op: 'insert' | 'update' | 'delete'; thingId: number; ownerId: number; hidden: boolean }
  | { kind: 'stats' }
  | { kind: 'bulk' }
  | { kind: 'token'; tokenId: number };

export const LIVE_CHANNEL = 'flattr_live';

const positive = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0;

/** A notification payload, or null for anything else (the channel is ours, but a payload is never trusted blindly). */
export function parseNotification(payload: string | undefined): LiveNotification | null {
  if (!payload || payload.length > 1000) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  switch (value.k) {
    case 'flattr':
      return positive(value.f) && positive(value.t) ? { kind: 'flattr', flattrId: value.f, thingId: value.t } : null;
    case 'thing':
      if (!positive(value.t) || !positive(value.o) || typeof value.h !== 'boolean') return null;
      if (value.op !== 'insert' && value.op !== 'update' && value.op !== 'delete') return null;
      return { kind: 'thing', op: value.op, thingId: value.t, ownerId: value.o, hidden: value.h };
    case 'stats':
      return { kind: 'stats' };
    case 'bulk':
      return { kind: 'bulk' };
    case 'token':
      return positive(value.id) ? { kind: 'token', tokenId: value.id } : null;
    default:
      return null;
  }
}
