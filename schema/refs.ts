import { builder } from './builder.js';
import { loadThings, loadUsers } from './loaders.js';
import type { FlattrEntity, SubscriptionEntity, ThingEntity, UserEntity } from '../src/entities/index.js';
import type { ReferenceEntry } from '../src/services/reference-data.js';
import type { ActivityRecord } from '../src/services/listings.js';
import type { DomainErrorCode } from '../src/services/domain-error.js';

// Refs live apart from their fields so that types can point at each other without import cycles.

export const UserRef = builder.loadableNodeRef('User', {
  id: { resolve: (user: UserEntity) => user.id },
  load: (ids: (string | number)[], ctx) => loadUsers(ctx.em, ids.map(Number)),
});

export const ThingRef = builder.loadableNodeRef('Thing', {
  id: { resolve: (thing: ThingEntity) => thing.id },
  load: (ids: (string | number)[], ctx) => loadThings(ctx.em, ids.map(Number)),
});

export const FlattrRef = builder.objectRef<FlattrEntity>('Flattr');
export const SubscriptionRef = builder.objectRef<SubscriptionEntity>('Subscription');
export const ActivityRef = builder.objectRef<ActivityRecord>('Activity');
export const CategoryRef = builder.objectRef<ReferenceEntry>('Category');
export const LanguageRef = builder.objectRef<ReferenceEntry>('Language');

/** Visible only to the thing's owner (spec §8.3 fields 19-20). */
export const ThingOwnerViewRef = builder.objectRef<ThingEntity>('ThingOwnerView');
/** What the authenticated caller has done with a thing (spec §8.3 fields 17-18). */
export const ThingViewerStateRef = builder.objectRef<ThingEntity>('ThingViewerState');

/** A domain rule the write was refused by (spec §6.2 codes); backed by a DomainError or any `{ code, message }`. */
export interface MutationErrorShape {
  code: DomainErrorCode;
  message: string;
}
export const MutationErrorRef = builder.objectRef<MutationErrorShape>('MutationError');
