import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import { ManualClock } from '../src/config/clock.js';
import { EventLoopMonitor } from '../src/ops/event-loop-monitor.js';

/**
 * The stall guard (issue 14, part A): an event-loop stall over EVENT_LOOP_STALL_MS makes /readyz answer 503 for
 * EVENT_LOOP_STALL_HOLD_SECONDS (on the app's clock) and shows in /metrics.
 */

const BOUND_MS = 150;
const HOLD_SECONDS = 30;
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ EVENT_LOOP_STALL_MS: String(BOUND_MS), EVENT_LOOP_STALL_HOLD_SECONDS: String(HOLD_SECONDS) });
});
afterAll(async () => {
  await app?.close();
});

/** Holds this process's event loop (the server's too: it runs in this process) for `ms`. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy wait
  }
}

/** The sampler notices a stall on its first firing after the loop is free again: poll a little. */
async function readyzUntil(status: number): Promise<{ status: number; body: any }> {
  let res = await request(app.baseUrl, '/readyz');
  for (let i = 0; i < 20 && res.status !== status; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    res = await request(app.baseUrl, '/readyz');
  }
  return { status: res.status, body: res.json() };
}

function sample(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(): Promise<string> {
  const res = await request(app.baseUrl, '/metrics');
  expect(res.status).toBe(200);
  return res.text;
}

describe('event-loop stall guard', () => {
  it('reports eventLoop ok on /readyz while the loop runs freely, and exports the delay', async () => {
    // Anything the test process did before (start-up, other files' work) is forgotten after the hold window.
    app.clock.advance(HOLD_SECONDS + 1);
    const { status, body } = await readyzUntil(200);
    expect(status).toBe(200);
    expect(body.checks.eventLoop).toMatchObject({ status: 'ok', boundMs: BOUND_MS, holdSeconds: HOLD_SECONDS });
    const text = await scrape();
    expect(text).toContain('# TYPE flattr_event_loop_delay_seconds gauge');
    expect(sample(text, 'flattr_event_loop_delay_seconds', '{stat="p99"}')).toEqual(expect.any(Number));
    expect(sample(text, 'flattr_event_loop_stall_bound_seconds')).toBe(BOUND_MS / 1000);
    expect(text).toContain('# TYPE flattr_event_loop_stalls_total counter');
  });

  it('a stall over the bound makes /readyz 503 with the stall named, /metrics counts it, and the hold window ends it', async () => {
    const stallsBefore = sample(await scrape(), 'flattr_event_loop_stalls_total') ?? 0;
    const stalledAt = app.clock.now();
    blockEventLoop(BOUND_MS * 3);

    const down = await readyzUntil(503);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'down', ready: false });
    const component = down.body.checks.eventLoop;
    expect(component).toMatchObject({
      status: 'down',
      boundMs: BOUND_MS,
      holdSeconds: HOLD_SECONDS,
      stallEndedAt: stalledAt.toISOString(),
      since: stalledAt.toISOString(),
      detail: expect.stringMatching(/^event loop stalled \d+ ms \(bound 150 ms\), ended .+; not ready until .+$/),
    });
    expect(component.stallMs).toBeGreaterThan(BOUND_MS);
    // The other checks are unaffected: only the event loop is down.
    expect(down.body.checks.database.status).toBe('ok');

    const text = await scrape();
    expect(sample(text, 'flattr_event_loop_stalls_total')).toBeGreaterThanOrEqual(stallsBefore + 1);
    expect(sample(text, 'flattr_event_loop_last_stall_seconds')).toBeGreaterThan(BOUND_MS / 1000);
    expect(sample(text, 'flattr_event_loop_last_stall_timestamp_seconds')).toBe(stalledAt.getTime() / 1000);

    // Still down just before the hold window ends (the app's clock), ready again after it.
    app.clock.advance(HOLD_SECONDS - 1);
    expect((await request(app.baseUrl, '/readyz')).status).toBe(503);
    app.clock.advance(2);
    const up = await readyzUntil(200);
    expect(up.status).toBe(200);
    expect(up.body.checks.eventLoop).toMatchObject({ status: 'ok' });
    // The counter keeps the history; only readiness forgets.
    expect(sample(await scrape(), 'flattr_event_loop_stalls_total')).toBeGreaterThanOrEqual(stallsBefore + 1);
  });

  it('HEAD /readyz and ?strict=1 agree with GET', async () => {
    app.clock.advance(HOLD_SECONDS + 1);
    blockEventLoop(BOUND_MS * 3);
    expect((await readyzUntil(503)).status).toBe(503);
    expect((await request(app.baseUrl, '/readyz', { method: 'HEAD' })).status).toBe(503);
    expect((await request(app.baseUrl, '/readyz?strict=1')).status).toBe(503);
    app.clock.advance(HOLD_SECONDS + 1);
    expect((await readyzUntil(200)).status).toBe(200);
  });
});

describe('EventLoopMonitor bookkeeping', () => {
  it('stays down until the hold window after the latest stall, and reports the longest within it', () => {
    const clock = new ManualClock(new Date('2026-05-01T00:00:00Z'));
    const monitor = new EventLoopMonitor({ stallMs: 100, holdSeconds: 10, clock });
    monitor.noteDelay(100); // at the bound: not a stall
    expect(monitor.readiness()).toMatchObject({ status: 'ok' });
    expect(monitor.stalls).toBe(0);

    monitor.noteDelay(900);
    clock.advance(6);
    monitor.noteDelay(300);
    expect(monitor.stalls).toBe(2);
    expect(monitor.lastStall).toEqual({ ms: 300, endedAt: new Date('2026-05-01T00:00:06Z') });
    expect(monitor.readiness()).toMatchObject({
      status: 'down',
      stallMs: 900,
      stallEndedAt: '2026-05-01T00:00:00.000Z',
      since: '2026-05-01T00:00:00.000Z',
      stalls: 2,
      detail: 'event loop stalled 900 ms (bound 100 ms), ended 2026-05-01T00:00:00.000Z; not ready until 2026-05-01T00:00:16.000Z',
    });
    // The 900 ms stall leaves the window; the 300 ms one still holds the replica out.
    clock.advance(5);
    expect(monitor.readiness()).toMatchObject({ status: 'down', stallMs: 300, stalls: 1 });
    clock.advance(5);
    expect(monitor.readiness()).toMatchObject({ status: 'ok', boundMs: 100, holdSeconds: 10 });
  });

  it('its timers do not keep the process alive, and stop() ends them', () => {
    const monitor = new EventLoopMonitor({ stallMs: 100, holdSeconds: 10, clock: new ManualClock() });
    const before = process.getActiveResourcesInfo().length;
    monitor.start();
    expect(monitor.running).toBe(true);
    // An unref'd timer is not an active resource of the loop.
    expect(process.getActiveResourcesInfo().length).toBe(before);
    monitor.stop();
    expect(monitor.running).toBe(false);
    monitor.stop();
  });
});
