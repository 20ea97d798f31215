import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { loggedInBrowser, signedUpBrowser } from './support/browser-session.js';
import { runAdmin } from '../src/cli/run.js';
import type { WithDatabase } from '../src/cli/database.js';
import { createClient } from '../src/services/oauth-clients.js';
import { issueAccessToken, resolveAccessToken, sha256Hex } from '../src/services/tokens.js';
import { createAuthorizationCode, findAuthorizationCode } from '../src/services/authorization-codes.js';
import { expiryCleanupJob } from '../src/jobs/jobs.js';
import { findUserByUsername } from '../src/services/users.js';
import { TOO_MANY_SUBSCRIPTIONS } from '../src/services/subscriptions.js';
import {
  APP_DESCRIPTION_MAX,
  APPS_PER_OWNER,
  CALLBACK_URL_MAX,
  CALLBACK_URLS_PER_APP,
  CODE_RETENTION_SECONDS,
  CODES_PER_USER_AND_CLIENT,
  SESSIONS_PER_USER,
  SUBSCRIPTIONS_PER_USER,
  TOKENS_PER_USER_AND_CLIENT,
  USER_NAME_PART_MAX,
} from '../src/services/write-bounds.js';

/**
 * Issue 14, part B: no write, and no run of writes by one user, makes a stored collection unbounded. Each bound is
 * reached with direct inserts, then crossed through the surface a user has (website form, CLI, REST, OAuth).
 */

let app: TestApp;
let fx: Fixtures;

beforeAll(async () => {
  app = await startTestApp();
  fx = new Fixtures(app.orm, app.clock);
});
afterAll(() => app?.close());

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return app.orm.em.fork().getConnection().execute(text, params) as Promise<T[]>;
}

async function count(text: string, params: unknown[] = []): Promise<number> {
  return Number((await sql<{ n: number }>(`select count(*)::int as n from ${text}`, params))[0]!.n);
}

/** `n` applications owned by `ownerId`, inserted directly. */
async function insertApps(ownerId: number, n: number): Promise<void> {
  await sql(
    `insert into oauth_clients (client_id, client_secret_hash, name, callback_urls, owner_id, created_at)
       select 'bulk' || md5(random()::text || g), 'x', 'Bulk ' || g, '{https://bulk.example/cb}', ?, now() from generate_series(1, ?) g`,
    [ownerId, n],
  );
}

const withDatabase: WithDatabase = (work) => work(app.orm.em.fork());

const alertOf = (page: string) => /<p class="error" role="alert" id="app-error">([^<]*)<\/p>/.exec(page)?.[1];

