import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './processes.js';

const run = promisify(execFile);

/**
 * A PostgreSQL primary and a streaming replica of it (initdb, then pg_basebackup -R), with the machine's PostgreSQL
 * binaries, on free ports, in a temporary folder; as OS user `postgres` when the tests run as root (PostgreSQL
 * refuses root). For the read-replica tests (issue 19).
 */

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (fs.existsSync(path.join(base, version, 'bin', 'initdb'))) return path.join(base, version, 'bin');
  throw new Error('no PostgreSQL binaries under /usr/lib/postgresql/*/bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as OS user postgres when we are root. */
async function pgBin(bin: string, args: string[]): Promise<string> {
  const file = path.join(binDir(), bin);
  const { stdout } = asRoot ? await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 120_000 }) : await run(file, args, { timeout: 120_000 });
  return stdout;
}

export interface PgNode {
  port: number;
  dir: string;
  url(database: string): string;
  start(): Promise<void>;
  /** `fast` or `immediate` (a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, text: string, values?: unknown[]): Promise<R[]>;
}

function node(root: string, name: string, port: number): PgNode {
  const dir = path.join(root, name);
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_keep_size=256MB -c max_connections=100`;
  return {
    port,
    dir,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: async () => {
      await pgBin('pg_ctl', ['-D', dir, '-l', path.join(root, `${name}.log`), '-w', '-t', '60', '-o', options, 'start']);
    },
    stop: async (mode = 'fast') => {
      await pgBin('pg_ctl', ['-D', dir, '-m', mode, '-w', '-t', '60', 'stop']).catch(() => undefined);
    },
    query: async (database, text, values) => {
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/${database}` });
      await client.connect();
      try {
        return (await client.query(text, values as unknown[])).rows;
      } finally {
        await client.end();
      }
    },
  };
}

export interface ReplicatedPair {
  primary: PgNode;
  replica: PgNode;
  /** Waits until the replica has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startReplicatedPair(): Promise<ReplicatedPair> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flattr-replication-'));
  if (asRoot) await run('chown', ['postgres:', root]);
  fs.chmodSync(root, 0o700);
  const primary = node(root, 'primary', await freePort());
  const replica = node(root, 'replica', await freePort());
  try {
    await pgBin('initdb', ['-D', primary.dir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await primary.start();
    await pgBin('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', replica.dir, '-R', '-X', 'stream', '-c', 'fast']);
    await replica.start();
  } catch (error) {
    await replica.stop('immediate');
    await primary.stop('immediate');
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    primary,
    replica,
    async caughtUp() {
      const [{ lsn }] = await primary.query<{ lsn: string }>('postgres', 'select pg_current_wal_lsn()::text as lsn');
      for (let i = 0; i < 600; i++) {
        const [row] = await replica.query<{ done: boolean }>('postgres', 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [lsn]);
        if (row?.done) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the replica did not catch up within 30 s');
    },
    async destroy() {
      await replica.stop('immediate');
      await primary.stop('immediate');
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
