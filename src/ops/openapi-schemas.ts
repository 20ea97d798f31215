/**
 * Hand-written OpenAPI 3.1 (JSON Schema 2020-12) component schemas for every REST v2 object (spec §8, §6.1, §7.6,
 * §13.1) and the values write parameters share (`Tags`, `Flag`). Key order follows the spec's tables, as the
 * responses do. The paths that use them, and the write bodies (`ThingCreate`, ...: objects of a route's declared
 * body parameters), are generated from the route declarations (openapi.ts).
 */

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const arrayOf = (name: string): Schema => ({ type: 'array', items: ref(name) });

const unixtime = (description: string): Schema => ({ type: 'integer', format: 'int64', description: `${description} (unixtime, seconds).` });
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Schema = {}): Schema => ({ type: 'integer', description, ...extra });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const constant = (value: string): Schema => ({ type: 'string', const: value });

const miniUserProperties = {
  type: constant('user'),
  resource: str('`{API_URL}/users/{lower-case username}`.', { format: 'uri' }),
  link: str('`{SITE_URL}/profile/{lower-case username}`.', { format: 'uri' }),
  username: str('As stored (usernames are unique regardless of case).'),
};

const miniThingProperties = {
  type: constant('thing'),
  resource: str('`{API_URL}/things/{id}`.', { format: 'uri' }),
  link: str('`{SITE_URL}/thing/{id}`.', { format: 'uri' }),
  id: int('Thing id.', { minimum: 1 }),
  url: str('The URL the thing points to.', { format: 'uri' }),
  title: str('Title.'),
  image: str('URL of the thing image, "" if none.'),
  flattrs: int('Flattrs ever made on the thing.', { minimum: 0 }),
};

