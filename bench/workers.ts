/**
 * `npm run bench -- workers` (issue 18 item 6): our server with WEB_CONCURRENCY=1 and with 2 (or `--workers A,B`),
 * both started on the same dataset, measured on the REST thing-by-id scenarios (anonymous and with tokens),
 * alternating over rounds (round r starts with the next worker count). Prints req/s, latency, CPU time per request
 * (server processes and their PostgreSQL backends), peak RSS, and the per-round req/s ratio B/A with its median.
 */
import path from 'node:path';
import {
  ensureDataset,
  ensureTokens,
  fmt,
  freePort,
  log,
  machine,
  measure,
  serverHwmMb,
  startOurServer,
  table,
  writeResults,
  type DatasetSize,
  type Measured,
  type ServerHandle,
} from './lib.js';
import { buildScenarios, scenarioData } from './scenarios.js';

export const WORKER_SCENARIOS = ['rest-thing-json', 'rest-thing-json-token'];

export interface WorkersOptions {
  size: DatasetSize;
  load: { connections: number; duration: number; warmup: number };
  rounds: number;
  /** The two worker counts compared (default 1 and 2). */
  counts: [number, number];
  /** Scenario ids (default WORKER_SCENARIOS); only scenarios with requests for our server. */
  only?: string[];
}

const medianOf = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (!sorted.length) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function runWorkersBench(options: WorkersOptions): Promise<void> {
  const started = Date.now();
  const dataset = await ensureDataset(options.size);
  const tokens = await ensureTokens(dataset.url, Math.min(2000, options.size.users));
  const data = await scenarioData(dataset, tokens, Date.now() % 1_000_000);
  const ids = new Set(options.only ?? WORKER_SCENARIOS);
  const scenarios = buildScenarios(data).filter((s) => ids.has(s.id) && s.requests.ours && s.id !== 'rest-flattr');
  if (!scenarios.length) throw new Error(`no read scenario of ours among ${[...ids].join(', ')}`);

  const servers = new Map<number, ServerHandle>();
  const results: Record<string, Record<number, Measured[]>> = {};
  try {
    // Both servers run for the whole bench (the idle one costs memory, no CPU), so rounds can alternate.
    for (const workers of options.counts) {
      const server = await startOurServer({ databaseUrl: dataset.url, port: await freePort(), workers });
      servers.set(workers, server);
      log(`${server.label}: ${server.baseUrl} (pid ${server.child.pid})`);
    }
    for (const scenario of scenarios) {
      for (const [workers, server] of servers) {
        const response = await fetch(server.baseUrl + scenario.requests.ours![0]!.path, { headers: scenario.requests.ours![0]!.headers });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`${scenario.id} with ${workers} worker(s) answered ${response.status}: ${text.slice(0, 300)}`);
      }
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of scenarios) {
        const order = round % 2 ? [...options.counts].reverse() : options.counts;
        for (const workers of order) {
          log(`round ${round + 1}/${options.rounds} ${scenario.id} with ${workers} worker(s)`);
          const m = await measure(servers.get(workers)!, scenario.requests.ours!, { ...options.load, seed: round + 1 });
          ((results[scenario.id] ??= {})[workers] ??= []).push(m);
          if (m.errors || m.timeouts || m.non2xx) log(`  ${m.errors} errors, ${m.timeouts} timeouts, ${m.non2xx} non-2xx ${JSON.stringify(m.statusCodes)}`);
        }
      }
    }
    report(options, scenarios.map((s) => s.id), results, servers, dataset.name, started);
  } finally {
    for (const server of servers.values()) await server.stop();
  }
}

