import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { findRunningEmbeddedDatabase, startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded-postgres.js';

const { Client } = pg;

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const isRoot = process.getuid?.() === 0;
let root = '';
let dataDir = '';
const handles: EmbeddedDatabase[] = [];
const tempDirs: string[] = [];

async function start(logs?: string[]): Promise<EmbeddedDatabase> {
  const db = await startEmbeddedDatabase({ dataDir, log: (msg) => logs?.push(msg) });
  handles.push(db);
  return db;
}

async function makeTempDir(mode: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join('/tmp', 'flattr-embedded-pg-'));
  await fs.chmod(dir, mode);
  tempDirs.push(dir);
  return dir;
}

/** Kills a server left behind in a temp dir (only ones named by our own postmaster.pid files). */
function killLeftover(dir: string): void {
  for (const sub of ['data/pg']) {
    try {
      const pid = Number.parseInt(readFileSync(path.join(dir, sub, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // no server left
    }
  }
}

beforeAll(async () => {
  root = await makeTempDir(0o755);
  dataDir = path.join(root, 'data'); // created by startEmbeddedDatabase
});

afterAll(async () => {
  for (const db of handles) await db.stop().catch(() => undefined);
  for (const dir of tempDirs) {
    killLeftover(dir);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
});

describe('embedded PostgreSQL', () => {
  it('initialises a cluster on first start: 127.0.0.1 only, no unix socket, private files', async () => {
    const logs: string[] = [];
    const t0 = Date.now();
    const db = await start(logs);
    console.log(`first start (initdb + start): ${Date.now() - t0} ms`);
    expect(logs.some((l) => l.includes('initialising a new PostgreSQL cluster'))).toBe(true);

    const port = portOf(db.url);
    expect(port).not.toBe(5432);
    expect(new URL(db.url).hostname).toBe('127.0.0.1');
    expect(new URL(db.url).pathname).toBe('/flattr');

    expect(await query(db.url, 'select 1 as one')).toEqual([{ one: 1 }]);
    const [settings] = await query(
      db.url,
      `select current_setting('listen_addresses') as listen, current_setting('unix_socket_directories') as sockets,
              current_setting('server_encoding') as encoding, current_setting('password_encryption') as pwenc,
              d.datcollate as collate, d.datctype as ctype
         from pg_database d where d.datname = current_database()`,
    );
    expect(settings).toEqual({ listen: '127.0.0.1', sockets: '', encoding: 'UTF8', pwenc: 'scram-sha-256', collate: 'C', ctype: 'C' });
    const hba = await query(db.url, `select distinct auth_method from pg_hba_file_rules where type <> 'local'`);
    expect(hba.map((r) => r.auth_method)).toEqual(['scram-sha-256']);

    // postmaster.pid line 5 is the socket directory: empty means no unix socket.
    const pidLines = (await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n');
    expect(pidLines[4]).toBe('');
    expect(pidLines[5]).toBe('127.0.0.1');
    for (const socketDir of ['/tmp', '/var/run/postgresql']) {
      await expect(fs.stat(path.join(socketDir, `.s.PGSQL.${port}`))).rejects.toThrow();
    }
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) expect(await canConnect(external.address, port)).toBe(false);

    for (const file of ['connection.json', 'postgres-password']) {
      expect((await fs.stat(path.join(dataDir, file))).mode & 0o777).toBe(0o600);
    }
    const conn = JSON.parse(await fs.readFile(path.join(dataDir, 'connection.json'), 'utf8'));
    expect(conn).toEqual({ host: '127.0.0.1', port, user: 'postgres', password: expect.any(String), database: 'flattr' });
    expect(conn.password.length).toBeGreaterThanOrEqual(24);
    if (isRoot) expect((await fs.stat(path.join(dataDir, 'pg'))).uid).not.toBe(0);

    const found = await findRunningEmbeddedDatabase(dataDir);
    expect(found).toBe(db.url);
    expect(await query(found!, 'select 1 as one')).toEqual([{ one: 1 }]);

    await query(db.url, 'create table kept (id int primary key); insert into kept values (42)');
    await db.stop();
    expect(await findRunningEmbeddedDatabase(dataDir)).toBeNull();
    expect(await canConnect('127.0.0.1', port)).toBe(false);
  });

  it('reuses the cluster on a second start without initdb', async () => {
    const logs: string[] = [];
    const before = JSON.parse(await fs.readFile(path.join(dataDir, 'connection.json'), 'utf8'));
    const t0 = Date.now();
    const db = await start(logs);
    console.log(`second start (existing cluster): ${Date.now() - t0} ms`);
    expect(logs.some((l) => l.includes('initialising'))).toBe(false);
    expect(portOf(db.url)).toBe(before.port);
    expect(await query(db.url, 'select id from kept')).toEqual([{ id: 42 }]);
    await db.stop();
  });

  it('adopts a server still running on the data folder instead of failing', async () => {
    const first = await start();
    const logs: string[] = [];
    const second = await start(logs); // as if the first process had died without stopping
    expect(logs.some((l) => l.includes('reusing PostgreSQL already running'))).toBe(true);
    expect(second.url).toBe(first.url);
    expect(await query(second.url, 'select id from kept')).toEqual([{ id: 42 }]);
    await second.stop();
    expect(await findRunningEmbeddedDatabase(dataDir)).toBeNull();
    await first.stop(); // its server is already gone: must not hang
  });

  it('adopts the orphaned server of a hard-killed Node process', async () => {
    const script = path.join(root, 'child.mts');
    const modulePath = path.resolve('src/db/embedded-postgres.ts');
    await fs.writeFile(
      script,
      `import { startEmbeddedDatabase } from ${JSON.stringify(modulePath)};\n` +
        `const db = await startEmbeddedDatabase({ dataDir: ${JSON.stringify(dataDir)} });\n` +
        `console.log('READY ' + db.url);\nsetInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    try {
      const childUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not start: ${output}`)), 20_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /READY (\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`child exited (${code}): ${output}`)));
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));

      expect(await findRunningEmbeddedDatabase(dataDir)).toBe(childUrl); // the orphan still runs
      const logs: string[] = [];
      const db = await start(logs);
      expect(logs.some((l) => l.includes('reusing PostgreSQL already running'))).toBe(true);
      expect(db.url).toBe(childUrl);
      expect(await query(db.url, 'select id from kept')).toEqual([{ id: 42 }]);
      await db.stop();
      expect(await findRunningEmbeddedDatabase(dataDir)).toBeNull();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('removes a stale postmaster.pid whose pid is gone or belongs to another program', async () => {
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    const fake = (pid: number) => `${pid}\n${path.join(dataDir, 'pg')}\n0\n5999\n\n127.0.0.1\n0 0\nready\n`;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await fs.writeFile(pidFile, fake(Number(dead.stdout)));
    let db = await start();
    expect(await query(db.url, 'select id from kept')).toEqual([{ id: 42 }]);
    await db.stop();

    // A recycled pid (after a reboot or container restart) that is alive but not PostgreSQL.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await fs.writeFile(pidFile, fake(other.pid!));
      db = await start();
      expect(await query(db.url, 'select id from kept')).toEqual([{ id: 42 }]);
      await db.stop();
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('moves to another free port when the recorded one is taken', async () => {
    const { port } = JSON.parse(await fs.readFile(path.join(dataDir, 'connection.json'), 'utf8'));
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const db = await start();
      expect(portOf(db.url)).not.toBe(port);
      expect(portOf(db.url)).not.toBe(5432);
      expect(await findRunningEmbeddedDatabase(dataDir)).toBe(db.url);
      await db.stop();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it.runIf(isRoot)('explains when the data folder sits under a mode-700 directory', async () => {
    const locked = await makeTempDir(0o700);
    await expect(startEmbeddedDatabase({ dataDir: path.join(locked, 'data') })).rejects.toThrow(/mode 700.*DATA_DIR/s);
  });
});
