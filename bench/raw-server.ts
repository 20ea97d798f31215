/**
 * The physical limit of two REST reads on this machine (issues 9 and 18): plain `node:http` and `pg`, one prepared
 * statement per request, the same JSON body as our server gives an anonymous caller (spec §8.3 key order):
 *
 * - `GET /things/:id` as `GET /rest/v2/things/:id`: a thing joined with its owner;
 * - `GET /users/:username/things?count=30&full=1` as `GET /rest/v2/users/:username/things?count=30&full=1`: the
 *   user (matched case-insensitively) and a lateral page of their visible things, newest first (created_at desc,
 *   id desc, as src/services/listings.ts orders them), each with the full owner object (§8.2; no email or
 *   registered_at for an anonymous caller). Only that exact query string is served: it is the bench's page.
 *
 * No routing library, no ORM, no GraphQL, no content negotiation, rate limit, ETag or CORS.
 *
 * Env: DATABASE_URL, PORT, HOST (127.0.0.1), API_URL and SITE_URL (as given to our server), POOL_MAX (10, our
 * ORM's pool size).
 */
import http from 'node:http';
import pg from 'pg';

const apiUrl = (process.env.API_URL ?? 'http://localhost:3000/rest/v2').replace(/\/+$/, '');
const siteUrl = (process.env.SITE_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });

const THING_BY_ID = {
  name: 'raw_thing_by_id',
  text: `select t.id, t.url, t.flattrs_count, t.flattrs_user_count, t.title, t.description, t.tags, t.language_id, t.category_id,
                t.created_at, t.hidden, t.image, u.username
         from things t join users u on u.id = t.owner_id where t.id = $1`,
};

/** One statement: the user (none: 404) and up to 30 of their visible things (none: one row of nulls, an empty page). */
const USER_THINGS = {
  name: 'raw_user_things',
  text: `select u.username, u.firstname, u.lastname, u.avatar, u.about, u.city, u.country, u.url as user_url,
                t.id, t.url, t.flattrs_count, t.flattrs_user_count, t.title, t.description, t.tags, t.language_id,
                t.category_id, t.created_at, t.hidden, t.image
         from users u
         left join lateral (
           select * from things t where t.owner_id = u.id and not t.hidden order by t.created_at desc, t.id desc limit 30
         ) t on true
         where lower(u.username) = lower($1)`,
};

interface Row {
  id: number;
  url: string;
  flattrs_count: number;
  flattrs_user_count: number;
  title: string;
  description: string;
  tags: string[];
  language_id: string;
  category_id: string;
  created_at: Date;
  hidden: boolean;
  image: string;
  username: string;
}

interface UserThingRow extends Omit<Row, 'id'> {
  id: number | null;
  firstname: string;
  lastname: string;
  avatar: string;
  about: string;
  city: string;
  country: string;
  user_url: string;
}

function body(row: Row): string {
  return JSON.stringify(thing(row, miniOwner(row.username)));
}

function miniOwner(username: string) {
  const user = encodeURIComponent(username.toLowerCase());
  return { type: 'user', resource: `${apiUrl}/users/${user}`, link: `${siteUrl}/profile/${user}`, username };
}

function fullOwner(row: UserThingRow) {
  const user = encodeURIComponent(row.username.toLowerCase());
  return {
    type: 'user',
    resource: `${apiUrl}/users/${user}`,
    link: `${siteUrl}/profile/${user}`,
    username: row.username,
    firstname: row.firstname,
    lastname: row.lastname,
    avatar: row.avatar,
    about: row.about,
    city: row.city,
    country: row.country,
    url: row.user_url,
  };
}

function pageBody(rows: UserThingRow[]): string {
  if (rows[0]!.id === null) return '[]';
  const owner = fullOwner(rows[0]!);
  return JSON.stringify(rows.map((row) => thing(row as Row, owner)));
}

function thing(row: Row, owner: object) {
  return {
    type: 'thing',
    resource: `${apiUrl}/things/${row.id}`,
    link: `${siteUrl}/thing/${row.id}`,
    id: row.id,
    url: row.url,
    flattrs: row.flattrs_count,
    flattrs_user_count: row.flattrs_user_count,
    title: row.title,
    description: row.description,
    tags: row.tags,
    language: row.language_id,
    category: row.category_id,
    created_at: Math.floor(row.created_at.getTime() / 1000),
    owner,
    hidden: row.hidden,
    image: row.image,
  };
}

const THING_PATH = /^\/things\/([1-9][0-9]{0,9})$/;
const USER_THINGS_PATH = /^\/users\/([^/?]{1,200})\/things\?count=30&full=1$/;
const JSON_TYPE = { 'Content-Type': 'application/json; charset=utf-8' };

function notFound(res: http.ServerResponse) {
  res.writeHead(404, JSON_TYPE).end('{"error":"not_found"}');
}

function failed(res: http.ServerResponse) {
  return (error: unknown) => {
    process.stderr.write(`raw-server: ${String(error)}\n`);
    res.writeHead(500).end();
  };
}

function username(encoded: string): string | null {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
}

const server = http.createServer((req, res) => {
  const url = req.method === 'GET' ? (req.url ?? '') : '';
  const thingMatch = THING_PATH.exec(url);
  if (thingMatch) {
    pool.query<Row>({ ...THING_BY_ID, values: [Number(thingMatch[1])] }).then((result) => {
      const row = result.rows[0];
      if (!row) notFound(res);
      else res.writeHead(200, JSON_TYPE).end(body(row));
    }, failed(res));
    return;
  }
  const userMatch = USER_THINGS_PATH.exec(url);
  const name = userMatch ? username(userMatch[1]!) : null;
  if (name === null) {
    notFound(res);
    return;
  }
  pool.query<UserThingRow>({ ...USER_THINGS, values: [name] }).then((result) => {
    if (result.rows.length === 0) notFound(res);
    else res.writeHead(200, JSON_TYPE).end(pageBody(result.rows));
  }, failed(res));
});

server.listen(Number(process.env.PORT ?? 3100), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`raw server listening on ${JSON.stringify(server.address())}\n`);
});

const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
