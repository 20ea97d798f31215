import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../src/config/config.js';
import type { Clock } from '../src/config/clock.js';
import type { Viewer } from '../src/services/tokens.js';
import type { LiveSession } from '../src/services/live/hub.js';

/** Built once per request, for /graphql and for every in-process REST operation alike. */
export interface GraphQLContext {
  em: EntityManager;
  clock: Clock;
  config: AppConfig;
  /** The user behind a valid access token, with its scopes; null for anonymous callers. */
  viewer: Viewer | null;
  /** Subscriptions over /graphql only (src/server/live.ts): the process's live hub and who is subscribing. */
  live?: LiveSession;
}
