/** Shared pieces of the benchmarks (bench/README.md): datasets, processes, RSS sampling, load runs, output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabaseIfMissing, seedScale } from './seed-scale.js';
import type { LoadRequest, LoadResult, LoadSpec } from './load.js';
import { findFreePort } from '../src/db/free-port.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

export const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Datasets

export interface DatasetSize {
  things: number;
  users: number;
  flattrs: number;
}

/** Where the bench databases live: a PostgreSQL URL whose role may create databases (the database in it is not used). */
export function serverUrl(): string {
  return process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function databaseUrl(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export function datasetName(size: DatasetSize): string {
  return `flattr_bench_t${size.things}_u${size.users}_f${size.flattrs}`;
}

interface SeedStamp extends DatasetSize {
  seed: number;
  seededAt: string;
  seedSeconds: number;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The stamp a completed seed leaves as the database comment; null when the database is missing or unfinished. */
async function readStamp(name: string): Promise<SeedStamp | null> {
  return withClient(serverUrl(), async (client) => {
    const result = await client.query<{ comment: string | null }>(
      'select shobj_description(oid, $2) as comment from pg_database where datname = $1',
      [name, 'pg_database'],
    );
    const comment = result.rows[0]?.comment;
    if (!comment) return null;
    try {
      return JSON.parse(comment) as SeedStamp;
    } catch {
      return null;
    }
  });
}

export interface Dataset extends DatasetSize {
  name: string;
  url: string;
  reused: boolean;
  seededAt: string;
  seedSeconds: number;
}

/**
 * The bench database for `size`: reused when a completed seed with the same parameters is there (unless `reseed`),
 * otherwise (re)created and filled by seed:scale. Its data is relative to the seed time: a dataset seeded long ago
 * has few flattrs in the day/week windows (a warning says so; `--reseed` refreshes it).
 */
export async function ensureDataset(size: DatasetSize, options: { reseed?: boolean } = {}): Promise<Dataset> {
  const name = datasetName(size);
  const url = databaseUrl(name);
  const stamp = options.reseed ? null : await readStamp(name);
  if (stamp && stamp.things === size.things && stamp.users === size.users && stamp.flattrs === size.flattrs) {
    const ageDays = (Date.now() - Date.parse(stamp.seededAt)) / 86_400_000;
    log(`dataset ${name}: reused (seeded ${stamp.seededAt} in ${stamp.seedSeconds} s)`);
    if (ageDays > 3) log(`dataset ${name} was seeded ${ageDays.toFixed(1)} days ago: the day/week sort windows hold fewer flattrs than fresh data would (--reseed)`);
    return { ...size, name, url, reused: true, seededAt: stamp.seededAt, seedSeconds: stamp.seedSeconds };
  }
  await withClient(serverUrl(), async (client) => {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  });
  await createDatabaseIfMissing(url);
  log(`dataset ${name}: seeding ${size.things} things, ${size.users} users, ${size.flattrs} flattrs`);
  const report = await seedScale({ databaseUrl: url, ...size, log: (m) => log(m) });
  const newStamp: SeedStamp = { ...size, seed: 0.42, seededAt: new Date().toISOString(), seedSeconds: report.seconds };
  await withClient(serverUrl(), async (client) => {
    await client.query(`comment on database ${pg.escapeIdentifier(name)} is ${pg.escapeLiteral(JSON.stringify(newStamp))}`);
  });
  log(`dataset ${name}: seeded in ${report.seconds} s (checks: ${report.checks.map((c) => c.mismatches).join(', ')} mismatches)`);
  return { ...size, name, url, reused: false, seededAt: newStamp.seededAt, seedSeconds: report.seconds };
}

/** Drops every `flattr_bench_*` database (`npm run bench -- clean`). */
export async function dropBenchDatabases(): Promise<string[]> {
  return withClient(serverUrl(), async (client) => {
    const result = await client.query<{ datname: string }>(`select datname from pg_database where datname like 'flattr\\_bench\\_%'`);
    for (const { datname } of result.rows) await client.query(`drop database ${pg.escapeIdentifier(datname)} with (force)`);
    return result.rows.map((r) => r.datname);
  });
}

export async function query<Row extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<Row[]> {
  return withClient(url, async (client) => (await client.query<Row>(text, values)).rows);
}

/** A deterministic 40-hex access token per user (spec §14.9 format); only its SHA-256 is stored. */
export function benchToken(userId: number): string {
  return createHash('sha256').update(`flattr-bench-token:${userId}`).digest('hex').slice(0, 40);
}

/** An OAuth client `flattr-bench` and a token with scope `flattr` for users 1..count (idempotent). */
export async function ensureTokens(url: string, count: number): Promise<Map<number, string>> {
  const tokens = new Map<number, string>();
  for (let id = 1; id <= count; id++) tokens.set(id, benchToken(id));
  await withClient(url, async (client) => {
    await client.query(
      `insert into oauth_clients (client_id, client_secret_hash, name, callback_urls, created_at)
       select 'flattr-bench', repeat('0', 64), 'flattr bench', '{http://localhost/callback}', now()
       where not exists (select 1 from oauth_clients where client_id = 'flattr-bench')`,
    );
    const hashes = [...tokens.values()].map((t) => createHash('sha256').update(t).digest('hex'));
    await client.query(
      `insert into oauth_access_tokens (token_hash, client_id, user_id, scopes, created_at)
       select h.hash, (select id from oauth_clients where client_id = 'flattr-bench'), h.n, '{flattr}', now()
       from unnest($1::text[]) with ordinality as h(hash, n)
       join users u on u.id = h.n
       on conflict (token_hash) do nothing`,
      [hashes],
    );
  });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

export const freePort = (): Promise<number> => findFreePort();

export interface ServerHandle {
  name: string;
  label: string;
  baseUrl: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
  /**
   * The processes whose CPU time and memory are the server's: the process itself, plus its cluster workers for our
   * server with WEB_CONCURRENCY > 1 (`--workers`). Unset: the process alone.
   */
  pids?(): number[];
}

/** Starts `node <args>` with `env`, waits until `ready` answers 2xx (LOG_LEVEL=silent prints nothing). */
export async function startProcess(options: {
  name: string;
  label: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  readyInit?: RequestInit;
  cwd?: string;
  timeoutMs?: number;
}): Promise<ServerHandle> {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const handle: ServerHandle = {
    name: options.name,
    label: options.label,
    baseUrl,
    port: options.port,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited (${child.exitCode}):\n${out}`);
    try {
      const response = await fetch(baseUrl + options.readyPath, options.readyInit);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > (options.timeoutMs ?? 60_000)) {
      await handle.stop();
      throw new Error(`${options.name} did not answer within ${options.timeoutMs ?? 60_000} ms:\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return handle;
}

export interface OurServerOptions {
  databaseUrl: string;
  port: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  env?: Record<string, string>;
  /** WEB_CONCURRENCY: worker processes (node:cluster) behind the one port; 1 (the default) runs no cluster. */
  workers?: number;
}

/** The links our server and the raw server put in bodies: the same on both, so the bodies can be compared byte for byte. */
export const LINKS = { API_URL: 'http://localhost:3000/rest/v2', SITE_URL: 'http://localhost:3000' };

/** What `npm run build` compiles into dist/ (tsconfig.build.json), and the files that change its output. */
const BUILD_INPUTS = ['src', 'schema', 'rest-facade', 'mikro-orm.config.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
/** Written last by `npm run build`: its modification time is the build's. */
const BUILD_STAMP = path.join(ROOT, 'dist', 'package.json');

function newestMtime(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(file)) newest = Math.max(newest, newestMtime(path.join(file, entry)));
  return newest;
}

/** `npm run build` when dist/ is missing or older than any of its sources, so that the bench measures the current code. */
export async function ensureBuilt(): Promise<void> {
  const built = existsSync(BUILD_STAMP) ? statSync(BUILD_STAMP).mtimeMs : 0;
  const sources = Math.max(...BUILD_INPUTS.map((f) => newestMtime(path.join(ROOT, f))));
  if (built > sources) return;
  log(built ? 'dist/ is older than the sources: npm run build' : 'no dist/: npm run build');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (${code})`))));
  });
}

/**
 * The node flags of `npm run start:prod` (what the Dockerfile runs too; test/deployment-files.test.ts checks they
 * agree), so that the bench starts our server exactly as production does. README, "Production build and memory".
 */
export const OUR_NODE_FLAGS: string[] = (() => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const words = scripts['start:prod']!.split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/src/server/main.js') throw new Error(`unexpected start:prod script: ${scripts['start:prod']}`);
  return words.slice(1, -1);
})();

/**
 * The real server as in production: the compiled output (`node dist/src/server/main.js`, what `npm run start:prod` and
 * the Docker image run, built first when stale), NODE_ENV=production, memory rate limiter.
 */
export async function startOurServer(options: OurServerOptions): Promise<ServerHandle> {
  await ensureBuilt();
  const workers = options.workers ?? 1;
  const handle = await startProcess({
    name: 'ours',
    label: `ours (node ${[...OUR_NODE_FLAGS, 'dist/src/server/main.js'].join(' ')}${workers > 1 ? `, WEB_CONCURRENCY=${workers}` : ''})`,
    args: [...OUR_NODE_FLAGS, ...(options.nodeFlags ?? []), 'dist/src/server/main.js'],
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: options.databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(options.port),
      ...LINKS,
      RATE_LIMIT_PER_HOUR: '1000000000',
      LOG_LEVEL: 'silent',
      SUBSCRIPTIONS_CRON: 'false',
      REDIS_URL: '',
      WEB_CONCURRENCY: String(workers),
      ...(options.env ?? {}),
    },
    port: options.port,
    readyPath: '/rest/v2/categories',
  });
  if (workers > 1) {
    // Ready once every worker answers, not just the first: the primary logs nothing at LOG_LEVEL=silent, so count the
    // cluster's children.
    const started = Date.now();
    while (childPids(handle.child.pid!).length < workers && Date.now() - started < 60_000) await new Promise((resolve) => setTimeout(resolve, 100));
    handle.pids = () => [handle.child.pid!, ...childPids(handle.child.pid!)];
  }
  return handle;
}

/** Direct children of a process (our cluster primary's workers), from /proc/<pid>/stat's ppid field. */
export function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** The server's processes (ServerHandle.pids). */
export function serverPids(server: ServerHandle): number[] {
  return server.pids?.() ?? [server.child.pid!];
}

/** Sum over processes of a per-process reading (null when none could be read). */
function sumOver(pids: number[], read: (pid: number) => number | null): number | null {
  const values = pids.map(read).filter((v): v is number => v !== null && !Number.isNaN(v));
  return values.length ? values.reduce((a, b) => a + b, 0) : null;
}

export function startRawServer(databaseUrl: string, port: number): Promise<ServerHandle> {
  return startProcess({
    name: 'raw',
    label: 'raw node:http + pg (bench/raw-server.ts)',
    args: ['--import', 'tsx', 'bench/raw-server.ts'],
    env: { NODE_ENV: 'production', DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: String(port), ...LINKS },
    port,
    readyPath: '/things/1',
  });
}

export const PEER_DIR = path.join(ROOT, 'bench', 'peer');

/** `npm --prefix bench/peer ci` when its node_modules is missing or older than its lock file. */
export async function ensurePeerInstalled(): Promise<string> {
  const lock = path.join(PEER_DIR, 'package-lock.json');
  const installed = path.join(PEER_DIR, 'node_modules', '.package-lock.json');
  const fresh = existsSync(installed) && readFileSync(installed, 'utf8').includes('"node_modules/postgraphile"');
  if (!fresh) {
    log('installing the PostGraphile peer: npm --prefix bench/peer ci');
    await new Promise<void>((resolve, reject) => {
      const child = spawn('npm', ['--prefix', PEER_DIR, 'ci', '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm --prefix bench/peer ci failed (${code})`))));
    });
  }
  const lockJson = JSON.parse(readFileSync(lock, 'utf8')) as { packages: Record<string, { version?: string }> };
  return lockJson.packages['node_modules/postgraphile']?.version ?? 'unknown';
}

