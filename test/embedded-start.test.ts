/**
 * The acceptance scenario end to end: the real server on the embedded PostgreSQL (no DATABASE_URL),
 * the admin CLI against it while it runs, a clean SIGTERM, and a second start on the same DATA_DIR.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { findFreePort } from '../src/db/free-port.js';
import { request } from './support/http.js';

const CATEGORIES = [
  { id: 'text', text: 'Text' },
  { id: 'images', text: 'Images' },
  { id: 'video', text: 'Video' },
  { id: 'audio', text: 'Audio' },
  { id: 'software', text: 'Software' },
  { id: 'people', text: 'People' },
  { id: 'rest', text: 'Other' },
];

interface Server {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dataDir = '';
const servers: Server[] = [];

/** The environment of the user's shell, without any database URL: the embedded database is the point. */
function embeddedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.DATABASE_URL;
  delete env.TEST_DATABASE_URL;
  return env;
}

async function startServer(): Promise<Server> {
  const port = await findFreePort('127.0.0.1');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: process.cwd(),
    env: embeddedEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const server: Server = { child, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited };
  servers.push(server);

  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output}`);
    }
    try {
      const response = await fetch(`${server.baseUrl}/rest/v2/categories`);
      await response.arrayBuffer();
      if (response.ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not answer within 45 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stopServer(server: Server, signal: NodeJS.Signals = 'SIGTERM') {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal);
  return server.exited;
}

/** pid of the PostgreSQL running on dataDir according to its postmaster.pid, or null. */
function postmasterPid(): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Postmasters running on this dataDir (`pgrep -f "postgres -D <dataDir>/pg"`). */
function runningPostgres(): number[] {
  const result = spawnSync('pgrep', ['-f', `postgres -D ${path.join(dataDir, 'pg')}( |$)`], { encoding: 'utf8' });
  return result.stdout.split('\n').filter(Boolean).map(Number);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function admin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/admin.ts', ...args],
      { cwd: process.cwd(), env: embeddedEnv({ DATA_DIR: dataDir }), timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp('/tmp/flattr-embedded-start-');
  await fs.chmod(dataDir, 0o755); // PostgreSQL runs as OS user "postgres" when the tests run as root
});

afterAll(async () => {
  for (const server of servers) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) continue;
    server.child.kill('SIGTERM');
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
    await server.exited;
    clearTimeout(timer);
  }
  const leftover = postmasterPid();
  if (leftover !== null && isAlive(leftover)) {
    process.kill(leftover, 'SIGQUIT');
    for (let i = 0; i < 50 && isAlive(leftover); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('npm start without DATABASE_URL (embedded PostgreSQL in DATA_DIR)', () => {
  let first: Server;
  const username = 'Embedded_Eve';

  it('starts on a fresh DATA_DIR and serves REST and GraphQL', async () => {
    first = await startServer();
    expect(first.output()).toContain('initialising a new PostgreSQL cluster');

    const json = await request(first.baseUrl, '/rest/v2/categories');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.json()).toEqual(CATEGORIES);

    const xml = await request(first.baseUrl, '/rest/v2/categories.xml');
    expect(xml.status).toBe(200);
    expect(xml.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(xml.text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<categories type="array">/);
    expect([...xml.text.matchAll(/<id>([^<]*)<\/id>/g)].map((m) => m[1])).toEqual(CATEGORIES.map((c) => c.id));

    const yaml = await request(first.baseUrl, '/rest/v2/categories', { headers: { Accept: 'application/yaml' } });
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(parseYaml(yaml.text)).toEqual(CATEGORIES);

    const missing = await request(first.baseUrl, '/rest/v2/users/nobody');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe(
      '{"error":"not_found","error_description":"The requested user could not be found","error_uri":"http://developers.flattr.net/api/resources/users/"}',
    );

    const graphql = await request(first.baseUrl, '/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ query: '{ categories { id text } }' }),
    });
    expect(graphql.status).toBe(200);
    expect(graphql.json().data).toEqual({ categories: CATEGORIES });
  });

  it('the admin CLI (same DATA_DIR, no DATABASE_URL) works on the running server’s database', async () => {
    const postgresBefore = postmasterPid();
    expect(postgresBefore).not.toBeNull();

    const result = await admin('user', 'create', '--username', username, '--email', 'eve@example.org', '--password', 'password1', '--means', '100');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const record = JSON.parse(result.stdout) as { registered_at: number };
    expect(result.stdout).toBe(
      `${JSON.stringify({ username, email: 'eve@example.org', firstname: '', lastname: '', means: 100, registered_at: record.registered_at })}\n`,
    );

    // It reused the server's PostgreSQL (did not start a second one, did not stop it).
    expect(postmasterPid()).toBe(postgresBefore);
    expect(runningPostgres()).toEqual([postgresBefore]);

    const shown = await request(first.baseUrl, `/rest/v2/users/${username}`);
    expect(shown.status).toBe(200);
    expect(shown.json()).toMatchObject({ type: 'user', username });
  });

  it('SIGTERM stops the server cleanly: exit 0, PostgreSQL stopped', async () => {
    const postgres = postmasterPid()!;
    expect(await stopServer(first)).toEqual({ code: 0, signal: null });
    expect(first.output()).toMatch(/"msg":"stopped"/);
    expect(isAlive(postgres)).toBe(false);
    expect(postmasterPid()).toBeNull();
    expect(runningPostgres()).toEqual([]);
  });

  it('a second start reuses the data in DATA_DIR, and stops cleanly too', async () => {
    const second = await startServer();
    expect(second.output()).not.toContain('initialising');
    const shown = await request(second.baseUrl, `/rest/v2/users/${username.toLowerCase()}`);
    expect(shown.status).toBe(200);
    expect(shown.json()).toMatchObject({ type: 'user', username });

    const postgres = postmasterPid()!;
    expect(await stopServer(second, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(isAlive(postgres)).toBe(false);
    expect(runningPostgres()).toEqual([]);
  });
});
