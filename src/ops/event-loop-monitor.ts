import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Clock } from '../config/clock.js';
import type { ComponentReadiness } from '../server/readiness.js';

/**
 * The stall guard (issue 14): a request that holds the event loop (a pathological regex, a huge synchronous parse, a
 * loop nobody bounded) stops every other request of the process. Such a stall can only be seen once it is over, so
 * this module records what it finds afterwards:
 *
 * - a drift sampler: a timer due every `sampleMs` notes how late it fires. A firing later than `stallMs` means the
 *   loop was held at least that long: a stall. Its length and end time (the app's clock) are kept, and the replica
 *   reports `eventLoop: down` on /readyz for `holdSeconds` after it, so an orchestrator takes it out of rotation
 *   instead of sending it more of whatever blocked it;
 * - `perf_hooks.monitorEventLoopDelay`, a histogram of the loop's delay, summarised per window of `windowMs`
 *   (p50, p99, max) for /metrics and for /readyz when all is well.
 *
 * Both timers are unref'd (they never keep the process alive) and `stop()` ends them; createApp's `closeApp` and the
 * server's shutdown call it.
 */

export interface EventLoopMonitorOptions {
  /** A timer late by more than this (ms) is a stall. */
  stallMs: number;
  /** How long after a stall (s, on `clock`) the component stays `down`. */
  holdSeconds: number;
  /** When a stall ended, for the hold window and the detail: the app's clock (tests move it). */
  clock: Clock;
  /** How often the drift sampler wakes (ms); default min(100, stallMs / 2), at least 10. */
  sampleMs?: number;
  /** Length of a delay-histogram window (ms). */
  windowMs?: number;
}

export interface StallRecord {
  /** How late the sampler's timer fired: the loop was held at least this long (ms). */
  ms: number;
  /** When the stall ended (the app's clock). */
  endedAt: Date;
}

export interface DelaySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const WINDOW_MS = 10_000;
/** Stalls kept for the hold window's report: the longest of them is shown; the latest decides how long it lasts. */
const MAX_HELD = 64;
const NS_PER_MS = 1e6;

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export class EventLoopMonitor {
  readonly stallMs: number;
  readonly holdSeconds: number;
  private readonly clock: Clock;
  private readonly sampleMs: number;
  private readonly windowMs: number;
  private histogram: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;
  private due = 0;
  private windowStarted = 0;
  private lastWindow: DelaySummary | null = null;
  /** Stalls over the bound since start. */
  stalls = 0;
  /** The most recent stall over the bound. */
  lastStall: StallRecord | null = null;
  /** Stalls over the bound that may still be within the hold window, oldest first (at most MAX_HELD). */
  private held: StallRecord[] = [];

  constructor(options: EventLoopMonitorOptions) {
    this.stallMs = options.stallMs;
    this.holdSeconds = options.holdSeconds;
    this.clock = options.clock;
    this.sampleMs = Math.max(10, Math.floor(options.sampleMs ?? Math.min(100, options.stallMs / 2)));
    this.windowMs = options.windowMs ?? WINDOW_MS;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  start(): this {
    if (this.timer) return this;
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    this.histogram = histogram;
    this.windowStarted = performance.now();
    this.schedule();
    return this;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.histogram?.disable();
    this.histogram = null;
  }

  private schedule(): void {
    this.due = performance.now() + this.sampleMs;
    this.timer = setTimeout(() => this.tick(), this.sampleMs);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    this.noteDelay(now - this.due);
    if (now - this.windowStarted >= this.windowMs) this.rotateWindow(now);
    if (this.timer) this.schedule();
  }

  /** How late the sampler fired (ms); public so that tests of the bookkeeping need not block a real loop. */
  noteDelay(lateMs: number): void {
    if (lateMs <= this.stallMs) return;
    const stall: StallRecord = { ms: Math.round(lateMs), endedAt: this.clock.now() };
    this.stalls++;
    this.lastStall = stall;
    this.held.push(stall);
    this.pruneHeld();
  }

  private pruneHeld(): void {
    this.held = this.held.filter((s) => this.withinHold(s)).slice(-MAX_HELD);
  }

  private withinHold(stall: StallRecord): boolean {
    return this.clock.now().getTime() - stall.endedAt.getTime() < this.holdSeconds * 1000;
  }

  private summarise(histogram: IntervalHistogram): DelaySummary | null {
    if (histogram.count === 0) return null;
    return {
      p50Ms: round(histogram.percentile(50) / NS_PER_MS),
      p99Ms: round(histogram.percentile(99) / NS_PER_MS),
      maxMs: round(histogram.max / NS_PER_MS),
    };
  }

  private rotateWindow(now: number): void {
    if (!this.histogram) return;
    this.lastWindow = this.summarise(this.histogram) ?? this.lastWindow;
    this.histogram.reset();
    this.windowStarted = now;
  }

  /**
   * Event-loop delay over the last complete window (`windowMs`), or over the current one while none is complete.
   * monitorEventLoopDelay counts from its timer's resolution (10 ms): an idle loop shows about 10 ms.
   */
  delay(): DelaySummary | null {
    const current = this.histogram ? this.summarise(this.histogram) : null;
    return this.lastWindow ?? current;
  }

  /** The /readyz component: down while a stall over the bound ended less than `holdSeconds` ago. */
  readiness(): ComponentReadiness {
    const bound = { boundMs: this.stallMs, holdSeconds: this.holdSeconds };
    this.pruneHeld();
    if (this.held.length > 0) {
      // The longest stall of the window is reported; the replica is ready again `holdSeconds` after the latest one.
      const stall = this.held.reduce((worst, s) => (s.ms > worst.ms ? s : worst));
      const latest = this.held[this.held.length - 1]!;
      const at = stall.endedAt.toISOString();
      const until = new Date(latest.endedAt.getTime() + this.holdSeconds * 1000).toISOString();
      return {
        status: 'down',
        detail: `event loop stalled ${stall.ms} ms (bound ${this.stallMs} ms), ended ${at}; not ready until ${until}`,
        stalls: this.held.length,
        since: this.held[0]!.endedAt.toISOString(),
        stallMs: stall.ms,
        stallEndedAt: at,
        ...bound,
      };
    }
    const delay = this.delay();
    return { status: 'ok', ...(delay ? { p99Ms: delay.p99Ms } : {}), ...bound };
  }
}