describe('applications (website, CLI)', () => {
  const form = (fields: Record<string, string> = {}) => ({
    name: 'Bounded',
    description: 'An app',
    callback_urls: 'https://bounded.example/cb',
    token_format: 'opaque',
    ...fields,
  });

  it(`a user may own at most ${APPS_PER_OWNER} applications: the form says so, and nothing is stored`, async () => {
    const b = await signedUpBrowser(app.baseUrl, 'appcollector');
    const user = (await findUserByUsername(app.orm.em.fork(), 'appcollector'))!;
    await insertApps(user.id, APPS_PER_OWNER - 1);
    await b.get('/apps/new');
    expect((await b.post('/apps', form({ name: 'The last one' }))).status).toBe(201);
    expect(await count('oauth_clients where owner_id = ?', [user.id])).toBe(APPS_PER_OWNER);

    await b.get('/apps/new');
    const refused = await b.post('/apps', form({ name: 'One too many' }));
    expect(refused.status).toBe(400);
    expect(alertOf(refused.text)).toBe(`At most ${APPS_PER_OWNER} applications per user: delete one to register another`);
    // The form keeps what was typed.
    expect(refused.text).toContain('value="One too many"');
    expect(await count('oauth_clients where owner_id = ?', [user.id])).toBe(APPS_PER_OWNER);

    // Concurrent registrations cannot pass the bound together (a per-owner lock).
    await sql(`delete from oauth_clients where id in (select id from oauth_clients where owner_id = ? order by id limit 3)`, [user.id]);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => createClient(app.orm.em.fork(), app.clock, { ownerId: user.id, name: `Race ${i}`, callbackUrls: ['https://race.example/cb'] })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(await count('oauth_clients where owner_id = ?', [user.id])).toBe(APPS_PER_OWNER);
  });

  it(`at most ${CALLBACK_URLS_PER_APP} callback URLs of at most ${CALLBACK_URL_MAX} characters, and a description of at most ${APP_DESCRIPTION_MAX}`, async () => {
    const b = await signedUpBrowser(app.baseUrl, 'callbacks');
    const urls = (n: number) => Array.from({ length: n }, (_, i) => `https://cb.example/${i}`).join('\r\n');
    const cases: [Record<string, string>, string][] = [
      [{ callback_urls: urls(CALLBACK_URLS_PER_APP + 1) }, `An application may have at most ${CALLBACK_URLS_PER_APP} callback URLs`],
      [{ callback_urls: `https://cb.example/${'a'.repeat(CALLBACK_URL_MAX)}` }, `A callback URL may be at most ${CALLBACK_URL_MAX} characters`],
      [{ description: 'd'.repeat(APP_DESCRIPTION_MAX + 1) }, `The description may be at most ${APP_DESCRIPTION_MAX} characters`],
    ];
    for (const [fields, message] of cases) {
      await b.get('/apps/new');
      const res = await b.post('/apps', form(fields));
      expect(res.status).toBe(400);
      expect(alertOf(res.text)).toBe(message);
    }
    expect(await count(`oauth_clients where name = 'Bounded'`)).toBe(0);
    // Exactly at the bounds (duplicates count once) is fine.
    await b.get('/apps/new');
    const atBounds = await b.post(
      '/apps',
      form({
        callback_urls: `${urls(CALLBACK_URLS_PER_APP)}\r\nhttps://cb.example/0`,
        description: 'd'.repeat(APP_DESCRIPTION_MAX),
      }),
    );
    expect(atBounds.status).toBe(201);
    const [row] = await sql<{ n: number; d: number }>(`select cardinality(callback_urls) as n, length(description) as d from oauth_clients where name = 'Bounded'`);
    expect(row).toEqual({ n: CALLBACK_URLS_PER_APP, d: APP_DESCRIPTION_MAX });
    // The form tells the browser the description's limit.
    expect((await b.get('/apps/new')).text).toContain(`name="description" rows="3" maxlength="${APP_DESCRIPTION_MAX}"`);
  });

  it('the admin CLI refuses the same, with a one-line error and exit 1', async () => {
    await fx.user({ username: 'clifull' });
    const owner = (await findUserByUsername(app.orm.em.fork(), 'clifull'))!;
    const create = (...extra: string[]) => runAdmin(['app', 'create', '--owner', 'clifull', '--name', 'CLI app', ...extra], withDatabase);
    const tooMany = Array.from({ length: CALLBACK_URLS_PER_APP + 1 }, (_, i) => ['--redirect-uri', `https://cli.example/${i}`]).flat();
    expect(await create(...tooMany)).toEqual({ code: 1, stdout: '', stderr: `An application may have at most ${CALLBACK_URLS_PER_APP} callback URLs\n` });
    expect(await create('--redirect-uri', 'https://cli.example/cb', '--description', 'x'.repeat(APP_DESCRIPTION_MAX + 1))).toEqual({
      code: 1,
      stdout: '',
      stderr: `The description may be at most ${APP_DESCRIPTION_MAX} characters\n`,
    });
    await insertApps(owner.id, APPS_PER_OWNER);
    expect(await create('--redirect-uri', 'https://cli.example/cb')).toEqual({
      code: 1,
      stdout: '',
      stderr: `At most ${APPS_PER_OWNER} applications per user: delete one to register another\n`,
    });
    expect(await count('oauth_clients where owner_id = ?', [owner.id])).toBe(APPS_PER_OWNER);
  });

  it(`user create refuses a first or last name over ${USER_NAME_PART_MAX} characters (it was a database error)`, async () => {
    const res = await runAdmin(
      ['user', 'create', '--username', 'longname', '--email', 'l@example.org', '--password', 'long enough', '--firstname', 'f'.repeat(USER_NAME_PART_MAX + 1)],
      withDatabase,
    );
    expect(res).toEqual({ code: 1, stdout: '', stderr: `First name may be at most ${USER_NAME_PART_MAX} characters, without NUL\n` });
    expect(await findUserByUsername(app.orm.em.fork(), 'longname')).toBeNull();
  });
});