function report(
  options: WorkersOptions,
  scenarioIds: string[],
  results: Record<string, Record<number, Measured[]>>,
  servers: Map<number, ServerHandle>,
  datasetName: string,
  started: number,
): void {
  const [a, b] = options.counts;
  const rows: string[][] = [];
  const ratios: { scenario: string; label: string; value: number; rounds: number[] }[] = [];
  const summary: Record<string, Record<number, { rps: number; p50: number; p99: number; cpuMsPerRequest: number; pgCpuMsPerRequest: number; peakRssMb: number; rounds: number[] }>> = {};
  for (const id of scenarioIds) {
    for (const workers of options.counts) {
      const runs = results[id]?.[workers] ?? [];
      const pick = (f: (m: Measured) => number) => medianOf(runs.map(f));
      const m = {
        rps: pick((r) => r.rps),
        p50: pick((r) => r.p50),
        p99: pick((r) => r.p99),
        cpuMsPerRequest: pick((r) => r.cpuMsPerRequest),
        pgCpuMsPerRequest: pick((r) => r.pgCpuMsPerRequest),
        peakRssMb: Math.max(0, ...runs.map((r) => r.peakRssMb)),
        rounds: runs.map((r) => Math.round(r.rps)),
      };
      (summary[id] ??= {})[workers] = m;
      const bad = runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
      rows.push([
        id,
        String(workers),
        fmt(m.rps, 0),
        m.rounds.join(', '),
        fmt(m.p50, 1),
        fmt(m.p99, 1),
        fmt(m.cpuMsPerRequest, 3),
        fmt(m.pgCpuMsPerRequest, 3),
        fmt(m.peakRssMb, 0),
        bad ? String(bad) : '',
      ]);
    }
    const ra = results[id]?.[a] ?? [];
    const rb = results[id]?.[b] ?? [];
    const perRound = rb.slice(0, ra.length).map((m, i) => m.rps / ra[i]!.rps);
    ratios.push({ scenario: id, label: `${id}: ${b} / ${a} worker(s) (req/s)`, value: medianOf(perRound), rounds: perRound });
  }
  const mach = machine();
  const out: string[] = [''];
  out.push(`Flattr bench, workers (issue 18 item 6), ${new Date().toISOString()}: ${mach.nproc} cores, ${mach.cpu}, Node ${mach.node}`);
  out.push(
    `dataset ${datasetName}, autocannon ${options.load.connections} connections x ${options.load.duration} s after ${options.load.warmup} s warm-up, ` +
      `${options.rounds} round(s) alternating the worker counts; medians shown (peak RSS: the highest), CPU and RSS summed over the primary and its workers`,
  );
  out.push('');
  out.push(table(['scenario', 'workers', 'req/s', 'req/s per round', 'p50 ms', 'p99 ms', 'CPU ms/req', 'PG CPU ms/req', 'peak RSS MB', 'non-2xx/err'], rows));
  out.push('');
  out.push(`Ratios (taken within a round, median over ${options.rounds} round(s)):`);
  const width = Math.max(...ratios.map((r) => r.label.length));
  for (const r of ratios) out.push(`  ${r.label.padEnd(width)}  ${fmt(r.value, 2)}${r.rounds.length > 1 ? ` [rounds ${r.rounds.map((v) => fmt(v, 2)).join(', ')}]` : ''}`);
  out.push(`  lifetime peak RSS (VmHWM, summed over each server's processes): ${[...servers].map(([w, s]) => `${w} worker(s) ${fmt(serverHwmMb(s) ?? Number.NaN, 0)} MB`).join(', ')}`);
  out.push(`  total time ${fmt((Date.now() - started) / 1000, 0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
  const file = writeResults('workers', {
    kind: 'workers',
    date: new Date().toISOString(),
    machine: mach,
    dataset: { name: datasetName, ...options.size },
    load: options.load,
    rounds: options.rounds,
    counts: options.counts,
    results: summary,
    ratios,
    hwmMb: Object.fromEntries([...servers].map(([w, s]) => [w, serverHwmMb(s)])),
    seconds: Math.round((Date.now() - started) / 1000),
  });
  process.stdout.write(`results written to ${path.relative(process.cwd(), file)}\n`);
}
