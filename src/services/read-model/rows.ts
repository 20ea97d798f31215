import type { EntityManager } from '@mikro-orm/postgresql';
import { nullableTimestamp, primaryRows, readRows, timestamp, type ReadStatement } from './statement.js';
import { createdWindowSql, createdWindowValues, inDisplayOrder, shapeKey, shapeOf, type CreatedWindow, type CreatedWindowShape } from './created-window.js';

/**
 * Plain records of users and things for read paths: what GraphQL fields show, read by one prepared statement each
 * (src/services/read-model/statement.ts), never managed entities. Entities have the same shape for these
 * properties, so a field resolver takes either (a mutation answers with the entity it wrote).
 */
export interface UserRecord {
  id: number;
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  avatar: string;
  about: string;
  city: string;
  country: string;
  url: string;
  registeredAt: Date;
  hideFlattrs: boolean;
}

export interface ThingRecord {
  id: number;
  url: string;
  title: string;
  description: string;
  tags: string[];
  category: { id: string };
  language: { id: string };
  hidden: boolean;
  image: string;
  createdAt: Date;
  updatedAt?: Date | null;
  lastFlattrAt?: Date | null;
  flattrsCount: number;
  flattrsUserCount: number;
  /** The owner record when read with the thing; an entity or reference (with the id) on write paths. */
  owner: { id: number } | UserRecord;
  /** What the viewer has done with it, when read for a viewer in the same statement (`viewerState`). */
  viewer?: { flattred: boolean; subscribed: boolean };
}

/** The owner read with the thing, or null when only its id is known (then it is loaded by id). */
export function ownerRecordOf(thing: Pick<ThingRecord, 'owner'>): UserRecord | null {
  const owner = thing.owner as Partial<UserRecord>;
  return typeof owner.username === 'string' && owner.registeredAt !== undefined ? (owner as UserRecord) : null;
}

/** The user columns of UserRecord, aliased `<prefix><column>` (UserColumns with prefix `u_`). */
export const USER_COLUMNS = (alias: string, prefix: string) =>
  ['id', 'username', 'email', 'firstname', 'lastname', 'avatar', 'about', 'city', 'country', 'url', 'registered_at', 'hide_flattrs']
    .map((column) => `${alias}.${column} as ${prefix}${column}`)
    .join(', ');

const THING_COLUMNS =
  't.id, t.url, t.title, t.description, t.tags, t.category_id, t.language_id, t.hidden, t.image, t.created_at, t.updated_at, ' +
  't.last_flattr_at, t.flattrs_count, t.flattrs_user_count';

export interface UserColumns {
  u_id: number;
  u_username: string;
  u_email: string;
  u_firstname: string;
  u_lastname: string;
  u_avatar: string;
  u_about: string;
  u_city: string;
  u_country: string;
  u_url: string;
  u_registered_at: string;
  u_hide_flattrs: boolean;
}

interface ThingColumns {
  id: number;
  url: string;
  title: string;
  description: string;
  tags: string[];
  category_id: string;
  language_id: string;
  hidden: boolean;
  image: string;
  created_at: string;
  updated_at: string | null;
  last_flattr_at: string | null;
  flattrs_count: number;
  flattrs_user_count: number;
}

export function userRecordOf(row: UserColumns): UserRecord {
  return {
    id: row.u_id,
    username: row.u_username,
    email: row.u_email,
    firstname: row.u_firstname,
    lastname: row.u_lastname,
    avatar: row.u_avatar,
    about: row.u_about,
    city: row.u_city,
    country: row.u_country,
    url: row.u_url,
    registeredAt: timestamp(row.u_registered_at),
    hideFlattrs: row.u_hide_flattrs,
  };
}

function thingOf(row: ThingColumns, owner: ThingRecord['owner']): ThingRecord {
  return {
    id: row.id,
    url: row.url,
    title: row.title,
    description: row.description,
    tags: row.tags,
    category: { id: row.category_id },
    language: { id: row.language_id },
    hidden: row.hidden,
    image: row.image,
    createdAt: timestamp(row.created_at),
    updatedAt: nullableTimestamp(row.updated_at),
    lastFlattrAt: nullableTimestamp(row.last_flattr_at),
    flattrsCount: row.flattrs_count,
    flattrsUserCount: row.flattrs_user_count,
    owner,
  };
}

const USERS_BY_ID: ReadStatement = {
  name: 'read_users_by_id',
  text: `select ${USER_COLUMNS('u', 'u_')} from users u where u.id = any($1::int[])`,
};

