import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { User } from './user.js';

/**
 * A website session. The cookie carries only a signed random session id; this row holds who is logged in
 * and the CSRF token of the session's forms. Logging in replaces the row (no session fixation), logging
 * out deletes it. Visitors (not logged in) have no row: their session is the signed cookie alone (src/web/session.ts).
 */
export const WebSession = defineEntity({
  name: 'WebSession',
  tableName: 'web_sessions',
  properties: {
    id: p.integer().primary().autoincrement(),
    sidHash: p.string().columnType('char(64)').unique('web_sessions_sid_hash_unique'),
    user: p.manyToOne(User).deleteRule('cascade').nullable(),
    csrfToken: p.string().length(64),
    createdAt: p.datetime().columnType('timestamptz'),
    expiresAt: p.datetime().columnType('timestamptz').index('web_sessions_expires_at_idx'),
  },
  // Sessions per user (src/services/write-bounds.ts).
  indexes: [{ name: 'web_sessions_user_idx', properties: ['user'] }],
});

export type WebSessionEntity = InferEntity<typeof WebSession>;
