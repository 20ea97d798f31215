import { activityItem, type ActivityItem } from '../formats/activity-streams.js';
import type { GqlFlattr, GqlThing } from './v2-objects.js';
import type { RestRequest } from '../request.js';

/** What the `as` and `atom` renderings of a list need (spec §13.2 feed table, D24). */
export interface Feed {
  id: string;
  title: string;
  username: string;
  items: ActivityItem[];
}

export interface GqlActivity {
  verb: 'LIKE' | 'POST';
  published: string;
  actor: { username: string };
  thing: { databaseId: number; title: string };
}

function context(request: RestRequest) {
  return { siteUrl: request.links.siteUrl, tagAuthority: request.links.tagAuthority };
}

export function userFeedId(request: RestRequest, username: string, tail: string): string {
  return `${request.links.apiUrl}/users/${encodeURIComponent(username.toLowerCase())}/${tail}`;
}

export function activityItems(activities: GqlActivity[], request: RestRequest): ActivityItem[] {
  return activities.map((a) =>
    activityItem(
      {
        verb: a.verb === 'LIKE' ? 'like' : 'post',
        published: a.published,
        actor: { username: a.actor.username },
        thing: { id: a.thing.databaseId, title: a.thing.title },
      },
      context(request),
    ),
  );
}

/** Each thing of a thing list becomes a `post` item. */
export function thingPostItems(things: GqlThing[], request: RestRequest): ActivityItem[] {
  return things.map((t) =>
    activityItem({ verb: 'post', published: t.createdAt, actor: { username: t.owner.username }, thing: { id: t.databaseId, title: t.title } }, context(request)),
  );
}

/** Each flattr of a flattr list becomes a `like` item. */
export function flattrLikeItems(flattrs: GqlFlattr[], request: RestRequest): ActivityItem[] {
  return flattrs.map((f) =>
    activityItem({ verb: 'like', published: f.createdAt, actor: { username: f.owner.username }, thing: { id: f.thing.databaseId, title: f.thing.title } }, context(request)),
  );
}
