/**
 * The load generator, run as its own process by bench/run.ts (never inside the measured server's process):
 * `node --import tsx bench/load.ts <spec.json>`. Drives autocannon with a fixed number of connections for a
 * fixed duration (or at a fixed overall rate), cycling through the spec's pre-built requests in a shuffled
 * order, and prints one JSON line: the result summary.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /** Requests per second over all connections (soak); unset: as fast as the server answers. */
  overallRate?: number;
  requests: LoadRequest[];
  /** Seed for the request order, so runs are repeatable. */
  seed?: number;
}

export interface LoadResult {
  requests: number;
  /** Mean requests per second over the run. */
  rps: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Up to 5 distinct bodies of non-2xx answers (first 200 characters), with how often each came. */
  errorBodies: Record<string, number>;
  duration: number;
}

function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0 || 1;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const list = shuffled(spec.requests, spec.seed ?? 1);
  if (list.length === 0) throw new Error('no requests to send');
  let next = 0;
  const errorBodies: Record<string, number> = {};
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    timeout: 30,
    requests: [
      {
        setupRequest: (request: Record<string, unknown>) => {
          const r = list[next++ % list.length]!;
          return { ...request, method: r.method, path: r.path, headers: { ...(r.headers ?? {}) }, body: r.body };
        },
        onResponse: (status: number, body: string) => {
          if (status >= 200 && status < 300) return;
          const key = `${status} ${String(body).slice(0, 200)}`;
          if (key in errorBodies || Object.keys(errorBodies).length < 5) errorBodies[key] = (errorBodies[key] ?? 0) + 1;
        },
      },
    ],
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries((result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {})) {
    statusCodes[code] = stats.count;
  }
  const latency = result.latency as unknown as Record<string, number>;
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: latency.p50!,
    p90: latency.p90!,
    p99: latency.p99!,
    max: latency.max!,
    mean: latency.average!,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    errorBodies,
    duration: result.duration,
  };
}

const specPath = process.argv[2];
if (specPath) {
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as LoadSpec;
  runLoad(spec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`load failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