/** Users by id; unknown ids are skipped. */
export async function usersById(em: EntityManager, ids: readonly number[]): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  return (await readRows<UserColumns>(em, USERS_BY_ID, [ids])).map(userRecordOf);
}

const USER_BY_USERNAME: ReadStatement = {
  name: 'read_user_by_username',
  // Matches the unique index on lower(username).
  text: `select ${USER_COLUMNS('u', 'u_')} from users u where lower(u.username) = $1`,
};

/** The user with this username, in any case (spec §2.4); the caller has checked its length. */
export async function userByLowerUsername(em: EntityManager, lowerUsername: string): Promise<UserRecord | null> {
  const [row] = await readRows<UserColumns>(em, USER_BY_USERNAME, [lowerUsername]);
  return row ? userRecordOf(row) : null;
}

/**
 * Things with their owners; the viewer's state comes in the same statement: whether they flattred the thing this
 * period and whether they subscribe to it (two index probes), so a thing read with a token costs no more round trips
 * than without one. One statement for one id (`t.id = $1`, the common case: a plain index probe, cheaper for
 * PostgreSQL than a one-element `= any($1)`), one for several.
 */
function thingStatement(name: string, many: boolean, forViewer: boolean): ReadStatement {
  const viewerColumns = forViewer
    ? ', exists (select 1 from flattrs f where f.user_id = $2 and f.thing_id = t.id and f.period = $3) as viewer_flattred, ' +
      'exists (select 1 from subscriptions s where s.user_id = $2 and s.thing_id = t.id) as viewer_subscribed'
    : '';
  return {
    name,
    text:
      `select ${THING_COLUMNS}, ${USER_COLUMNS('u', 'u_')}${viewerColumns} from things t join users u on u.id = t.owner_id ` +
      `where t.id = ${many ? 'any($1::int[])' : '$1'}`,
  };
}

const THING_WITH_OWNER = thingStatement('read_thing_with_owner', false, false);
const THINGS_WITH_OWNERS = thingStatement('read_things_with_owners', true, false);
const THING_WITH_OWNER_FOR_VIEWER = thingStatement('read_thing_with_owner_for_viewer', false, true);
const THINGS_WITH_OWNERS_FOR_VIEWER = thingStatement('read_things_with_owners_for_viewer', true, true);

/** For a viewer: their id and the current flattr period (`YYYY-MM`, UTC). */
export interface ViewerOfRead {
  userId: number;
  period: string;
}

/**
 * Things by id with their owners (and the viewer's state, for a viewer) in one statement; unknown ids are skipped.
 * `onPrimary`: read on the primary (a write's answer, read back after its commit).
 */
export async function thingsWithOwners(em: EntityManager, ids: readonly number[], viewer: ViewerOfRead | null, onPrimary = false): Promise<ThingRecord[]> {
  if (ids.length === 0) return [];
  const run = onPrimary ? primaryRows : readRows;
  const id = ids.length === 1 ? ids[0] : ids;
  if (viewer === null) {
    const statement = ids.length === 1 ? THING_WITH_OWNER : THINGS_WITH_OWNERS;
    return (await run<ThingColumns & UserColumns>(em, statement, [id])).map((row) => thingOf(row, userRecordOf(row)));
  }
  const rows = await run<ThingColumns & UserColumns & { viewer_flattred: boolean; viewer_subscribed: boolean }>(
    em,
    ids.length === 1 ? THING_WITH_OWNER_FOR_VIEWER : THINGS_WITH_OWNERS_FOR_VIEWER,
    [id, viewer.userId, viewer.period],
  );
  return rows.map((row) => ({ ...thingOf(row, userRecordOf(row)), viewer: { flattred: row.viewer_flattred, subscribed: row.viewer_subscribed } }));
}

export type { CreatedWindow } from './created-window.js';

const thingsOfOwnerStatements = new Map<string, ReadStatement>();

/**
 * One statement per window shape (hidden things or not, after/before bounds, direction): at most 16 texts, each
 * prepared once per connection, on the things_owner_created_idx index. Parameters: owner, limit, offset, then each
 * bound present (time, id).
 */
function thingsOfOwnerStatement(withHidden: boolean, shape: CreatedWindowShape): ReadStatement {
  const key = `${+withHidden}${shapeKey(shape)}`;
  let statement = thingsOfOwnerStatements.get(key);
  if (!statement) {
    const { bounds, orderBy } = createdWindowSql('t', shape, 4);
    const where = ['t.owner_id = $1', ...(withHidden ? [] : ['not t.hidden']), ...bounds];
    statement = {
      name: `read_things_of_owner_${key}`,
      text: `select ${THING_COLUMNS} from things t where ${where.join(' and ')} order by ${orderBy} limit $2 offset $3`,
    };
    thingsOfOwnerStatements.set(key, statement);
  }
  return statement;
}

