/**
 * `npm run bench -- soak --minutes 10 [--rate 100]`: our server under a fixed request rate (a mix of the read
 * scenarios, GraphQL included) for the given time, its RSS sampled every second. Prints RSS at start, middle and
 * end, each minute's floor (lowest sample: RSS saws with garbage collection) and peak, and the trend of the floors
 * (least-squares slope; last third against first third): a leak shows as a rising floor.
 */
import { buildScenarios, scenarioData } from './scenarios.js';
import { ensureDataset, ensureTokens, fmt, freePort, log, machine, runLoadProcess, sampleRss, startOurServer, writeResults, type DatasetSize } from './lib.js';
import type { LoadRequest } from './load.js';

export interface SoakOptions {
  minutes: number;
  rate: number;
  connections: number;
  size: DatasetSize;
  reseed?: boolean;
}

function slopePerMinute(points: { at: number; mb: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.at, 0) / n;
  const my = points.reduce((a, p) => a + p.mb, 0) / n;
  const num = points.reduce((a, p) => a + (p.at - mx) * (p.mb - my), 0);
  const den = points.reduce((a, p) => a + (p.at - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60_000;
}

export async function runSoak(options: SoakOptions): Promise<void> {
  const started = Date.now();
  const dataset = await ensureDataset(options.size, { reseed: options.reseed });
  const tokens = await ensureTokens(dataset.url, Math.min(2000, options.size.users));
  const server = await startOurServer({ databaseUrl: dataset.url, port: await freePort() });
  try {
    const data = await scenarioData(dataset, tokens, 1);
    const scenarios = buildScenarios(data).filter((s) => s.id !== 'rest-flattr');
    // An even mix: the same number of requests from each read scenario (ours only).
    const mix: LoadRequest[] = [];
    for (const s of scenarios) mix.push(...s.requests.ours!.slice(0, 500));
    log(`soak: ${options.minutes} min at ${options.rate} req/s over ${options.connections} connections (${scenarios.map((s) => s.id).join(', ')})`);
    await runLoadProcess({ url: server.baseUrl, connections: options.connections, duration: 5, requests: mix });
    const sampler = sampleRss(server.child.pid!, 1000);
    const result = await runLoadProcess({
      url: server.baseUrl,
      connections: options.connections,
      duration: Math.round(options.minutes * 60),
      overallRate: options.rate,
      requests: mix,
    });
    const { samples, peakMb } = sampler.stop();
    const at = (fraction: number) => samples[Math.min(samples.length - 1, Math.floor((samples.length - 1) * fraction))]!;
    // RSS saws up and down with garbage collection; a leak shows as a rising floor. The floor of each minute
    // (its lowest sample) is what the trend is taken over.
    const minutes = new Map<number, { floor: number; peak: number }>();
    for (const sample of samples) {
      const minute = Math.floor(sample.at / 60_000);
      const m = minutes.get(minute) ?? { floor: Infinity, peak: 0 };
      minutes.set(minute, { floor: Math.min(m.floor, sample.mb), peak: Math.max(m.peak, sample.mb) });
    }
    const full = [...minutes.entries()].filter(([minute]) => (minute + 1) * 60_000 <= samples[samples.length - 1]!.at);
    const floors = full.map(([minute, m]) => ({ at: minute * 60_000, mb: m.floor }));
    const slope = slopePerMinute(floors);
    const third = Math.max(1, Math.floor(floors.length / 3));
    const mean = (list: { mb: number }[]) => list.reduce((a, f) => a + f.mb, 0) / Math.max(1, list.length);
    const floorGrowth = mean(floors.slice(-third)) - mean(floors.slice(0, third));
    const start = at(0);
    const middle = at(0.5);
    const end = at(1);
    const lines = [
      '',
      `Soak (issue 9 item 5), ${new Date().toISOString()}: ${options.minutes} min at ${options.rate} req/s, ${options.connections} connections, dataset ${dataset.name}`,
      `  requests ${result.requests} (${fmt(result.rps, 0)} req/s), p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, non-2xx ${result.non2xx}, errors ${result.errors}`,
      `  RSS start ${fmt(start.mb, 0)} MB, middle ${fmt(middle.mb, 0)} MB, end ${fmt(end.mb, 0)} MB, peak ${fmt(peakMb, 0)} MB`,
      `  per-minute floor (lowest RSS) / peak, MB: ${full.map(([, m]) => `${fmt(m.floor, 0)}/${fmt(m.peak, 0)}`).join('  ')}`,
      `  trend of the floors: ${slope >= 0 ? '+' : ''}${fmt(slope, 2)} MB/min; last third vs first third ${floorGrowth >= 0 ? '+' : ''}${fmt(floorGrowth, 0)} MB -> ${floorGrowth < 20 ? 'no growth trend (< 20 MB)' : 'GROWING'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const file = writeResults('soak', {
      kind: 'soak',
      date: new Date().toISOString(),
      machine: machine(),
      options,
      dataset: dataset.name,
      result,
      rss: { start: start.mb, middle: middle.mb, end: end.mb, peak: peakMb, floors, floorSlopeMbPerMinute: slope, floorGrowthMb: floorGrowth, samples },
      seconds: Math.round((Date.now() - started) / 1000),
    });
    process.stdout.write(`results written to ${file}\n`);
  } finally {
    await server.stop();
  }
}