export async function startPeerServer(databaseUrl: string, port: number): Promise<ServerHandle> {
  const version = await ensurePeerInstalled();
  return startProcess({
    name: 'postgraphile',
    label: `PostGraphile ${version} (bench/peer)`,
    args: ['server.mjs'],
    cwd: PEER_DIR,
    env: { NODE_ENV: 'production', DATABASE_URL: databaseUrl, PORT: String(port) },
    port,
    readyPath: '/graphql',
    readyInit: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// RSS

export function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** VmHWM (lifetime peak RSS) of the server; with workers, the sum of each process's peak (an upper bound). */
export function serverHwmMb(server: ServerHandle): number | null {
  return sumOver(serverPids(server), hwmMb);
}

export function hwmMb(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's VmRSS (summed over `pid` when it is a list: a primary and its workers) every `everyMs` until stopped; returns the peak and the samples. */
export function sampleRss(pid: number | (() => number[]), everyMs = 100) {
  const samples: { at: number; mb: number }[] = [];
  const started = Date.now();
  const take = () => {
    const mb = typeof pid === 'number' ? rssMb(pid) : sumOver(pid(), rssMb);
    if (mb !== null) samples.push({ at: Date.now() - started, mb });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return { peakMb: Math.max(0, ...samples.map((s) => s.mb)), samples };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Load

/** Runs bench/load.ts in its own process (autocannon must not share the measured server's CPU time accounting). */
export async function runLoadProcess(spec: LoadSpec): Promise<LoadResult> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(os.tmpdir(), `flattr-bench-load-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load process failed (${code}): ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
      } catch (error) {
        reject(new Error(`load process printed no result: ${out}\n${err}\n${String(error)}`));
      }
    });
  });
}

export interface Measured extends LoadResult {
  peakRssMb: number;
  /** The server process's CPU time (user + system, /proc/<pid>/stat) per request of the measured run; 10 ms ticks. */
  cpuMsPerRequest: number;
  /**
   * CPU time per request of the PostgreSQL backends serving the server's own connections over the measured run
   * (`pgBackendCpu`); NaN when PostgreSQL is not on this machine. Server + PostgreSQL is the request's whole cost.
   */
  pgCpuMsPerRequest: number;
}

/** The PostgreSQL server the bench uses, when it runs on this machine (its backends' /proc entries are readable). */
function localPgPort(): number | null {
  const url = new URL(serverUrl());
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) ? Number(url.port || 5432) : null;
}

/** Inodes of the sockets `pids` hold (/proc/<pid>/fd links `socket:[inode]`). */
function socketInodes(pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/**
 * CPU time (ms) of each PostgreSQL backend serving a connection of `pids`: the local ports of their TCP connections to
 * PostgreSQL (/proc/net/tcp{,6}: local address, remote address, ..., inode), then `pg_stat_activity.client_port` → the
 * backend's pid → its /proc/<pid>/stat. Empty when PostgreSQL is not local. Backends of other clients (another bench,
 * test suites) on the same PostgreSQL are not counted.
 */
export async function pgBackendCpu(pids: number[]): Promise<Map<number, number> | null> {
  const pgPort = localPgPort();
  if (pgPort === null) return null;
  const inodes = socketInodes(pids);
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
      const port = (address: string) => parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
      if (port(fields[2]!) === pgPort) ports.push(port(fields[1]!));
    }
  }
  const cpu = new Map<number, number>();
  if (!ports.length) return cpu;
  const rows = await query<{ pid: number }>(serverUrl(), 'select pid from pg_stat_activity where client_port = any($1::int[])', [ports]);
  for (const { pid } of rows) cpu.set(pid, cpuMs(pid));
  return cpu;
}

/** CPU ms spent by the backends of `after` since `before` (a backend opened meanwhile counts from its start). */
function pgCpuSpent(before: Map<number, number> | null, after: Map<number, number> | null): number {
  if (!before || !after) return Number.NaN;
  let total = 0;
  for (const [pid, ms] of after) if (Number.isFinite(ms)) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** utime + stime of a process in milliseconds (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Warm-up (not recorded), then the measured run with the server's RSS sampled. */
export async function measure(
  server: ServerHandle,
  requests: LoadRequest[],
  options: { connections: number; duration: number; warmup: number; seed?: number; overallRate?: number },
): Promise<Measured> {
  const base = { url: server.baseUrl, connections: options.connections, requests, seed: options.seed };
  if (options.warmup > 0) await runLoadProcess({ ...base, duration: options.warmup, seed: (options.seed ?? 1) + 7 });
  // Our server with workers: RSS and CPU time are the sums over the primary and its workers.
  const pids = serverPids(server);
  const sampler = sampleRss(server.pids ? () => serverPids(server) : server.child.pid!);
  const pgBefore = await pgBackendCpu(pids);
  const cpuBefore = sumOver(pids, cpuMs) ?? Number.NaN;
  const result = await runLoadProcess({ ...base, duration: options.duration, overallRate: options.overallRate });
  const cpu = (sumOver(pids, cpuMs) ?? Number.NaN) - cpuBefore;
  const { peakMb } = sampler.stop();
  const pgCpu = pgCpuSpent(pgBefore, await pgBackendCpu(serverPids(server)));
  const perRequest = (ms: number) => ms / Math.max(1, result.requests);
  return { ...result, peakRssMb: peakMb, cpuMsPerRequest: perRequest(cpu), pgCpuMsPerRequest: perRequest(pgCpu) };
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: os.availableParallelism(),
    cpu: model,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

export async function postgresVersion(url: string): Promise<string> {
  const rows = await query<{ v: string }>(url, 'show server_version');
  return rows[0]!.v;
}

export function writeResults(kind: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `${stamp}${kind === 'api' ? '' : `-${kind}`}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** A fixed-width text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