export const COMPONENT_SCHEMAS: Record<string, Schema> = {
  MiniUser: {
    type: 'object',
    description: 'Mini user object (spec §8.2).',
    properties: miniUserProperties,
    required: Object.keys(miniUserProperties),
    additionalProperties: false,
  },
  User: {
    type: 'object',
    description:
      'Full user object (spec §8.1). `email` only for the caller\'s own user with scope email or extendedread; `registered_at` only for the caller\'s own user with scope extendedread (D40).',
    properties: {
      ...miniUserProperties,
      firstname: str('"" if unset.'),
      lastname: str('"" if unset.'),
      avatar: str('URL of a 48×48 image, "" if none.'),
      about: str('Short description, "" if unset.'),
      city: str('"" if unset.'),
      country: str('"" if unset.'),
      url: str("The user's website, \"\" if unset."),
      email: str('E-mail address; see the visibility rule above.', { format: 'email' }),
      registered_at: unixtime('Registration time; see the visibility rule above'),
    },
    required: [...Object.keys(miniUserProperties), 'firstname', 'lastname', 'avatar', 'about', 'city', 'country', 'url'],
    additionalProperties: false,
  },
  Thing: {
    type: 'object',
    description:
      'Full thing object (spec §8.3), rendered for the caller: `flattred` and `subscribed` appear for authenticated callers, `last_flattr_at` and `updated_at` for the owner.',
    properties: {
      type: constant('thing'),
      resource: miniThingProperties.resource,
      link: miniThingProperties.link,
      id: miniThingProperties.id,
      url: miniThingProperties.url,
      flattrs: miniThingProperties.flattrs,
      flattrs_user_count: int('Distinct users who ever flattred it.', { minimum: 0 }),
      title: str('Title (at most 100 characters).'),
      description: str('"" if none.'),
      tags: { type: 'array', items: { type: 'string' }, description: 'May be empty.' },
      language: str('A language id (GET /languages).'),
      category: str('A category id (GET /categories).'),
      created_at: unixtime('Creation time'),
      owner: { oneOf: [ref('MiniUser'), ref('User')], description: 'Mini user; a full user with `full`.' },
      hidden: bool('Hidden from listings (spec §12.3).'),
      image: miniThingProperties.image,
      flattred: bool('The caller flattred it in the current period (D41). Authenticated callers only.'),
      subscribed: bool('The caller has a subscription to it, running or paused (D42). Authenticated callers only.'),
      last_flattr_at: unixtime('Most recent flattr, 0 if none; owner only'),
      updated_at: unixtime('Most recent successful update, 0 if never; owner only'),
    },
    required: ['type', 'resource', 'link', 'id', 'url', 'flattrs', 'flattrs_user_count', 'title', 'description', 'tags', 'language', 'category', 'created_at', 'owner', 'hidden', 'image'],
    additionalProperties: false,
  },
  MiniThing: {
    type: 'object',
    description: 'Mini thing object (spec §8.4). `owner` (a mini user) only when nested in a flattr object.',
    properties: { ...miniThingProperties, owner: ref('MiniUser') },
    required: Object.keys(miniThingProperties),
    additionalProperties: false,
  },
  Flattr: {
    type: 'object',
    description: 'Flattr object (spec §8.6). With `full`, the thing is a full thing and the owner a full user (§8.5).',
    properties: {
      type: constant('flattr'),
      thing: { oneOf: [ref('MiniThing'), ref('Thing')] },
      owner: { oneOf: [ref('MiniUser'), ref('User')], description: 'The user who flattred.' },
      created_at: unixtime('Time of the flattr'),
    },
    required: ['type', 'thing', 'owner', 'created_at'],
    additionalProperties: false,
  },
  Subscription: {
    type: 'object',
    description: 'Subscription object (spec §8.7).',
    properties: {
      type: constant('subscription'),
      active: bool('True while running, false while paused.'),
      created_at: unixtime('Creation time'),
      started_at: unixtime('When it last became active (D43)'),
      thing: ref('Thing'),
    },
    required: ['type', 'active', 'created_at', 'started_at', 'thing'],
    additionalProperties: false,
  },
  SearchResult: {
    type: 'object',
    description: 'Search result envelope (spec §8.8).',
    properties: {
      total_items: int('Things matching, over all pages.', { minimum: 0 }),
      items: int('Things on this page.', { minimum: 0 }),
      page: int('The page returned.', { minimum: 1 }),
      things: arrayOf('Thing'),
    },
    required: ['total_items', 'items', 'page', 'things'],
    additionalProperties: false,
  },
  Category: {
    type: 'object',
    description: 'Category object (spec §8.9, §15.1).',
    properties: { id: str('Category id, e.g. "text".'), text: str('Display name.') },
    required: ['id', 'text'],
    additionalProperties: false,
  },
  Language: {
    type: 'object',
    description: 'Language object (spec §8.9, §15.2).',
    properties: { id: str('Language id, e.g. "en_GB".'), text: str('Display name.') },
    required: ['id', 'text'],
    additionalProperties: false,
  },
  RateLimit: {
    type: 'object',
    description: "The caller's rate-limit bucket (spec §7.6).",
    properties: {
      hourly_limit: int('The limit.'),
      remaining_hits: int('max(0, limit − current).'),
      current_hits: int('Requests counted in the active window.'),
      reset_time_in_seconds: unixtime('End of the active window (an absolute time, despite the name; D39)'),
      reset_time: str('The same instant, e.g. "Tue, 17 Jul 2012 10:45:39 +0000 GMT".'),
    },
    required: ['hourly_limit', 'remaining_hits', 'current_hits', 'reset_time_in_seconds', 'reset_time'],
    additionalProperties: false,
  },
  ThingCreated: {
    type: 'object',
    description: 'E8 create body (spec §8.11). `link` is the API resource URL.',
    properties: { id: int('The new thing id.'), link: str('`{API_URL}/things/{id}`.', { format: 'uri' }), message: constant('ok'), description: constant('Thing was created successfully') },
    required: ['id', 'link', 'message', 'description'],
    additionalProperties: false,
  },
  ThingUpdated: {
    type: 'object',
    description: 'E9 update body (spec §8.11).',
    properties: { message: constant('ok'), description: constant('Thing was updated correctly') },
    required: ['message', 'description'],
    additionalProperties: false,
  },
  Flattred: {
    type: 'object',
    description: 'E15/E16 flattr body (spec §8.11): the mini thing without owner, and the deprecated `location` (D45).',
    properties: {
      message: constant('ok'),
      description: constant('Thing was successfully flattred'),
      thing: ref('MiniThing'),
      location: str('`{API_URL}/things/{id}`.', { format: 'uri' }),
    },
    required: ['message', 'description', 'thing', 'location'],
    additionalProperties: false,
  },
  Subscribed: {
    type: 'object',
    description: 'E18 subscribe body (spec §8.11).',
    properties: { message: constant('ok'), description: constant('Successfully subscribed to Thing'), thing: ref('MiniThing') },
    required: ['message', 'description', 'thing'],
    additionalProperties: false,
  },
  SubscriptionToggled: {
    type: 'object',
    description: 'E19 toggle body (spec §8.11): the state the subscription is in now.',
    oneOf: [
      { properties: { message: constant('started'), description: constant('Subscription started') } },
      { properties: { message: constant('paused'), description: constant('Subscription paused') } },
    ],
    required: ['message', 'description'],
  },
  LookupFound: {
    type: 'object',
    description: 'E7 found body (spec §8.11), with status 302 and the same URL in `Location`.',
    properties: { message: constant('found'), location: str('`{API_URL}/things/{id}`, no suffix or query (D51).', { format: 'uri' }) },
    required: ['message', 'location'],
    additionalProperties: false,
  },
  LookupNotFound: {
    type: 'object',
    description: 'E7 not-found body (spec §8.11, D46): the documented fields, then the standard error fields.',
    properties: {
      message: constant('not_found'),
      description: constant('No thing was found'),
      error: constant('not_found'),
      error_description: constant('No thing was found'),
      error_uri: str('Documentation URL.', { format: 'uri' }),
    },
    required: ['message', 'description', 'error', 'error_description', 'error_uri'],
    additionalProperties: false,
  },
  Error: {
    type: 'object',
    description: 'Error body of every 4xx and 5xx (spec §6.1); JSON unless the negotiated format is xml or yaml.',
    properties: {
      error: {
        type: 'string',
        description: 'Machine code (spec §6.2).',
        enum: [
          'invalid_request',
          'invalid_parameters',
          'validation',
          'unauthorized',
          'no_means',
          'rate_limit_exceeded',
          'insufficient_scope',
          'forbidden',
          'flattr_once',
          'flattr_owner',
          'thing_owner',
          'subscribed',
          'not_found',
          'not_acceptable',
          'server_error',
        ],
      },
      error_description: str('English text; clients must not parse it.'),
      error_uri: str('Documentation URL (spec §6.3).', { format: 'uri' }),
    },
    required: ['error', 'error_description', 'error_uri'],
    additionalProperties: false,
  },
  ActivityStream: {
    type: 'object',
    description: 'Activity Streams JSON 1.0 document (spec §13.1): exactly one key, `items`.',
    properties: { items: arrayOf('Activity') },
    required: ['items'],
    additionalProperties: false,
  },
  Activity: {
    type: 'object',
    description: 'One activity (spec §12.7, §13.1): a flattr (`like`) or a new thing (`post`).',
    properties: {
      published: str('UTC time, `YYYY-MM-DDTHH:MM:SS+00:00` (D79).'),
      title: str('`{user} flattred "{title}"` or `{user} submitted "{title}"`.'),
      actor: {
        type: 'object',
        properties: { displayName: str('Username.'), url: str('Profile URL.', { format: 'uri' }), objectType: constant('person') },
        required: ['displayName', 'url', 'objectType'],
      },
      verb: { type: 'string', enum: ['like', 'post'] },
      object: {
        type: 'object',
        properties: { displayName: str('Thing title.'), url: str('Thing page URL (§13.4).', { format: 'uri' }), objectType: constant('bookmark') },
        required: ['displayName', 'url', 'objectType'],
      },
      id: str('`tag:` URI (§13.1).'),
    },
    required: ['published', 'title', 'actor', 'verb', 'object', 'id'],
    additionalProperties: false,
  },
  AtomFeed: { type: 'string', description: 'Activity Streams Atom 1.0 feed (spec §13.2), as XML text.' },
  ReferenceText: { type: 'string', description: 'One line per entry: id, TAB, text, LF (spec §5.9).' },
  Tags: {
    description: 'A comma-separated string (elements trimmed, empty ones dropped) or a JSON array of strings (D19).',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  },
  Flag: {
    description: 'Boolean (spec §4.4): JSON true/false or 1/0, or a string 1/true/yes/on or 0/false/no/off/"" (any case).',
    oneOf: [{ type: 'boolean' }, { type: 'integer', enum: [0, 1] }, { type: 'string' }],
  },
};
