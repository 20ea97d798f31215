import pg from 'pg';
import { LIVE_CHANNEL, parseNotification, type LiveNotification } from './events.js';

export interface ListenerOptions {
  /** The primary's URL: notifications are never sent by a replica. */
  databaseUrl: string;
  onNotification: (notification: LiveNotification) => void;
  /** Called when the connection is (re)established: events may have been missed while it was down. */
  onConnected?: () => void;
  onError?: (error: unknown) => void;
}

const RETRY_MS = [100, 500, 1_000, 2_000, 5_000];

/**
 * One dedicated PostgreSQL connection per process that LISTENs on `flattr_live`, reconnecting with back-off when it
 * drops. Notifications arrive only for committed transactions, in commit order.
 */
export class LiveListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ready: Promise<void> | null = null;

  constructor(private readonly options: ListenerOptions) {}

  /** Resolves once LISTEN is in place (events committed after this are delivered). */
  start(): Promise<void> {
    this.ready ??= this.connect();
    return this.ready;
  }

  get listening(): boolean {
    return this.client !== null;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'flattr-live' });
    client.on('notification', (message) => {
      if (message.channel !== LIVE_CHANNEL) return;
      const notification = parseNotification(message.payload);
      if (notification) this.options.onNotification(notification);
    });
    client.on('error', (error) => {
      this.options.onError?.(error);
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`listen ${LIVE_CHANNEL}`);
    } catch (error) {
      this.options.onError?.(error);
      this.reconnect(client);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.options.onConnected?.();
  }

  private reconnect(client: pg.Client): void {
    if (this.client === client) this.client = null;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.stopped || this.timer) return;
    const delay = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)]!;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.ready = this.connect().catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