describe('OAuth grants', () => {
  it(`keeps at most ${TOKENS_PER_USER_AND_CLIENT} tokens per user and application: a new one retires the oldest`, async () => {
    const user = await fx.user();
    const other = await fx.user();
    const { client } = await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'Token hog', callbackUrls: ['https://hog.example/cb'] });
    const oldest = await issueAccessToken(app.orm.em.fork(), app.clock, { userId: user.id, clientId: client.id, scopes: ['flattr'] });
    const othersToken = await issueAccessToken(app.orm.em.fork(), app.clock, { userId: other.id, clientId: client.id, scopes: ['flattr'] });
    await sql(
      `insert into oauth_access_tokens (token_hash, user_id, client_id, scopes, created_at)
         select encode(sha256(('bulk' || g || random())::bytea), 'hex'), ?, ?, '{flattr}', now() from generate_series(1, ?) g`,
      [user.id, client.id, TOKENS_PER_USER_AND_CLIENT - 1],
    );
    expect(await resolveAccessToken(app.orm.em.fork(), oldest)).not.toBeNull();

    const newest = await issueAccessToken(app.orm.em.fork(), app.clock, { userId: user.id, clientId: client.id, scopes: ['flattr'] });
    expect(await count('oauth_access_tokens where user_id = ? and client_id = ?', [user.id, client.id])).toBe(TOKENS_PER_USER_AND_CLIENT);
    expect(await resolveAccessToken(app.orm.em.fork(), newest)).not.toBeNull();
    // The oldest answers like a revoked token; another user's token of the same application is untouched.
    expect(await resolveAccessToken(app.orm.em.fork(), oldest)).toBeNull();
    expect((await request(app.baseUrl, '/rest/v2/user', { headers: { Authorization: `Bearer ${oldest}` } })).status).toBe(401);
    expect(await resolveAccessToken(app.orm.em.fork(), othersToken)).not.toBeNull();
  });

  it(`keeps at most ${CODES_PER_USER_AND_CLIENT} authorization codes per user and application, and drops codes long expired`, async () => {
    const user = await fx.user();
    const { client } = await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'Code hog', callbackUrls: ['https://codes.example/cb'] });
    const { client: quiet } = await createClient(app.orm.em.fork(), app.clock, { ownerId: null, name: 'Quiet', callbackUrls: ['https://quiet.example/cb'] });
    const newCode = () => createAuthorizationCode(app.orm.em.fork(), app.clock, 600, { clientId: client.id, userId: user.id, scopes: ['flattr'], redirectUri: null, codeChallenge: null });
    const oldest = await newCode();
    const now = app.clock.now().getTime();
    const insertCode = (clientId: number, expiresAt: Date) =>
      sql(`insert into oauth_authorization_codes (code_hash, client_id, user_id, scopes, created_at, expires_at) values (?, ?, ?, '{flattr}', ?, ?)`, [
        sha256Hex(randomBytes(16).toString('hex')),
        clientId,
        user.id,
        new Date(expiresAt.getTime() - 600_000),
        expiresAt,
      ]);
    await sql(
      `insert into oauth_authorization_codes (code_hash, client_id, user_id, scopes, created_at, expires_at)
         select encode(sha256(('code' || g || random())::bytea), 'hex'), ?, ?, '{flattr}', ?, ? from generate_series(1, ?) g`,
      [client.id, user.id, new Date(now), new Date(now + 600_000), CODES_PER_USER_AND_CLIENT - 1],
    );
    // Another application's codes: one expired longer ago than the retention, one expired recently.
    await insertCode(quiet.id, new Date(now - (CODE_RETENTION_SECONDS + 60) * 1000));
    await insertCode(quiet.id, new Date(now - 3_600_000));

    const newest = await newCode();
    expect(await count('oauth_authorization_codes where user_id = ? and client_id = ?', [user.id, client.id])).toBe(CODES_PER_USER_AND_CLIENT);
    expect(await findAuthorizationCode(app.orm.em.fork(), newest)).not.toBeNull();
    expect(await findAuthorizationCode(app.orm.em.fork(), oldest)).toBeNull();
    // Long-expired codes go with the expiry-cleanup job (src/jobs/), off the request path; recently expired ones stay.
    expect(await count('oauth_authorization_codes where client_id = ?', [quiet.id])).toBe(2);
    await expiryCleanupJob.run({ em: app.orm.em.fork(), now: app.clock.now(), logger: pino({ level: 'silent' }) });
    expect(await count('oauth_authorization_codes where client_id = ?', [quiet.id])).toBe(1);
  });
});

