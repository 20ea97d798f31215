import { builder } from './builder.js';
import { loadThings, loadUsers } from './loaders.js';
import type { SubscriptionRecord } from '../src/services/read-model/subscriptions.js';
import type { FlattrRecord } from '../src/services/flattring.js';
import type { ThingRecord, UserRecord } from '../src/services/read-model/rows.js';
import type { ReferenceEntry } from '../src/services/reference-data.js';
import type { ActivityRecord } from '../src/services/listings.js';
import type { DomainErrorCode } from '../src/services/domain-error.js';

// Refs live apart from their fields so that types can point at each other without import cycles.

export const UserRef = builder.loadableNodeRef('User', {
  id: { resolve: (user: UserRecord) => user.id },
  load: (ids: (string | number)[], ctx) => loadUsers(ctx, ids.map(Number)),
});

export const ThingRef = builder.loadableNodeRef('Thing', {
  id: { resolve: (thing: ThingRecord) => thing.id },
  load: (ids: (string | number)[], ctx) => loadThings(ctx, ids.map(Number)),
});

export const FlattrRef = builder.nodeRef<FlattrRecord>('Flattr', { id: { resolve: (flattr) => flattr.id } });
/** A user's subscription to a thing. Not named `Subscription`: that name would make it the schema's subscription root. */
export const ThingSubscriptionRef = builder.nodeRef<SubscriptionRecord>('ThingSubscription', {
  id: { resolve: (subscription) => `${subscription.user.id}:${subscription.thing.id}` },
});
/** An activity's id derives from its source row: the flattr of a like, the thing of a post. */
export const ActivityRef = builder.nodeRef<ActivityRecord>('Activity', { id: { resolve: (activity) => `${activity.verb}:${activity.sourceId}` } });
/** A category or language: a thing's `{ id }` as read (its text found by id), or a whole reference entry. */
export type ReferenceShape = Pick<ReferenceEntry, 'id'> & Partial<Pick<ReferenceEntry, 'text'>>;
export const CategoryRef = builder.objectRef<ReferenceShape>('Category');
export const LanguageRef = builder.objectRef<ReferenceShape>('Language');

/** Visible only to the thing's owner. */
export const ThingOwnerViewRef = builder.objectRef<ThingRecord>('ThingOwnerView');
/** What the authenticated caller has done with a thing. */
export const ThingViewerStateRef = builder.objectRef<ThingRecord>('ThingViewerState');

/** A domain rule the write was refused by; backed by a DomainError or any `{ code, message }`. */
export interface MutationErrorShape {
  code: DomainErrorCode;
  message: string;
  /** The path of the offending input (e.g. ["input", "title"]); null when the rule is not about one field. */
  field: string[] | null;
}
export const MutationErrorRef = builder.objectRef<MutationErrorShape>('MutationError');
