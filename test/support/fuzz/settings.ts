import fs from 'node:fs';
import fc from 'fast-check';

/**
 * How much the fuzz suites run, and from which seed. `npm test` uses each property's small default (every fuzz file
 * stays well under 30 s) and a fixed seed, so a red CI run replays exactly. `npm run fuzz` sets FUZZ_RUNS (cases per
 * property) for a long run and FUZZ_RANDOM=1, which draws a new seed per property and prints it. FUZZ_SEED (with
 * FUZZ_PATH) replays a run: fast-check prints the seed and path of a failure. FUZZ_REPORT names a file to which each
 * suite appends one JSON line with its figures (SECURITY.md quotes them).
 */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env.FUZZ_RUNS;
  if (!raw) return defaultRuns;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got ${raw}`);
  return runs;
}

/** The seed of `npm test`'s fuzz runs. */
export const FIXED_FUZZ_SEED = 20261205;

export function fuzzSeed(): number {
  if (process.env.FUZZ_SEED) {
    const seed = Number(process.env.FUZZ_SEED);
    if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);
    return seed;
  }
  if (process.env.FUZZ_RANDOM === '1') {
    const seed = (Date.now() ^ (Math.random() * 0x100000000)) | 0;
    process.stdout.write(`[fuzz] random seed ${seed} (replay with FUZZ_SEED=${seed})\n`);
    return seed;
  }
  return FIXED_FUZZ_SEED;
}

export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  const path = process.env.FUZZ_PATH || undefined;
  return { numRuns: runs, seed: fuzzSeed(), path, endOnFailure: true, verbose: fc.VerbosityLevel.Verbose };
}

/** A vitest timeout for `runs` cases of about `perCaseMs` each, never below 30 s. */
export function timeoutFor(runs: number, perCaseMs: number): number {
  return Math.max(30_000, runs * perCaseMs + 20_000);
}

export interface Figures {
  suite: string;
  [figure: string]: unknown;
}

/** Prints the suite's figures and appends them to FUZZ_REPORT when set. */
export function reportFigures(figures: Figures): void {
  const line = JSON.stringify({ ...figures, at: new Date().toISOString() });
  process.stdout.write(`[security figures] ${line}\n`);
  const file = process.env.FUZZ_REPORT;
  if (file) fs.appendFileSync(file, `${line}\n`);
}

/** Counts of anything, for the figures. */
export class Tally {
  readonly counts = new Map<string, number>();

  add(key: string, by = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
