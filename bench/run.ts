/**
 * `npm run bench [-- MODE] [options]` (bench/README.md). Modes:
 *
 * - (default) `api`: issue 9. Seeds (or reuses) the dataset, starts our server, the raw node:http + pg server and
 *   the PostGraphile peer on it, and measures every scenario with autocannon from a separate process, alternating
 *   between servers; prints req/s, p50, p99 and peak server RSS per scenario, then every target ratio of issues 9 and 18.
 * - `workers`: issue 18 item 6. Our server with 1 and with 2 worker processes (WEB_CONCURRENCY) on the REST
 *   thing-by-id scenarios, alternating over rounds: req/s, CPU, RSS and the 2/1 ratio (bench/workers.ts).
 * - `search`: issue 6. Search shapes at 10k and at 1M things, side by side, with the 1M/10k latency ratio and EXPLAIN.
 * - `soak`: our server at a fixed request rate for `--minutes`, RSS at start, middle and end.
 * - `clean`: drops every flattr_bench_* database.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  RESULTS_DIR,
  dropBenchDatabases,
  ensureBuilt,
  ensureDataset,
  ensureTokens,
  fmt,
  freePort,
  serverHwmMb,
  log,
  machine,
  measure,
  postgresVersion,
  startOurServer,
  startPeerServer,
  startRawServer,
  table,
  writeResults,
  type Measured,
  type ServerHandle,
} from './lib.js';
import { runReplicaBench } from './replica.js';
import { buildScenarios, scenarioData, type Scenario, type ServerName } from './scenarios.js';
import type { LoadRequest } from './load.js';
import { runSearchBench } from './search.js';
import { runSoak } from './soak.js';
import { runWorkersBench } from './workers.js';
import { summariseProfile } from './profile.js';

const USAGE = `npm run bench [-- api|workers|search|replica|soak|clean] [options]
  api (default)   --connections 32 --duration 10 --warmup 3 --rounds 1 --things 100000 --users 20000 --flattrs 500000
                  --only id,id  --no-peer  --no-raw  --reseed  --cpu-prof (profile our server; summary printed)
                  --workers N (our server with WEB_CONCURRENCY=N; CPU and RSS summed over the primary and workers)
  workers         --workers 1,2 --rounds 3 --connections 32 --duration 10 --warmup 3 --only rest-thing-json,rest-thing-json-token
                  (our server with WEB_CONCURRENCY=1 and =2 side by side, alternating; req/s, CPU, RSS and the 2/1 ratio)
  search          --small 10000 --large 1000000 --connections 4 --duration 10 --warmup 2 --reseed
                  --write-rate N (N thing writes/s in the background while each shape is measured; default 0)
                  --write-rate 0,5 (each rate in turn on the same servers, then p99 at 5 ÷ p99 at 0 per shape and size)
                  --only id,id (e.g. diverse: Zipf-drawn terms and tags, a new filter per request, with a count probe)
                  --probe 100 (distinct diverse filters whose count, page, capped count and estimate are timed; 0: none)
  replica         --things 100000 --connections 16 --duration 10 --warmup 3 --rounds 2 (one local replica vs none)
  soak            --minutes 10 --rate 100 --connections 16
  clean           drop every flattr_bench_* database
  Databases go to BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).`;

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  strict: true,
  options: {
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    things: { type: 'string' },
    users: { type: 'string' },
    flattrs: { type: 'string' },
    only: { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
    'no-raw': { type: 'boolean', default: false },
    reseed: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    workers: { type: 'string' },
    small: { type: 'string' },
    large: { type: 'string' },
    minutes: { type: 'string' },
    rate: { type: 'string' },
    'write-rate': { type: 'string' },
    probe: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const int = (raw: string | undefined, fallback: number) => {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${raw}`);
  return n;
};

/** Issue 9's and issue 18's targets (bench/README.md, "Ratios"). */
const TARGETS = {
  restVsRaw: 0.6,
  /** The least issue 18 accepts for REST thing-by-id ÷ raw in its step. */
  restVsRawFloor: 0.4,
  tokenVsAnonymous: 0.8,
  flattrCpuVsRead: 3,
  graphqlVsPeer: 1.0,
  userThingsVsRaw: 0.5,
  p99VsRaw: 2,
  /** The connections the p99 target is stated for. */
  p99Connections: 32,
  facadeOverhead: 0.1,
  peakRssMb: 250,
};

