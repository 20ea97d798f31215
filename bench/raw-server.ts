/**
 * The physical limit of `GET /things/:id` on this machine (issue 9): plain `node:http` and `pg`, one prepared
 * statement, the same JSON body as `GET /rest/v2/things/:id` gives an anonymous caller (spec §8.3 key order).
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

function body(row: Row): string {
  const user = encodeURIComponent(row.username.toLowerCase());
  return JSON.stringify({
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
    owner: { type: 'user', resource: `${apiUrl}/users/${user}`, link: `${siteUrl}/profile/${user}`, username: row.username },
    hidden: row.hidden,
    image: row.image,
  });
}

const PATH = /^\/things\/([1-9][0-9]{0,9})$/;

const server = http.createServer((req, res) => {
  const match = req.method === 'GET' && req.url ? PATH.exec(req.url) : null;
  if (!match) {
    res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' }).end('{"error":"not_found"}');
    return;
  }
  pool.query<Row>({ ...THING_BY_ID, values: [Number(match[1])] }).then(
    (result) => {
      const row = result.rows[0];
      if (!row) res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' }).end('{"error":"not_found"}');
      else res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(body(row));
    },
    (error: unknown) => {
      process.stderr.write(`raw-server: ${String(error)}\n`);
      res.writeHead(500).end();
    },
  );
});

server.listen(Number(process.env.PORT ?? 3100), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`raw server listening on ${JSON.stringify(server.address())}\n`);
});

const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