/**
 * A window of an owner's things, newest first (E3/E4), each with `owner` set to the given owner record (no second
 * read of the owner); hidden ones only when `withHidden` (the owner reading their own list).
 */
export async function thingsOfOwner(em: EntityManager, owner: UserRecord, withHidden: boolean, window: CreatedWindow): Promise<ThingRecord[]> {
  const statement = thingsOfOwnerStatement(withHidden, shapeOf(window));
  const values: unknown[] = [owner.id, window.limit, window.offset ?? 0, ...createdWindowValues(window)];
  const rows = (await readRows<ThingColumns>(em, statement, values)).map((row) => thingOf(row, owner));
  return inDisplayOrder(rows, window);
}

/** A user with a page of their things, newest first (`userWithThingsPage`). */
export interface UserWithThings {
  user: UserRecord;
  things: ThingRecord[];
}

/**
 * The user by lowercased username and a page of their things in one statement: the user's row (none when the user
 * does not exist) with the page as a JSON array (`[]` when empty), read over the things_owner_created_idx index. As
 * JSON rather than one joined row per thing: the client parses one value instead of 26 per thing (the user's 12
 * repeated in each), which costs our process, the bottleneck, about a third less per page than the joined rows and a
 * quarter less than the two statements, PostgreSQL a little more (issue 18, bench/README.md). For a viewer, hidden
 * things only when they are the user (`t.owner_id = $4`), and their state per thing as `thingStatement` reads it.
 */
function userWithThingsStatement(forViewer: boolean): ReadStatement {
  const visible = forViewer ? '(not t.hidden or t.owner_id = $4)' : 'not t.hidden';
  const viewerColumns = forViewer
    ? ', exists (select 1 from flattrs f where f.user_id = $4 and f.thing_id = t.id and f.period = $5) as viewer_flattred, ' +
      'exists (select 1 from subscriptions s where s.user_id = $4 and s.thing_id = t.id) as viewer_subscribed'
    : '';
  return {
    name: forViewer ? 'read_user_with_things_for_viewer' : 'read_user_with_things',
    text:
      `select ${USER_COLUMNS('u', 'u_')}, (select coalesce(json_agg(p order by p.created_at desc, p.id desc), '[]') from (` +
      `select ${THING_COLUMNS}${viewerColumns} from things t where t.owner_id = u.id and ${visible} ` +
      'order by t.created_at desc, t.id desc limit $2 offset $3) p) as things from users u where lower(u.username) = $1',
  };
}

const USER_WITH_THINGS = userWithThingsStatement(false);
const USER_WITH_THINGS_FOR_VIEWER = userWithThingsStatement(true);

/** A thing of the page as JSON gives it: timestamps as ISO text, like the text the ORM's connection gives. */
type ThingOfPage = ThingColumns & { viewer_flattred?: boolean; viewer_subscribed?: boolean };
type UserWithThingColumns = UserColumns & { things: ThingOfPage[] | string };

/**
 * The user with this lowercased username (as `userByLowerUsername`) and `limit` of their things after `offset`,
 * newest first, each with `owner` set to the user record; hidden ones only when the viewer is the user, and for a
 * viewer their state per thing (`viewer`).
 */
export async function userWithThingsPage(
  em: EntityManager,
  lowerUsername: string,
  viewer: ViewerOfRead | null,
  page: { limit: number; offset: number },
): Promise<UserWithThings | null> {
  const rows =
    viewer === null
      ? await readRows<UserWithThingColumns>(em, USER_WITH_THINGS, [lowerUsername, page.limit, page.offset])
      : await readRows<UserWithThingColumns>(em, USER_WITH_THINGS_FOR_VIEWER, [lowerUsername, page.limit, page.offset, viewer.userId, viewer.period]);
  const row = rows[0];
  if (!row) return null;
  const user = userRecordOf(row);
  const items = typeof row.things === 'string' ? (JSON.parse(row.things) as ThingOfPage[]) : row.things;
  const things = new Array<ThingRecord>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const thing = thingOf(item, user);
    if (viewer !== null) thing.viewer = { flattred: item.viewer_flattred!, subscribed: item.viewer_subscribed! };
    things[i] = thing;
  }
  return { user, things };
}
