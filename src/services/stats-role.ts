import type { EntityManager } from '@mikro-orm/postgresql';
import { AccessToken, type OAuthClientEntity } from '../entities/index.js';

/**
 * The internal statistics role (issue 8) is holding an unrevoked access token with scope `stats` of an enabled
 * application; only the admin CLI grants that scope (`admin token create ... --scope stats`). No column, no migration.
 */
export interface StatsGrant {
  /** The id of the newest such token. */
  tokenId: number;
  /** Its application's public client_id. */
  clientId: string;
}

/** The user's newest grant of the statistics role, or null when the user does not have it. */
export async function statsGrant(em: EntityManager, userId: number): Promise<StatsGrant | null> {
  const grant = await em.findOne(
    AccessToken,
    { user: userId, revokedAt: null, client: { enabled: true }, scopes: { $contains: ['stats'] } },
    { populate: ['client'], orderBy: { id: 'desc' } },
  );
  return grant ? { tokenId: grant.id, clientId: (grant.client as OAuthClientEntity).clientId } : null;
}

/** Whether the user has the statistics role (the dashboard shows numbers to them). */
export async function hasStatsRole(em: EntityManager, userId: number): Promise<boolean> {
  return (await statsGrant(em, userId)) !== null;
}