describe('website sessions', () => {
  it(`keeps at most ${SESSIONS_PER_USER} sessions per user: one more login ends the oldest`, async () => {
    await signedUpBrowser(app.baseUrl, 'manylogins', 'correct horse battery');
    const user = (await findUserByUsername(app.orm.em.fork(), 'manylogins'))!;
    const future = new Date(app.clock.now().getTime() + 86_400_000);
    await sql(
      `insert into web_sessions (sid_hash, user_id, csrf_token, created_at, expires_at)
         select encode(sha256(('sid' || g || random())::bytea), 'hex'), ?, 'csrf', ?, ? from generate_series(1, ?) g`,
      [user.id, app.clock.now(), future, SESSIONS_PER_USER + 5],
    );
    const b = await loggedInBrowser(app.baseUrl, 'manylogins', 'correct horse battery');
    expect(await count('web_sessions where user_id = ?', [user.id])).toBe(SESSIONS_PER_USER);
    expect((await b.get('/apps')).status).toBe(200);
  });
});

describe('subscriptions (REST E18, GraphQL subscribe)', () => {
  it(`a user may have at most ${SUBSCRIPTIONS_PER_USER}: the next is 403 forbidden`, async () => {
    const owner = await fx.user();
    const fan = await fx.user();
    const token = await fx.token(fan, ['flattr']);
    await sql(
      `insert into things (owner_id, url, title, category_id, language_id, created_at)
         select ?, 'https://bulk-things.example/' || g, 'Bulk ' || g, 'text', 'en_GB', ? from generate_series(1, ?) g`,
      [owner.id, app.clock.now(), SUBSCRIPTIONS_PER_USER + 1],
    );
    const [last] = await sql<{ id: number }>(`select max(id) as id from things where owner_id = ?`, [owner.id]);
    await sql(
      `insert into subscriptions (user_id, thing_id, active, created_at, started_at)
         select ?, id, true, ?, ? from things where owner_id = ? and id < ?`,
      [fan.id, app.clock.now(), app.clock.now(), owner.id, last!.id],
    );
    expect(await count('subscriptions where user_id = ?', [fan.id])).toBe(SUBSCRIPTIONS_PER_USER);

    const res = await request(app.baseUrl, `/rest/v2/things/${last!.id}/subscriptions`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({
      error: 'forbidden',
      error_description: TOO_MANY_SUBSCRIPTIONS,
      error_uri: 'http://developers.flattr.net/api/resources/subscriptions/',
    });
    const gql = await request(app.baseUrl, '/graphql', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: `mutation { subscribe(thingId: "${Buffer.from(`Thing:${last!.id}`).toString('base64')}") { __typename ... on MutationError { code message } } }` }),
    });
    expect(gql.json().data.subscribe).toEqual({ __typename: 'MutationError', code: 'FORBIDDEN', message: TOO_MANY_SUBSCRIPTIONS });
    expect(await count('subscriptions where user_id = ?', [fan.id])).toBe(SUBSCRIPTIONS_PER_USER);

    // One fewer, and the same request succeeds.
    await sql(`delete from subscriptions where id in (select id from subscriptions where user_id = ? limit 1)`, [fan.id]);
    const ok = await request(app.baseUrl, `/rest/v2/things/${last!.id}/subscriptions`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
  });
});
