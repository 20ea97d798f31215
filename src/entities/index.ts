export { Category, Language } from './reference.js';
export { User, type UserEntity } from './user.js';
export { Thing, type ThingEntity } from './thing.js';
export { Flattr, type FlattrEntity, periodOf, FLATTR_SOURCES } from './flattr.js';
export { Subscription, type SubscriptionEntity } from './subscription.js';
export { ThingFlattrDay, type ThingFlattrDayEntity } from './thing-flattr-day.js';
export { SearchWindowBase, SearchWindowState, SearchWindowToday, type SearchWindowBaseEntity, type SearchWindowStateEntity, type SearchWindowTodayEntity } from './search-window.js';
export { WebSession, type WebSessionEntity } from './web-session.js';
export { ServerKey, type ServerKeyEntity } from './server-key.js';
export { SearchGeneration, type SearchGenerationEntity } from './search-generation.js';
export { SearchChange, type SearchChangeEntity } from './search-change.js';
export { OAuthClient, AuthorizationCode, AccessToken, type OAuthClientEntity, type AccessTokenEntity } from './oauth.js';
export { JobRun, type JobRunEntity } from './job-run.js';

import { Category, Language } from './reference.js';
import { User } from './user.js';
import { Thing } from './thing.js';
import { Flattr } from './flattr.js';
import { Subscription } from './subscription.js';
import { ThingFlattrDay } from './thing-flattr-day.js';
import { OAuthClient, AuthorizationCode, AccessToken } from './oauth.js';
import { WebSession } from './web-session.js';
import { ServerKey } from './server-key.js';
import { SearchWindowBase, SearchWindowState, SearchWindowToday } from './search-window.js';
import { SearchGeneration } from './search-generation.js';
import { SearchChange } from './search-change.js';
import { JobRun } from './job-run.js';

export const allEntities = [Category, Language, User, Thing, Flattr, Subscription, OAuthClient, AuthorizationCode, AccessToken, WebSession, ServerKey, ThingFlattrDay, SearchGeneration, SearchChange, SearchWindowBase, SearchWindowState, SearchWindowToday, JobRun];
