import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Flattr, Thing, type FlattrEntity, type ThingEntity } from '../../entities/index.js';
import type { LiveNotification } from './events.js';
import { LiveStream, type LiveEndCode, type LiveOwner } from './stream.js';

/**
 * The live events of one process (issue 20): the open subscription streams, the notifications that reach them
 * (src/services/live/listener.ts), and the limits around them. Every notification is read from the database once
 * per process (not once per subscriber); each stream then decides, with its own viewer, whether the event is for it.
 */

/** A committed write, as the streams receive it (rows read after the commit). */
export type LiveEvent =
  | { kind: 'flattr'; flattr: FlattrEntity; thing: ThingEntity }
  | { kind: 'thing'; op: 'insert' | 'update' | 'delete'; thingId: number; ownerId: number; hidden: boolean; thing: ThingEntity | null }
  | { kind: 'stats' };

export interface LiveLimits {
  /** LIVE_MAX_PER_CALLER: open streams per token (or per client address without one). */
  perCaller: number;
  /** LIVE_MAX_STREAMS: open streams per process. */
  perProcess: number;
  /** LIVE_BUFFER_EVENTS: events kept for a client that does not read before it is dropped. */
  buffer: number;
  /** LIVE_CHARGE_SECONDS: each further period a stream stays open costs its caller one request (0: never). */
  chargeSeconds: number;
  /** How often open streams' tokens are checked again (revocation, disabled application). */
  revalidateMs: number;
}

export interface LiveMetrics {
  delivered(kind: string): void;
  dropped(kind: string, count: number): void;
  ended(reason: string): void;
  refused(reason: string): void;
}

export type LiveLimitKind = 'caller' | 'process';

/** A cap was reached; the schema answers SUBSCRIPTION_LIMIT. */
export class LiveLimitError extends Error {
  constructor(
    readonly limit: LiveLimitKind,
    readonly max: number,
  ) {
    super(
      limit === 'caller'
        ? `Too many open subscriptions for this token (at most ${max}): close one first.`
        : `This server has too many open subscriptions (at most ${max}): try again later.`,
    );
  }
}

/** A stream's reaction to an event: the payload to push, or null when the event is not for it. */
export type LiveHandler<T> = (event: LiveEvent) => T | null | Promise<T | null>;

interface Entry {
  stream: LiveStream<unknown>;
  /** Its member in the shared per-caller count. */
  id: string;
  handle: LiveHandler<unknown>;
  kind: string;
  /** Charges the caller one request; false when the bucket is empty. */
  charge: (() => Promise<boolean>) | null;
}

/** The per-caller count shared by every process (src/server/live-callers.ts: Redis). */
export interface LiveCallerCount {
  /** Counts the stream for its caller; false when the caller has `max` open already (in any process). */
  acquire(caller: string, streamId: string, max: number): Promise<boolean>;
  release(caller: string, streamId: string): void;
  /** Keeps the open streams of this process counted (a stream not refreshed for a while is forgotten). */
  refresh(streams: { caller: string; streamId: string }[]): Promise<void>;
  close(): Promise<void>;
}

/** How often the open streams are refreshed in the shared count. */
const SHARED_REFRESH_MS = 10_000;

export interface LiveHubOptions {
  /** A root entity manager: each event is read on a fork of it. */
  em: EntityManager;
  limits: LiveLimits;
  metrics?: LiveMetrics;
  /** Starts the LISTEN connection (resolves once it listens). */
  listen?: () => Promise<void>;
  /** Shares LIVE_MAX_PER_CALLER between processes; without it the cap is per process. */
  callers?: LiveCallerCount | null;
  /** Logs an error of an event's delivery (never thrown at the notification source). */
  onError?: (error: unknown) => void;
}

export class LiveHub {
  private readonly entries = new Map<LiveStream<unknown>, Entry>();
  private readonly perCaller = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  /** Bumped by every write that can change the statistics totals. */
  statsVersion = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly shared = new Map<string, { until: number; value: Promise<unknown> }>();

  constructor(private readonly options: LiveHubOptions) {}

  get limits(): LiveLimits {
    return this.options.limits;
  }

