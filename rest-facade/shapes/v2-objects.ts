/**
 * GraphQL results → v2 objects (spec §8), keys in the spec's table order. Pure reshaping: which fields
 * the caller may see was already decided by the schema (null = not visible).
 */

export interface GqlUser {
  username: string;
  resourceUrl: string;
  webUrl: string;
  firstname?: string;
  lastname?: string;
  avatar?: string;
  about?: string;
  city?: string;
  country?: string;
  url?: string;
  email?: string | null;
  registeredAt?: string | null;
}

export interface GqlThing {
  databaseId: number;
  resourceUrl: string;
  webUrl: string;
  url: string;
  flattrCount: number;
  flattrUserCount: number;
  title: string;
  description: string;
  tags: string[];
  language: { id: string };
  category: { id: string };
  createdAt: string;
  owner: GqlUser;
  hidden: boolean;
  image: string;
  viewerState: { flattred: boolean; subscribed: boolean } | null;
  ownerView: { lastFlattrAt: string | null; updatedAt: string | null } | null;
}

export interface GqlMiniThing {
  databaseId: number;
  resourceUrl: string;
  webUrl: string;
  url: string;
  title: string;
  image: string;
  flattrCount: number;
  owner: GqlUser;
}

export interface GqlFlattr {
  createdAt: string;
  owner: GqlUser;
  /** `...V2MiniThing ...V2Thing @include(if: $full)`: a whole thing only when `full` was set. */
  thing: GqlMiniThing & Partial<GqlThing>;
}

export interface Connection<T> {
  edges: { node: T }[];
}

export function nodes<T>(connection: Connection<T>): T[] {
  return connection.edges.map((edge) => edge.node);
}

/** unixtime (spec §2.1); "never" is 0. */
export function unixtime(iso: string | null | undefined): number {
  return iso ? Math.floor(Date.parse(iso) / 1000) : 0;
}

export function miniUser(user: GqlUser) {
  return { type: 'user', resource: user.resourceUrl, link: user.webUrl, username: user.username };
}

export interface V2FullUser {
  type: 'user';
  resource: string;
  link: string;
  username: string;
  firstname: string;
  lastname: string;
  avatar: string;
  about: string;
  city: string;
  country: string;
  url: string;
  email?: string;
  registered_at?: number;
}

/**
 * One object literal, then the optional keys: spreading `miniUser` and conditional objects into it made every
 * call about 5 µs (30 per page of full things).
 */
export function fullUser(user: GqlUser): V2FullUser {
  const out: V2FullUser = {
    type: 'user',
    resource: user.resourceUrl,
    link: user.webUrl,
    username: user.username,
    firstname: user.firstname ?? '',
    lastname: user.lastname ?? '',
    avatar: user.avatar ?? '',
    about: user.about ?? '',
    city: user.city ?? '',
    country: user.country ?? '',
    url: user.url ?? '',
  };
  if (user.email != null) out.email = user.email;
  if (user.registeredAt != null) out.registered_at = unixtime(user.registeredAt);
  return out;
}

export interface V2Thing {
  type: 'thing';
  resource: string;
  link: string;
  id: number;
  url: string;
  flattrs: number;
  flattrs_user_count: number;
  title: string;
  description: string;
  tags: string[];
  language: string;
  category: string;
  created_at: number;
  owner: ReturnType<typeof miniUser> | V2FullUser;
  hidden: boolean;
  image: string;
  flattred?: boolean;
  subscribed?: boolean;
  last_flattr_at?: number;
  updated_at?: number;
}

/** As `fullUser`: one literal, then the caller's keys in order (spreading conditional objects cost every item). */
export function thing(t: GqlThing, full: boolean): V2Thing {
  const out: V2Thing = {
    type: 'thing',
    resource: t.resourceUrl,
    link: t.webUrl,
    id: t.databaseId,
    url: t.url,
    flattrs: t.flattrCount,
    flattrs_user_count: t.flattrUserCount,
    title: t.title,
    description: t.description,
    tags: t.tags,
    language: t.language.id,
    category: t.category.id,
    created_at: unixtime(t.createdAt),
    owner: full ? fullUser(t.owner) : miniUser(t.owner),
    hidden: t.hidden,
    image: t.image,
  };
  if (t.viewerState) {
    out.flattred = t.viewerState.flattred;
    out.subscribed = t.viewerState.subscribed;
  }
  if (t.ownerView) {
    out.last_flattr_at = unixtime(t.ownerView.lastFlattrAt);
    out.updated_at = unixtime(t.ownerView.updatedAt);
  }
  return out;
}

/** Spec §8.4; `owner` only when nested in a flattr object (the action bodies of §8.11 select none). */
export function miniThing(t: Omit<GqlMiniThing, 'owner'> & { owner?: GqlUser }, withOwner: boolean) {
  return {
    type: 'thing',
    resource: t.resourceUrl,
    link: t.webUrl,
    id: t.databaseId,
    url: t.url,
    title: t.title,
    image: t.image,
    flattrs: t.flattrCount,
    ...(withOwner && t.owner ? { owner: miniUser(t.owner) } : {}),
  };
}

/** A flattr's thing read with `full` set, which selected all of V2Thing (operations.ts, fragment V2Flattr). */
function wholeThing(t: GqlFlattr['thing']): GqlThing {
  if (t.flattrUserCount === undefined) throw new Error("A flattr's thing was read without V2Thing");
  return t as GqlThing;
}

/** Spec §8.6 and §8.5 (`full`). */
export function flattr(f: GqlFlattr, full: boolean) {
  return {
    type: 'flattr',
    thing: full ? thing(wholeThing(f.thing), true) : miniThing(f.thing, true),
    owner: full ? fullUser(f.owner) : miniUser(f.owner),
    created_at: unixtime(f.createdAt),
  };
}

export interface GqlSubscription {
  active: boolean;
  createdAt: string;
  startedAt: string;
  thing: GqlThing;
}

/** Spec §8.7: the thing is a full thing rendered for the caller; `full` makes its owner full. */
export function subscription(s: GqlSubscription, full: boolean) {
  return {
    type: 'subscription',
    active: s.active,
    created_at: unixtime(s.createdAt),
    started_at: unixtime(s.startedAt),
    thing: thing(s.thing, full),
  };
}
