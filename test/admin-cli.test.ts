import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/** The real CLI in a child process, on this file's own database (DATABASE_URL in its environment). */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let database: TestDatabase;

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: database.url };
  delete env.TEST_DATABASE_URL;
  delete env.DATA_DIR;
  return env;
}

function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: process.cwd(), env: childEnv(), timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const admin = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args]);

async function query(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const nowUnix = () => Math.floor(Date.now() / 1000);

/** Success: exactly one line of JSON on stdout, nothing on stderr. Returns the parsed record. */
function expectRecord(result: Run): Record<string, unknown> {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.endsWith('\n')).toBe(true);
  expect(result.stdout.trimEnd().includes('\n')).toBe(false);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Failure: nothing on stdout, one line on stderr. */
function expectFailure(result: Run, code: number): string {
  expect(result.stdout).toBe('');
  expect(result.code).toBe(code);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const line = result.stderr.slice(0, -1);
  expect(line.includes('\n')).toBe(false);
  return line;
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('admin CLI: user', () => {
  it('user create prints the new user (never the password) and stores a hashed password', async () => {
    const t0 = nowUnix();
    const result = await admin(
      'user', 'create', '--username', 'Alice', '--email', 'alice@example.org', '--password', 'correct horse',
      '--firstname', 'Alice', '--lastname', 'Liddell', '--means', '500',
    );
    const record = expectRecord(result);
    expect(record.registered_at).toBeGreaterThanOrEqual(t0);
    expect(record.registered_at).toBeLessThanOrEqual(nowUnix());
    expect(result.stdout).toBe(
      `${JSON.stringify({
        username: 'Alice',
        email: 'alice@example.org',
        firstname: 'Alice',
        lastname: 'Liddell',
        means: 500,
        registered_at: record.registered_at,
      })}\n`,
    );
    const [row] = await query('select password_hash, balance_cents from users where username = $1', ['Alice']);
    expect(row!.balance_cents).toBe(500);
    expect(String(row!.password_hash)).toMatch(/^scrypt\$/);
    expect(result.stdout).not.toContain('scrypt');
  });

  it('user create without optional flags: empty names, no means', async () => {
    const record = expectRecord(await admin('user', 'create', '--username', 'bob', '--email', 'bob@example.org', '--password', 'hunter22!'));
    expect(record).toEqual({ username: 'bob', email: 'bob@example.org', firstname: '', lastname: '', means: 0, registered_at: expect.any(Number) });
  });

  it('refuses a username already taken, whatever its case', async () => {
    const result = await admin('user', 'create', '--username', 'aLiCe', '--email', 'other@example.org', '--password', 'password1');
    expect(expectFailure(result, 1)).toBe('Username is already taken');
    expect(await query(`select username from users where lower(username) = 'alice'`)).toEqual([{ username: 'Alice' }]);
  });

  it('reports the service validation messages', async () => {
    const short = await admin('user', 'create', '--username', 'carol', '--email', 'carol@example.org', '--password', 'short');
    expect(expectFailure(short, 1)).toBe('Password must be at least 8 characters');
    const means = await admin('user', 'create', '--username', 'carol', '--email', 'carol@example.org', '--password', 'password1', '--means', '1.5');
    expect(expectFailure(means, 1)).toBe('Means must be a whole number of cents, 0 or more');
  });

  it('user fund adds to the balance and prints the changed user', async () => {
    const result = await admin('user', 'fund', '--username', 'ALICE', '--cents', '250');
    const record = expectRecord(result);
    expect(result.stdout).toBe(
      `${JSON.stringify({
        username: 'Alice',
        email: 'alice@example.org',
        firstname: 'Alice',
        lastname: 'Liddell',
        means: 750,
        registered_at: record.registered_at,
      })}\n`,
    );
    expect(await query(`select balance_cents from users where username = 'Alice'`)).toEqual([{ balance_cents: 750 }]);
  });

  it('user fund refuses an unknown user and a non-positive amount', async () => {
    expect(expectFailure(await admin('user', 'fund', '--username', 'nobody', '--cents', '5'), 1)).toBe('The requested user could not be found');
    expect(expectFailure(await admin('user', 'fund', '--username', 'Alice', '--cents', '0'), 1)).toBe('Cents must be a positive whole number');
  });

  it('prints only the JSON through `npm run --silent admin`', async () => {
    const result = await run('npm', ['run', '--silent', 'admin', '--', 'user', 'fund', '--username', 'bob', '--cents', '1']);
    const record = expectRecord(result);
    expect(result.stdout).toBe(
      `${JSON.stringify({ username: 'bob', email: 'bob@example.org', firstname: '', lastname: '', means: 1, registered_at: record.registered_at })}\n`,
    );
  });
});

describe('admin CLI: thing', () => {
  it('thing create applies the defaults (category rest, language en_GB, no tags, visible)', async () => {
    const t0 = nowUnix();
    const result = await admin('thing', 'create', '--owner', 'alice', '--url', 'https://example.org/first');
    const record = expectRecord(result);
    expect(record.id).toEqual(expect.any(Number));
    expect(record.created_at).toBeGreaterThanOrEqual(t0);
    expect(record.created_at).toBeLessThanOrEqual(nowUnix());
    expect(result.stdout).toBe(
      `${JSON.stringify({
        id: record.id,
        url: 'https://example.org/first',
        title: 'https://example.org/first',
        description: '',
        category: 'rest',
        language: 'en_GB',
        tags: [],
        hidden: false,
        owner: 'Alice',
        created_at: record.created_at,
      })}\n`,
    );
    const rows = await query(
      'select t.id, t.url, t.category_id, t.language_id, t.hidden, u.username from things t join users u on u.id = t.owner_id',
    );
    expect(rows).toEqual([{ id: record.id, url: 'https://example.org/first', category_id: 'rest', language_id: 'en_GB', hidden: false, username: 'Alice' }]);
  });

  it('thing create with every flag: tags split and de-duplicated, hidden', async () => {
    const result = await admin(
      'thing', 'create', '--owner', 'bob', '--url', 'https://example.org/second', '--title', 'Second thing',
      '--description', 'About <b>it</b>', '--category', 'software', '--language', 'sv_SE', '--tags', 'a, b,,A,c d', '--hidden',
    );
    const record = expectRecord(result);
    expect(result.stdout).toBe(
      `${JSON.stringify({
        id: record.id,
        url: 'https://example.org/second',
        title: 'Second thing',
        description: 'About it',
        category: 'software',
        language: 'sv_SE',
        tags: ['a', 'b', 'c d'],
        hidden: true,
        owner: 'bob',
        created_at: record.created_at,
      })}\n`,
    );
    expect(await query('select tags, hidden from things where id = $1', [record.id])).toEqual([{ tags: ['a', 'b', 'c d'], hidden: true }]);
  });

  it('refuses an invalid category, an unknown owner and a duplicate url', async () => {
    const category = await admin('thing', 'create', '--owner', 'alice', '--url', 'https://example.org/third', '--category', 'nonsense');
    expect(expectFailure(category, 1)).toBe('Invalid category');
    const owner = await admin('thing', 'create', '--owner', 'nobody', '--url', 'https://example.org/third');
    expect(expectFailure(owner, 1)).toBe('The requested user could not be found');
    const duplicate = await admin('thing', 'create', '--owner', 'alice', '--url', 'https://example.org/first');
    expect(expectFailure(duplicate, 1)).toBe('A thing with that url already exists');
    expect(await query(`select count(*)::int as n from things`)).toEqual([{ n: 2 }]);
  });
});

describe('admin CLI: command line errors', () => {
  it('an unknown flag exits 2 with a usage line', async () => {
    const line = expectFailure(await admin('user', 'create', '--username', 'dave', '--colour', 'blue'), 2);
    expect(line).toMatch(/^Unknown option '--colour'/);
    expect(line).toContain('Usage: admin user create --username U --email E --password P');
  });

  it('a missing required option, a stray argument or an unknown command exits 2', async () => {
    const [missing, stray, unknown, none] = await Promise.all([
      admin('thing', 'create', '--owner', 'alice'),
      admin('user', 'fund', '--username', 'bob', '--cents', '5', 'extra'),
      admin('user', 'delete', '--username', 'bob'),
      admin(),
    ]);
    expect(expectFailure(missing, 2)).toBe(
      'Missing required option --url. Usage: admin thing create --owner U --url URL [--title T] [--description D] [--category C] [--language L] [--tags a,b] [--hidden]',
    );
    expect(expectFailure(stray, 2)).toMatch(/^Unexpected argument 'extra'.*Usage: admin user fund --username U --cents N$/);
    expect(expectFailure(unknown, 2)).toMatch(/^Unknown command "user delete"\. Usage: admin user create .* \| admin user fund /);
    expect(expectFailure(none, 2)).toMatch(/^No command given\. Usage: /);
    expect(await query(`select balance_cents from users where username = 'bob'`)).toEqual([{ balance_cents: 1 }]);
  });
});

describe('admin CLI: app and token', () => {
  it('app create registers a client, prints the secret once and stores only its hash', async () => {
    expectRecord(await admin('user', 'create', '--username', 'appowner', '--email', 'owner@example.org', '--password', 'correct horse'));
    const record = expectRecord(
      await admin('app', 'create', '--owner', 'appowner', '--name', 'Podcast player', '--redirect-uri', 'gpodder://flattr-token/', '--redirect-uri', 'https://app.example/cb'),
    );
    expect(record).toEqual({
      client_id: expect.stringMatching(/^[A-Za-z0-9]{64}$/),
      client_secret: expect.stringMatching(/^[A-Za-z0-9]{64}$/),
      name: 'Podcast player',
      redirect_uris: ['gpodder://flattr-token/', 'https://app.example/cb'],
      token_format: 'opaque',
      owner: 'appowner',
    });
    const rows = await query('select client_secret_hash from oauth_clients where client_id = $1', [record.client_id]);
    expect(rows[0]!.client_secret_hash).not.toContain(record.client_secret as string);
    expect(rows[0]!.client_secret_hash).toMatch(/^[0-9a-f]{64}$/);

    const line = expectFailure(await admin('app', 'create', '--owner', 'appowner', '--name', 'Bad', '--redirect-uri', 'javascript:alert(1)'), 1);
    expect(line).toBe('Callback URL scheme not allowed: javascript:alert(1)');
    expect(expectFailure(await admin('app', 'create', '--owner', 'appowner', '--name', 'X', '--redirect-uri', 'https://a.example', '--token-format', 'paseto'), 2)).toMatch(
      /^--token-format must be opaque or jwt\. Usage: admin app create/,
    );
  });

  it('token create issues a working token with the given scopes (stats included), token revoke stops it', async () => {
    const app = expectRecord(await admin('app', 'create', '--owner', 'appowner', '--name', 'Dashboards', '--redirect-uri', 'https://dash.example/cb'));
    const token = expectRecord(await admin('token', 'create', '--user', 'appowner', '--client', app.client_id as string, '--scope', 'stats, flattr thing'));
    expect(token).toEqual({ access_token: expect.stringMatching(/^[0-9a-f]{40}$/), token_type: 'bearer', scope: 'flattr thing stats' });
    const stored = await query('select scopes, revoked_at from oauth_access_tokens where token_hash = encode(sha256($1::bytea), $2)', [token.access_token, 'hex']);
    expect(stored).toEqual([{ scopes: ['flattr', 'thing', 'stats'], revoked_at: null }]);

    expect(expectFailure(await admin('token', 'create', '--user', 'appowner', '--client', app.client_id as string, '--scope', 'admin'), 2)).toMatch(/^Unknown scope "admin"/);
    expect(expectFailure(await admin('token', 'create', '--user', 'appowner', '--client', 'nope'), 1)).toBe('Unknown client_id "nope"');

    const revoked = expectRecord(await admin('token', 'revoke', '--token', token.access_token as string));
    expect(revoked).toEqual({ revoked: true, client_id: app.client_id, user: 'appowner', revoked_at: expect.any(Number) });
    const after = await query('select revoked_at from oauth_access_tokens where token_hash = encode(sha256($1::bytea), $2)', [token.access_token, 'hex']);
    expect(after[0]!.revoked_at).toBeInstanceOf(Date);
    expect(expectFailure(await admin('token', 'revoke', '--token', 'f'.repeat(40)), 1)).toBe('Unknown access token');

    const jwtApp = expectRecord(await admin('app', 'create', '--owner', 'appowner', '--name', 'Internal', '--redirect-uri', 'https://int.example/cb', '--token-format', 'jwt'));
    const jwtToken = expectRecord(await admin('token', 'create', '--user', 'appowner', '--client', jwtApp.client_id as string, '--scope', 'stats'));
    expect(jwtToken.access_token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const claims = JSON.parse(Buffer.from((jwtToken.access_token as string).split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ client_id: jwtApp.client_id, scope: 'stats' });
  });
});
