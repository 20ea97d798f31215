import pg from 'pg';
import { systemClock } from '../../../src/config/clock.js';
import { openDatabase } from '../../../src/db/database.js';
import { Fixtures } from '../fixtures.js';
import { Tally } from './settings.js';

/**
 * Data and a write load for the fault tests: many users with means and tokens, things of one owner, and a burst of
 * flattrs (each user/thing pair at most once, so every one of them should succeed) plus thing creations. Every
 * acknowledged write (200 or 201) is remembered, so that after the fault the test can check each one is there.
 */

export interface Seeded {
  thingIds: number[];
  users: { id: number; token: string }[];
}

/** Creates the database `name` on `adminUrl`'s server, migrates it (openDatabase) and fills it. */
export async function seedDatabase(adminUrl: string, databaseUrl: string, name: string, counts: { users: number; things: number }): Promise<Seeded> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const orm = await openDatabase({ databaseUrl });
  try {
    const fx = new Fixtures(orm, systemClock);
    const owner = await fx.user({ username: 'owner' });
    const thingIds: number[] = [];
    for (let i = 0; i < counts.things; i++) thingIds.push((await fx.thing(owner, { title: `Fault thing ${i}` })).id);
    const users: Seeded['users'] = [];
    for (let i = 0; i < counts.users; i++) {
      const user = await fx.user({ username: `writer${i}`, balanceCents: 1000 } as never);
      users.push({ id: user.id, token: await fx.token(user, ['flattr', 'thing']) });
    }
    return { thingIds, users };
  } finally {
    await orm.close(true);
  }
}

export interface AckedFlattr {
  userId: number;
  thingId: number;
}

export class WriteLoad {
  readonly ackedFlattrs: AckedFlattr[] = [];
  readonly ackedThings: { id: number; url: string }[] = [];
  readonly outcomes = new Tally();
  /** Answers that were neither an acknowledgement nor a connection failure, with their bodies. */
  readonly refusals: { status: number; contentType: string | null; body: string }[] = [];
  private readonly jobs: { kind: 'flattr' | 'create'; user: Seeded['users'][number]; thingId: number; n: number }[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private next = 0;

  constructor(
    private readonly seeded: Seeded,
    /** Where to send requests; a function, because a restarted server listens on another port. */
    private readonly baseUrl: () => string,
    private readonly concurrency = 16,
  ) {
    let n = 0;
    // Interleave users and things so that consecutive jobs touch different rows.
    for (let round = 0; round < seeded.thingIds.length; round++) {
      for (const [u, user] of seeded.users.entries()) {
        const thingId = seeded.thingIds[(round + u) % seeded.thingIds.length]!;
        this.jobs.push({ kind: n % 8 === 7 ? 'create' : 'flattr', user, thingId, n: n++ });
      }
    }
  }

  get remaining(): number {
    return this.jobs.length - this.next;
  }

  get acknowledged(): number {
    return this.ackedFlattrs.length + this.ackedThings.length;
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (this.running && this.next < this.jobs.length) {
      const job = this.jobs[this.next++]!;
      try {
        const res =
          job.kind === 'flattr'
            ? await fetch(`${this.baseUrl()}/rest/v2/things/${job.thingId}/flattr`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${job.user.token}` },
                signal: AbortSignal.timeout(10_000),
              })
            : await fetch(`${this.baseUrl()}/rest/v2/things`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${job.user.token}`, 'Content-Type': 'application/json' },
                body: JSON.stringify({ url: `https://example.org/fault/${job.n}`, title: `Fault ${job.n}` }),
                signal: AbortSignal.timeout(10_000),
              });
        const text = await res.text();
        this.outcomes.add(`${job.kind} ${res.status}`);
        if (job.kind === 'flattr' && res.status === 200) this.ackedFlattrs.push({ userId: job.user.id, thingId: job.thingId });
        else if (job.kind === 'create' && res.status === 201) this.ackedThings.push({ id: JSON.parse(text).id, url: `https://example.org/fault/${job.n}` });
        else {
          this.refusals.push({ status: res.status, contentType: res.headers.get('content-type'), body: text });
          // A failing service (database down): do not burn through the jobs while it is away.
          if (res.status >= 500) await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } catch {
        // Connection refused or reset, or no answer in time: not acknowledged, so the write may or may not exist.
        this.outcomes.add(`${job.kind} no answer`);
        if (!this.running) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** Every acknowledged write that is missing from the database (empty when none was lost). */
export async function lostWrites(databaseUrl: string, load: WriteLoad): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const flattrs = await client.query('select user_id, thing_id from flattrs');
    const present = new Set(flattrs.rows.map((r) => `${r.user_id}/${r.thing_id}`));
    const things = await client.query('select id, url from things');
    const thingUrls = new Map(things.rows.map((r) => [r.id as number, r.url as string]));
    return [
      ...load.ackedFlattrs.filter((f) => !present.has(`${f.userId}/${f.thingId}`)).map((f) => `flattr ${f.userId}/${f.thingId}`),
      ...load.ackedThings.filter((t) => thingUrls.get(t.id) !== t.url).map((t) => `thing ${t.id} ${t.url}`),
    ];
  } finally {
    await client.end();
  }
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return false;
}