  get open(): number {
    return this.entries.size;
  }

  /** Open streams by field, for the metrics. */
  openByKind(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const entry of this.entries.values()) counts.set(entry.kind, (counts.get(entry.kind) ?? 0) + 1);
    return counts;
  }

  /**
   * Opens a stream for `owner` (caps checked first: LiveLimitError) that receives what `handle` makes of each
   * event. Resolves once the process listens, so every write committed afterwards reaches the stream.
   */
  async openStream<T>(kind: string, owner: LiveOwner, handle: LiveHandler<T>, charge: (() => Promise<boolean>) | null = null): Promise<LiveStream<T>> {
    const { perCaller, perProcess, buffer } = this.options.limits;
    if (this.closing || this.entries.size >= perProcess) {
      this.options.metrics?.refused('process');
      throw new LiveLimitError('process', perProcess);
    }
    const mine = this.perCaller.get(owner.key) ?? 0;
    if (mine >= perCaller) {
      this.options.metrics?.refused('caller');
      throw new LiveLimitError('caller', perCaller);
    }
    const stream = new LiveStream<T>(owner, buffer, {
      onClose: (closed) => this.remove(closed),
      onDropped: (count) => this.options.metrics?.dropped(kind, count),
    });
    const id = randomUUID();
    this.entries.set(stream as LiveStream<unknown>, { stream: stream as LiveStream<unknown>, id, handle: handle as LiveHandler<unknown>, kind, charge });
    this.perCaller.set(owner.key, mine + 1);
    const callers = this.options.callers;
    if (callers && !(await callers.acquire(owner.key, id, perCaller))) {
      void stream.return();
      this.options.metrics?.refused('caller');
      throw new LiveLimitError('caller', perCaller);
    }
    this.startTimer();
    try {
      await this.options.listen?.();
    } catch (error) {
      void stream.return();
      throw error;
    }
    return stream;
  }

  private remove(stream: LiveStream<unknown>): void {
    const entry = this.entries.get(stream);
    if (!entry || !this.entries.delete(stream)) return;
    this.options.callers?.release(stream.owner.key, entry.id);
    const left = (this.perCaller.get(stream.owner.key) ?? 1) - 1;
    if (left > 0) this.perCaller.set(stream.owner.key, left);
    else this.perCaller.delete(stream.owner.key);
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Ends every stream of these tokens with TOKEN_REVOKED. */
  endTokens(tokenIds: Iterable<number>, code: LiveEndCode = 'TOKEN_REVOKED'): void {
    const ids = new Set(tokenIds);
    for (const { stream } of this.entries.values()) {
      if (stream.owner.tokenId !== null && ids.has(stream.owner.tokenId)) this.endStream(stream, code);
    }
  }

  private endStream(stream: LiveStream<unknown>, code: LiveEndCode): void {
    if (!stream.isOpen) return;
    this.options.metrics?.ended(code);
    stream.end(code);
  }

  /** Graceful shutdown: every stream ends with a final SERVER_SHUTTING_DOWN event; new ones are refused. */
  shutdown(): void {
    this.closing = true;
    for (const { stream } of [...this.entries.values()]) this.endStream(stream, 'SERVER_SHUTTING_DOWN');
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The same answer for every stream of this process within `ttlMs` (statistics totals are computed once). */
  sharedValue<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.shared.get(key);
    if (hit && hit.until > now) return hit.value as Promise<T>;
    const value = compute();
    // Keys change daily (statistics of today): expired ones go before they pile up.
    for (const [old, entry] of this.shared) if (entry.until <= now) this.shared.delete(old);
    this.shared.set(key, { until: now + ttlMs, value });
    value.catch(() => this.shared.delete(key));
    return value;
  }

  /** A notification from the listener. Never throws. */
  notify(notification: LiveNotification): void {
    // One after the other, so streams receive events in commit order.
    this.chain = this.chain.then(() => this.dispatch(notification)).catch((error) => this.options.onError?.(error));
  }

  /** The listener (re)connected: notifications may have been missed, so statistics are recomputed. */
  reconnected(): void {
    this.statsVersion++;
  }

  private async dispatch(notification: LiveNotification): Promise<void> {
    if (notification.kind === 'token') {
      this.endTokens([notification.tokenId]);
      return;
    }
    this.statsVersion++;
    if (this.entries.size === 0) return;
    const event = await this.load(notification);
    if (!event) return;
    for (const entry of [...this.entries.values()]) {
      if (!entry.stream.isOpen) continue;
      let payload: unknown;
      try {
        payload = await entry.handle(event);
      } catch (error) {
        this.options.onError?.(error);
        continue;
      }
      if (payload === null || payload === undefined || !entry.stream.isOpen) continue;
      entry.stream.push(payload);
      this.options.metrics?.delivered(entry.kind);
    }
  }

  /**
   * The committed rows behind a notification, read once for every stream. Read from the primary (never a replica,
   * which may not have the commit yet).
   */
  private async load(notification: LiveNotification): Promise<LiveEvent | null> {
    const em = this.options.em.fork();
    const primary = { connectionType: 'write' } as const;
    switch (notification.kind) {
      case 'flattr': {
        const flattr = await em.findOne(Flattr, { id: notification.flattrId }, { populate: ['user'], ...primary });
        const thing = await em.findOne(Thing, { id: notification.thingId }, { populate: ['owner'], ...primary });
        // Gone already (the thing was deleted right after): nothing to announce.
        return flattr && thing ? { kind: 'flattr', flattr, thing } : null;
      }
      case 'thing': {
        const thing = notification.op === 'delete' ? null : await em.findOne(Thing, { id: notification.thingId }, { populate: ['owner'], ...primary });
        if (notification.op !== 'delete' && !thing) return null;
        return { kind: 'thing', op: notification.op, thingId: notification.thingId, ownerId: notification.ownerId, hidden: notification.hidden, thing };
      }
      case 'stats':
      case 'bulk':
        return { kind: 'stats' };
      default:
        return null;
    }
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.revalidate().catch((error) => this.options.onError?.(error)), this.options.limits.revalidateMs);
    this.timer.unref();
  }

  /**
   * Every few seconds: tokens of open streams that are no longer valid (revoked, deleted, application disabled)
   * end their streams, whatever notification was missed; streams open longer than LIVE_CHARGE_SECONDS since their
   * last charge cost their caller one more request, and end with RATE_LIMITED when the bucket is empty.
   */
  private lastSharedRefresh = Date.now();

  private async revalidate(): Promise<void> {
    const callers = this.options.callers;
    if (callers && Date.now() - this.lastSharedRefresh >= SHARED_REFRESH_MS) {
      this.lastSharedRefresh = Date.now();
      await callers.refresh([...this.entries.values()].map((entry) => ({ caller: entry.stream.owner.key, streamId: entry.id })));
    }
    const tokenIds = new Set<number>();
    for (const { stream } of this.entries.values()) if (stream.isOpen && stream.owner.tokenId !== null) tokenIds.add(stream.owner.tokenId);
    if (tokenIds.size > 0) {
      const rows = await this.options.em.getConnection().execute<{ id: number }[]>(
        `select t.id from oauth_access_tokens t join oauth_clients c on c.id = t.client_id
          where t.id in (?) and t.revoked_at is null and c.enabled`,
        [[...tokenIds]],
      );
      for (const row of rows) tokenIds.delete(row.id);
      if (tokenIds.size > 0) this.endTokens(tokenIds);
    }
    const chargeMs = this.options.limits.chargeSeconds * 1000;
    if (chargeMs <= 0) return;
    const now = Date.now();
    for (const entry of [...this.entries.values()]) {
      const { stream, charge } = entry;
      if (!charge || !stream.isOpen || now - stream.lastChargedAt < chargeMs) continue;
      stream.lastChargedAt = now;
      if (!(await charge())) this.endStream(stream, 'RATE_LIMITED');
    }
  }
}

/** What a subscription needs from its request (the GraphQL context's `live`, set by src/server/live.ts). */
export interface LiveSession {
  hub: LiveHub;
  owner: LiveOwner;
  /** Charges the caller's rate-limit bucket one request; false when it is empty. Null: not charged. */
  charge: (() => Promise<boolean>) | null;
}
