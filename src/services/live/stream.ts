/**
 * One open subscription: a bounded queue read as an async iterator (what GraphQL subscriptions consume). The
 * transport pulls the next event only when the client has taken the previous ones, so a client that stops reading
 * lets this queue fill: beyond `maxBuffered` events it is emptied and the stream ends with a final
 * SLOW_CONSUMER event instead of growing.
 */

/** Why a stream ended early: the `extensions.code` of its final event. */
export type LiveEndCode = 'SLOW_CONSUMER' | 'TOKEN_REVOKED' | 'SERVER_SHUTTING_DOWN' | 'RATE_LIMITED';

export const END_MESSAGES: Record<LiveEndCode, string> = {
  SLOW_CONSUMER: 'The subscription ended: the client did not read its events fast enough, and they are not kept for it.',
  TOKEN_REVOKED: 'The subscription ended: its access token was revoked or is no longer valid.',
  SERVER_SHUTTING_DOWN: 'The subscription ended: the server is shutting down. Subscribe again (another server will answer).',
  RATE_LIMITED: 'The subscription ended: the rate limit of its token is exhausted.',
};

/** The last item of a stream that ended early; the schema turns it into an error with that code. */
export class LiveEnd {
  constructor(readonly code: LiveEndCode) {}
  get message(): string {
    return END_MESSAGES[this.code];
  }
}

export interface LiveOwner {
  /** The rate-limit bucket of the caller (`token:<sha256>` or `ip:<address>`): the per-caller cap counts by it. */
  key: string;
  /** The access token behind the stream (revocation ends it); null for anonymous callers. */
  tokenId: number | null;
  /** The viewer's user id; null for anonymous callers. */
  userId: number | null;
}

export interface StreamHooks {
  /** Called once when the stream is gone (ended, returned by the consumer, or dropped). */
  onClose(stream: LiveStream<unknown>): void;
  /** Called with the number of events thrown away when the buffer overflowed. */
  onDropped(count: number): void;
}

export class LiveStream<T> implements AsyncIterableIterator<T | LiveEnd> {
  private readonly queue: (T | LiveEnd)[] = [];
  private waiting: ((result: IteratorResult<T | LiveEnd>) => void) | null = null;
  private ending = false;
  private closed = false;
  private readonly cleanups: (() => void)[] = [];
  /** When the stream was opened and last charged against the rate limit (ms since epoch). */
  readonly openedAt = Date.now();
  lastChargedAt = Date.now();

  constructor(
    readonly owner: LiveOwner,
    private readonly maxBuffered: number,
    private readonly hooks: StreamHooks,
  ) {}

  get isOpen(): boolean {
    return !this.ending && !this.closed;
  }

  get buffered(): number {
    return this.queue.length;
  }

  /** Runs `cleanup` when the stream closes (timers of the field that opened it). */
  onClose(cleanup: () => void): void {
    if (this.closed) cleanup();
    else this.cleanups.push(cleanup);
  }

  push(value: T): void {
    if (!this.isOpen) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
      return;
    }
    this.queue.push(value);
    if (this.queue.length > this.maxBuffered) {
      this.hooks.onDropped(this.queue.length);
      this.queue.length = 0;
      // The final event waits behind whatever the connection still holds; the transport cuts a connection that does
      // not take it within a few seconds (src/server/live-transport.ts).
      this.end('SLOW_CONSUMER');
    }
  }

  /** Ends the stream: `code` becomes a final event (after the events already queued, except on overflow). */
  end(code?: LiveEndCode): void {
    if (!this.isOpen) return;
    this.ending = true;
    if (code) this.queue.push(new LiveEnd(code));
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      const next = this.queue.shift();
      if (next !== undefined) resolve({ value: next, done: false });
      else {
        resolve({ value: undefined, done: true });
        this.close();
      }
    }
  }

  next(): Promise<IteratorResult<T | LiveEnd>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ending || this.closed) {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T | LiveEnd>> {
    this.ending = true;
    this.queue.length = 0;
    if (this.waiting) {
      this.waiting({ value: undefined, done: true });
      this.waiting = null;
    }
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T | LiveEnd>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        cleanup();
      } catch {
        /* a cleanup never stops the others */
      }
    }
    this.hooks.onClose(this as LiveStream<unknown>);
  }
}