async function apiBench(): Promise<void> {
  const started = Date.now();
  const size = { things: int(values.things, 100_000), users: int(values.users, 20_000), flattrs: int(values.flattrs, 500_000) };
  const load = { connections: int(values.connections, 32), duration: int(values.duration, 10), warmup: int(values.warmup, 3) };
  const rounds = Math.max(1, int(values.rounds, 1));
  const dataset = await ensureDataset(size, { reseed: values.reseed });
  const tokens = await ensureTokens(dataset.url, Math.min(2000, size.users));

  const profileDir = path.join(RESULTS_DIR, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const servers: Partial<Record<ServerName, ServerHandle>> = {};
  await ensureBuilt(); // before ourStart: the profile summary skips the server's start-up, not the build
  const ourStart = Date.now();
  let firstLoad = 0;
  try {
    log('starting servers');
    servers.ours = await startOurServer({
      databaseUrl: dataset.url,
      port: await freePort(),
      nodeFlags: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      workers: Math.max(1, int(values.workers, 1)),
    });
    if (!values['no-raw']) servers.raw = await startRawServer(dataset.url, await freePort());
    if (!values['no-peer']) servers.postgraphile = await startPeerServer(dataset.url, await freePort());
    for (const s of Object.values(servers)) log(`${s.label}: ${s.baseUrl} (pid ${s.child.pid})`);

    const data = await scenarioData(dataset, tokens, Date.now() % 1_000_000);
    let scenarios = buildScenarios(data);
    if (values.only) {
      const only = new Set(values.only.split(','));
      scenarios = scenarios.filter((s) => only.has(s.id));
    }
    await verify(servers, scenarios, data.thingIds.slice(0, 20), data.listUsers.slice(0, 8).map((u) => u.username));

    const results: Record<string, Partial<Record<ServerName, Measured[]>>> = {};
    for (let round = 0; round < rounds; round++) {
      for (const scenario of scenarios) {
        const names = (Object.keys(scenario.requests) as ServerName[]).filter((n) => servers[n]);
        // Alternate: each round starts with the next server.
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        for (const name of order) {
          const requests = scenario.requests[name]!;
          // Writes: every round, and its warm-up, get (user, thing) pairs of their own (one flattr per pair and period).
          const isWrite = scenario.id === 'rest-flattr';
          const slice = Math.floor(requests.length / (2 * rounds));
          const warmRequests = isWrite ? requests.slice(2 * round * slice, (2 * round + 1) * slice) : requests;
          const measuredRequests = isWrite ? requests.slice((2 * round + 1) * slice, (2 * round + 2) * slice) : requests;
          log(`round ${round + 1}/${rounds} ${scenario.id} on ${name}`);
          firstLoad ||= Date.now();
          const m = await measureSplit(servers[name]!, warmRequests, measuredRequests, { ...load, seed: round + 1 });
          ((results[scenario.id] ??= {})[name] ??= []).push(m);
          const child = servers[name]!.child;
          if (child.exitCode !== null || child.signalCode !== null) {
            // Every later run would only count refused connections: stop here, with what the server printed.
            throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) during ${scenario.id}; its last output:\n${servers[name]!.output().slice(-4000)}`);
          }
          if (m.errors || m.timeouts || m.non2xx) {
            log(`  ${scenario.id} on ${name}: ${m.errors} errors, ${m.timeouts} timeouts, ${m.non2xx} non-2xx ${JSON.stringify(m.statusCodes)} ${JSON.stringify(m.errorBodies)}`);
          }
        }
      }
    }
    const hwm = Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, serverHwmMb(s)]));
    report(scenarios, results, { size, load, rounds, dataset, hwm, servers, started });
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
  if (values['cpu-prof']) {
    // The main thread's profile (the first written; a loader thread, if any, writes a second, smaller one), from the first load on.
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort();
    for (const file of files.slice(0, 1)) {
      process.stdout.write(`\nCPU profile of our server: ${path.join(profileDir, file)}\n`);
      process.stdout.write(`${summariseProfile(path.join(profileDir, file), 30, Math.max(0, (firstLoad - ourStart) / 1000))}\n`);
    }
  }
}

async function measureSplit(
  server: ServerHandle,
  warm: LoadRequest[],
  measured: LoadRequest[],
  options: { connections: number; duration: number; warmup: number; seed: number },
): Promise<Measured> {
  if (warm === measured) return measure(server, measured, options);
  if (options.warmup > 0) await measure(server, warm, { ...options, duration: options.warmup, warmup: 0 });
  return measure(server, measured, { ...options, warmup: 0 });
}

/** Before measuring: each server answers each scenario correctly, and ours gives the raw server's JSON bodies. */
async function verify(servers: Partial<Record<ServerName, ServerHandle>>, scenarios: Scenario[], ids: number[], usernames: string[]): Promise<void> {
  const send = async (server: ServerHandle, r: LoadRequest) => {
    const response = await fetch(server.baseUrl + r.path, { method: r.method, headers: r.headers, body: r.body });
    return { status: response.status, text: await response.text() };
  };
  if (servers.raw) {
    for (const id of ids) {
      const ours = await send(servers.ours!, { method: 'GET', path: `/rest/v2/things/${id}` });
      const raw = await send(servers.raw, { method: 'GET', path: `/things/${id}` });
      if (ours.status !== 200 || ours.text !== raw.text) throw new Error(`raw server body differs for thing ${id}:\nours ${ours.text}\nraw  ${raw.text}`);
    }
    log(`verified: the raw server's body equals ours for ${ids.length} things`);
    if (scenarios.some((s) => s.id === 'rest-user-things')) {
      for (const username of usernames) {
        const page = `/users/${encodeURIComponent(username)}/things?count=30&full=1`;
        const ours = await send(servers.ours!, { method: 'GET', path: `/rest/v2${page}`, headers: { accept: 'application/json' } });
        const raw = await send(servers.raw, { method: 'GET', path: page });
        if (ours.status !== 200 || ours.text !== raw.text) throw new Error(`raw server body differs for ${page}:\nours ${ours.text}\nraw  ${raw.text}`);
      }
      log(`verified: the raw server's body equals ours for the things pages (count=30&full=1) of ${usernames.length} users`);
    }
  }
  for (const scenario of scenarios) {
    for (const [name, requests] of Object.entries(scenario.requests) as [ServerName, LoadRequest[]][]) {
      const server = servers[name];
      if (!server) continue;
      // A write scenario is checked with its last request (the measured run starts from the first ones).
      const sample = scenario.id === 'rest-flattr' ? requests.slice(-1) : requests.slice(0, 3);
      for (const r of sample) {
        const { status, text } = await send(server, r);
        const gqlErrors = r.path === '/graphql' && /"errors"\s*:/.test(text);
        if (status !== (scenario.expectStatus ?? 200) || gqlErrors || text.includes('"data":{"thingByRowId":null') || text.includes('"user":null')) {
          throw new Error(`${scenario.id} on ${name}: ${r.method} ${r.path} answered ${status}: ${text.slice(0, 500)}`);
        }
      }
    }
  }
  log('verified: every scenario answers 200 on every server');
}

/** The median run by req/s (the upper one of two: on a shared machine the slower run is the disturbed one). */
function median(runs: Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface Ratio {
  id: string;
  label: string;
  /** The median of the per-round values (NaN when a scenario or server was not run). */
  value: number;
  rounds: number[];
  target: number;
  /** `min`: value >= target; `max`: value <= target (`below`: value < target); `max-overhead`: 1 - value <= target. */
  kind: 'min' | 'max' | 'below' | 'max-overhead';
  unit?: string;
  met: boolean | null;
  /** A lesser bound that must hold in any case (REST ÷ raw: 0.4 in issue 18's step). */
  floor?: { value: number; met: boolean | null };
  note?: string;
  shown: string;
}

const medianOf = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (!sorted.length) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function ratio(
  id: string,
  label: string,
  values: number[],
  target: number,
  kind: Ratio['kind'],
  options: { floor?: number; unit?: string; digits?: number; note?: string; value?: number } = {},
): Ratio {
  const value = options.value ?? medianOf(values);
  const digits = options.digits ?? 2;
  const unit = options.unit ?? '';
  const test = (bound: number) => (kind === 'min' ? value >= bound : kind === 'max' ? value <= bound : kind === 'below' ? value < bound : 1 - value <= bound);
  const met = Number.isFinite(value) ? test(target) : null;
  const floor = options.floor === undefined ? undefined : { value: options.floor, met: Number.isFinite(value) ? test(options.floor) : null };
  const rounds = values.length > 1 ? ` [rounds ${values.map((v) => fmt(v, digits)).join(', ')}]` : '';
  const shown =
    (kind === 'max-overhead'
      ? `${fmt(value, digits)} = overhead ${fmt((1 - value) * 100, 0)}% (target <= ${target * 100}%)`
      : `${fmt(value, digits)}${unit} (target ${kind === 'min' ? '>=' : kind === 'max' ? '<=' : '<'} ${target}${unit}` +
        (floor ? `; floor ${floor.value}: ${floor.met === null ? 'n/a' : floor.met ? 'met' : 'MISSED'}` : '') +
        ')') +
    rounds +
    (options.note ? ` ${options.note}` : '');
  return { id, label, value, rounds: values, target, kind, ...(unit ? { unit: unit.trim() } : {}), met, ...(floor ? { floor } : {}), ...(options.note ? { note: options.note } : {}), shown };
}

/**
 * Every target of issues 9 and 18 from one run's results. A ratio of two runs is taken per round (`a[i] / b[i]`, the
 * runs of round i measured back to back) and the median over the rounds is its value.
 */
function targetRatios(results: Record<string, Partial<Record<ServerName, Measured[]>>>, connections: number): Ratio[] {
  const perRound = (a: [string, ServerName], b: [string, ServerName], metric: (m: Measured) => number = (m) => m.rps) => {
    const ra = results[a[0]]?.[a[1]] ?? [];
    const rb = results[b[0]]?.[b[1]] ?? [];
    return ra.slice(0, rb.length).map((m, i) => metric(m) / metric(rb[i]!));
  };
  // A request's whole cost: the server's CPU and its PostgreSQL backends' (the flattr's triggers run there); the
  // server's alone when PostgreSQL's cannot be read.
  const withPg = Object.values(results).every((r) => Object.values(r).every((runs) => runs.every((m) => Number.isFinite(m.pgCpuMsPerRequest))));
  const cpu = (m: Measured) => m.cpuMsPerRequest + (withPg ? m.pgCpuMsPerRequest : 0);
  const p99 = (m: Measured) => m.p99;
  // Peak RSS of our server per round: the highest sample over that round's runs of every scenario.
  const ourRuns = Object.values(results).map((r) => r.ours ?? []);
  const rounds = Math.max(0, ...ourRuns.map((runs) => runs.length));
  const rssPerRound = Array.from({ length: rounds }, (_, i) => Math.max(0, ...ourRuns.map((runs) => runs[i]?.peakRssMb ?? 0)));
  return [
    ratio('restVsRaw', 'REST thing-by-id / raw (req/s)', perRound(['rest-thing-json', 'ours'], ['rest-thing-json', 'raw']), TARGETS.restVsRaw, 'min', {
      floor: TARGETS.restVsRawFloor,
    }),
    ratio('tokenVsAnonymous', 'REST thing-by-id: token / anonymous (req/s)', perRound(['rest-thing-json-token', 'ours'], ['rest-thing-json', 'ours']), TARGETS.tokenVsAnonymous, 'min'),
    ratio('flattrCpuVsRead', `flattr / anonymous thing read (CPU ms/req${withPg ? ', server + PG' : ', server only'})`, perRound(['rest-flattr', 'ours'], ['rest-thing-json', 'ours'], cpu), TARGETS.flattrCpuVsRead, 'max', { digits: 1 }),
    ratio('graphqlVsPeerThing', 'our GraphQL / PostGraphile: thing by id', perRound(['gql-thing', 'ours'], ['gql-thing', 'postgraphile']), TARGETS.graphqlVsPeer, 'min'),
    ratio('graphqlVsPeerUserThings', 'our GraphQL / PostGraphile: user things', perRound(['gql-user-things', 'ours'], ['gql-user-things', 'postgraphile']), TARGETS.graphqlVsPeer, 'min'),
    ratio('userThingsVsRaw', 'REST user things full=1 / raw (req/s)', perRound(['rest-user-things', 'ours'], ['rest-user-things', 'raw']), TARGETS.userThingsVsRaw, 'min'),
    ratio('p99VsRaw', 'p99 ours / raw, thing by id', perRound(['rest-thing-json', 'ours'], ['rest-thing-json', 'raw'], p99), TARGETS.p99VsRaw, 'max', {
      note: connections === TARGETS.p99Connections ? undefined : `(at ${connections} connections; the target is for ${TARGETS.p99Connections})`,
    }),
    ratio('facadeThing', 'REST / GraphQL (ours): thing by id', perRound(['rest-thing-json', 'ours'], ['gql-thing', 'ours']), TARGETS.facadeOverhead, 'max-overhead'),
    ratio('facadeUserThings', 'REST / GraphQL (ours): user things', perRound(['rest-user-things', 'ours'], ['gql-user-things', 'ours']), TARGETS.facadeOverhead, 'max-overhead'),
    // The peak, not the median: the target is an upper bound under load.
    ratio('peakRss', 'peak RSS of our server under load', rssPerRound, TARGETS.peakRssMb, 'below', {
      unit: ' MB',
      digits: 0,
      value: rounds ? Math.max(...rssPerRound) : Number.NaN,
    }),
  ];
}

function report(
  scenarios: Scenario[],
  results: Record<string, Partial<Record<ServerName, Measured[]>>>,
  context: {
    size: { things: number; users: number; flattrs: number };
    load: { connections: number; duration: number; warmup: number };
    rounds: number;
    dataset: { name: string; reused: boolean; seededAt: string; seedSeconds: number; url: string };
    hwm: Record<string, number | null>;
    servers: Partial<Record<ServerName, ServerHandle>>;
    started: number;
  },
): void {
  const rows: (string | number)[][] = [];
  const summary: Record<string, Partial<Record<ServerName, Measured & { rounds: number[] }>>> = {};
  for (const scenario of scenarios) {
    for (const [name, runs] of Object.entries(results[scenario.id] ?? {}) as [ServerName, Measured[]][]) {
      const m = median(runs);
      (summary[scenario.id] ??= {})[name] = { ...m, rounds: runs.map((r) => Math.round(r.rps)) };
      const bad = m.non2xx + m.errors + m.timeouts;
      rows.push([
        scenario.id,
        name,
        fmt(m.rps, 0),
        fmt(m.p50, 1),
        fmt(m.p99, 1),
        fmt(m.cpuMsPerRequest, 3),
        fmt(m.pgCpuMsPerRequest, 3),
        fmt(m.peakRssMb, 0),
        bad ? String(bad) : '',
      ]);
    }
  }
  // Each ratio is taken within a round (the two runs measured back to back, under the same conditions on the
  // machine), then the median over the rounds is shown, with the per-round values.
  const ratios = targetRatios(results, context.load.connections);
  const out: string[] = [];
  const m = machine();
  out.push('');
  out.push(`Flattr bench (issues 9 and 18), ${new Date().toISOString()}: ${m.nproc} cores, ${m.cpu}, ${m.ramGiB} GiB, Node ${m.node}`);
  out.push(
    `dataset ${context.dataset.name} (${context.size.things} things, ${context.size.users} users, ${context.size.flattrs} flattrs; ${context.dataset.reused ? 'reused' : 'seeded'}), ` +
      `autocannon ${context.load.connections} connections x ${context.load.duration} s after ${context.load.warmup} s warm-up, ${context.rounds} round(s), median run shown`,
  );
  for (const s of Object.values(context.servers)) out.push(`  ${s.name}: ${s.label}`);
  out.push('');
  out.push(table(['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'PG CPU ms/req', 'peak RSS MB', 'non-2xx/err'], rows));
  out.push('(CPU: the server\'s processes; PG CPU: the PostgreSQL backends of its own connections, "-" when PostgreSQL is not local)');
  out.push('');
  out.push(`Ratios (each taken within a round, median over ${context.rounds} round(s); n/a: a scenario or server was not run):`);
  const width = Math.max(...ratios.map((r) => r.label.length));
  for (const r of ratios) out.push(`  ${r.label.padEnd(width)}  ${r.met === null ? 'n/a   ' : r.met ? 'MET   ' : 'MISSED'}  ${r.shown}`);
  out.push(`  lifetime peak RSS (VmHWM): ${Object.entries(context.hwm).map(([n, v]) => `${n} ${fmt(v ?? Number.NaN, 0)} MB`).join(', ')}`);
  out.push(`  total time ${fmt((Date.now() - context.started) / 1000, 0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
  const file = writeResults('api', {
    kind: 'api',
    date: new Date().toISOString(),
    machine: m,
    dataset: { ...context.dataset, url: undefined, ...context.size },
    load: context.load,
    rounds: context.rounds,
    servers: Object.fromEntries(Object.values(context.servers).map((s) => [s.name, s.label])),
    results: summary,
    ratios,
    peakRssMb: ratios.find((r) => r.id === 'peakRss')!.value,
    hwmMb: context.hwm,
    seconds: Math.round((Date.now() - context.started) / 1000),
  });
  process.stdout.write(`results written to ${path.relative(process.cwd(), file)}\n`);
}

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mode = positionals[0] ?? 'api';
  switch (mode) {
    case 'api':
      return apiBench();
    case 'search':
      return runSearchBench({
        small: int(values.small, 10_000),
        large: int(values.large, 1_000_000),
        connections: int(values.connections, 4),
        duration: int(values.duration, 10),
        warmup: int(values.warmup, 2),
        reseed: values.reseed,
        writeRates: (values['write-rate'] ?? '0').split(',').map((rate) => int(rate, 0)),
        probe: int(values.probe, 100),
      });
    case 'replica':
      return runReplicaBench({
        things: int(values.things, 100_000),
        connections: int(values.connections, 16),
        duration: int(values.duration, 10),
        warmup: int(values.warmup, 3),
        rounds: int(values.rounds, 2),
      });
    case 'workers': {
      const counts = (values.workers ?? '1,2').split(',').map((w) => Math.max(1, int(w, 1)));
      if (counts.length !== 2) throw new Error(`--workers takes two counts in this mode, e.g. 1,2: ${values.workers}`);
      return runWorkersBench({
        size: { things: int(values.things, 100_000), users: int(values.users, 20_000), flattrs: int(values.flattrs, 500_000) },
        load: { connections: int(values.connections, 32), duration: int(values.duration, 10), warmup: int(values.warmup, 3) },
        rounds: Math.max(1, int(values.rounds, 3)),
        counts: counts as [number, number],
        only: values.only?.split(','),
      });
    }
    case 'soak':
      return runSoak({
        minutes: int(values.minutes, 10),
        rate: int(values.rate, 100),
        connections: int(values.connections, 16),
        size: { things: int(values.things, 100_000), users: int(values.users, 20_000), flattrs: int(values.flattrs, 500_000) },
        reseed: values.reseed,
      });
    case 'clean': {
      const dropped = await dropBenchDatabases();
      process.stdout.write(`dropped ${dropped.length} database(s): ${dropped.join(', ')}\n`);
      return;
    }
    default:
      throw new Error(`unknown mode ${mode}\n${USAGE}`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
