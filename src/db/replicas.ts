import { AsyncLocalStorage } from 'node:async_hooks';
import { PostgreSqlDriver, type MikroORM } from '@mikro-orm/postgresql';

/**
 * Read replicas (issue 19) through MikroORM's own replica support: `replicas` (one per DATABASE_REPLICA_URLS entry)
 * and `preferReadReplicas`, so entity reads and SELECT query builders outside a transaction ask the driver for a
 * `read` connection, and everything else (writes, transactions, `em.getConnection()` without a type) uses the
 * primary. This driver then decides per request which connection a `read` is:
 *
 * - the primary, unless the code runs inside `withReadRoute(...)` with `replica: true` (the HTTP layer sets it for
 *   anonymous and read-only requests: src/server/read-routing.ts). Jobs, the CLI, start-up, the website and OAuth
 *   never set it, so they read the primary as before;
 * - otherwise a replica in rotation (round robin), or the primary when none is (down, or lagging more than
 *   REPLICA_MAX_LAG_SECONDS: `ReplicaMonitor`).
 *
 * A statement that fails on a replica for a connection-level reason (the replica went down between two checks) is
 * run again on the primary and the replica is taken out of rotation at once: no request fails because of it.
 * A replica that does not answer at all (a host that hangs, or a network that drops its packets) is bounded too:
 * a replica connection not established within REPLICA_CONNECT_TIMEOUT_MS fails (and the read runs on the primary),
 * and when the monitor's check gets no answer within that time, the reads still waiting on the replica's open
 * connections are cut off, so they too run on the primary instead of waiting for TCP to give up (minutes).
 *
 * In such a request, `em.getConnection()` and `em.getKnex()` without a type are reads too (the plain-row read paths
 * use them): a statement outside a transaction goes to the replica, and one that turns out to write there fails with
 * `read_only_sql_transaction` and is run again on the primary. Code that must read the primary asks for
 * `getConnection('write')` (or runs in `onPrimary`); statements in a transaction always run on the primary.
 */

export interface ReadRoute {
  /** Reads of this request may go to a replica. */
  replica: boolean;
}

const routes = new AsyncLocalStorage<ReadRoute>();

/** Runs `work` with `route` deciding where its reads go (a mutable object: later steps may change it). */
export function withReadRoute<T>(route: ReadRoute, work: () => T): T {
  return routes.run(route, work);
}

/** Runs `work` with every read on the primary (e.g. authentication: a token issued a moment ago must be found). */
export function onPrimary<T>(work: () => T): T {
  return routes.run({ replica: false }, work);
}

/** The current route, if any. */
export function currentReadRoute(): ReadRoute | undefined {
  return routes.getStore();
}

export type ReplicaState = 'unknown' | 'up' | 'lagging' | 'down';

export interface ReplicaStatus {
  name: string;
  state: ReplicaState;
  /** Seconds the replica's replay is behind (0 when it has replayed all it received); null when unknown. */
  lagSeconds: number | null;
  /** Why it is out of rotation. */
  detail?: string;
  /** ISO time of the last change of state. */
  since: string;
  /** Reads this process sent to it. */
  reads: number;
}

/** The replicas' states (one per replica, in DATABASE_REPLICA_URLS order), shared by the driver and the monitor. */
export class ReplicaStates {
  readonly replicas: ReplicaStatus[];
  primaryReads = 0;
  private next = 0;

  constructor(names: string[]) {
    const now = new Date().toISOString();
    // A replica is in rotation only once a check found it up.
    this.replicas = names.map((name) => ({ name, state: 'unknown', lagSeconds: null, since: now, reads: 0 }));
  }

  /** The index of the next replica in rotation (round robin), or -1. */
  pick(): number {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n;
      if (this.replicas[index]!.state === 'up') {
        this.next = index + 1;
        return index;
      }
    }
    return -1;
  }

  set(index: number, state: ReplicaState, lagSeconds: number | null, detail?: string): { changed: boolean; status: ReplicaStatus } {
    const status = this.replicas[index]!;
    const changed = status.state !== state;
    status.state = state;
    status.lagSeconds = lagSeconds;
    status.detail = detail;
    if (changed) status.since = new Date().toISOString();
    return { changed, status };
  }
}

/** Errors after which a statement is run again on the primary: the replica (or the way to it) failed, not the SQL. */
export function isConnectionFailure(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P0)/.test(code)) return true; // connection exception, admin/crash shutdown, cannot connect now
  if (code === '40001') return true; // canceled by a conflict with recovery (on a hot standby)
  if (code === '25006') return true; // a write sent to a replica (read_only_sql_transaction): the primary runs it
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  if (e?.name === 'KnexTimeoutError') return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  // "timeout expired": node-postgres's connectionTimeoutMillis (REPLICA_CONNECT_TIMEOUT_MS) ran out.
  return /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message);
}

type Connection = ReturnType<PostgreSqlDriver['getConnection']>;

/** What this module uses of a node-postgres client (knex's raw connection). */
export interface RawPgClient {
  query(text: string): Promise<{ rows: unknown[] }>;
  /** The socket: destroyed, every query waiting on it fails at once (`end()` would wait for the server). */
  connection?: { stream?: { destroy(): void } };
  /** Set by knex when the connection errored or ended. */
  __knex__disposed?: unknown;
}

interface KnexPgClient {
  acquireRawConnection(): Promise<RawPgClient>;
  /** tarn's pool: connections lent out (`used`) and idle (`free`). */
  pool?: { used: { resource: RawPgClient }[]; free: { resource: RawPgClient }[] } | null;
}

/** Closes a pg client's socket at once, whatever the server does (or does not) answer. */
export function destroySocket(client: RawPgClient): void {
  client.connection?.stream?.destroy();
}

/** PostgreSqlDriver whose `read` connections follow the request's route and the replicas' states. */
export class RoutedPostgreSqlDriver extends PostgreSqlDriver {
  private statesOf: ReplicaStates | null = null;
  /** Replica connections whose `execute` failOverToPrimary already wrapped. */
  private readonly wrapped = new WeakSet<object>();

  get replicaStates(): ReplicaStates {
    this.statesOf ??= new ReplicaStates(this.replicaConnections().map((_, i) => `replica-${i + 1}`));
    return this.statesOf;
  }

  /** MikroORM's replica connections, in configuration order. */
  replicaConnections(): Connection[] {
    return (this as unknown as { replicas: Connection[] }).replicas;
  }

  private knexClient(index: number): KnexPgClient {
    return this.replicaConnections()[index]!.getKnex().client as unknown as KnexPgClient;
  }

  /**
   * A connection to replica `index` outside its pool, with the pool's settings (its connect timeout included): the
   * monitor's own, so its check asks the replica itself (never the primary a failed read falls back to) and does
   * not wait behind the requests' reads for a pooled connection.
   */
  connectReplica(index: number): Promise<RawPgClient> {
    return this.knexClient(index).acquireRawConnection();
  }

  /**
   * Cuts every pooled connection of replica `index` (the monitor found it not answering): statements waiting on it
   * fail with "Connection terminated", so failOverToPrimary (or readRows) runs them on the primary, and the idle
   * ones are replaced by new connections once it is back.
   */
  abortReplica(index: number): void {
    const pool = this.knexClient(index).pool;
    for (const { resource } of [...(pool?.used ?? []), ...(pool?.free ?? [])]) destroySocket(resource);
  }

  /**
   * A statement on `connection` failed: when it is a replica's and the failure is the connection's, that replica
   * leaves the rotation at once (the monitor puts it back when a check finds it well).
   */
  replicaFailed(connection: unknown, error: unknown): void {
    const index = this.replicaConnections().indexOf(connection as Connection);
    // A write sent here by mistake says nothing about the replica's health.
    if (index < 0 || !isConnectionFailure(error) || (error as { code?: unknown }).code === '25006') return;
    this.replicaStates.set(index, 'down', null, error instanceof Error ? error.message : String(error));
  }

  override getConnection(type?: 'read' | 'write'): Connection {
    const primary = super.getConnection('write');
    if (type === 'write') return primary;
    const replica = routes.getStore()?.replica === true;
    // No type (em.getConnection(), em.getKnex()): a read only in a request that may read a replica.
    if (type === undefined && !replica) return primary;
    const replicas = this.replicaConnections();
    if (replicas.length === 0 || !replica) {
      if (replicas.length > 0) this.replicaStates.primaryReads++;
      return primary;
    }
    const states = this.replicaStates;
    const index = states.pick();
    if (index < 0) {
      states.primaryReads++;
      return primary;
    }
    states.replicas[index]!.reads++;
    const chosen = replicas[index]!;
    this.failOverToPrimary(chosen, primary);
    return chosen;
  }

  /** Makes a failed statement of `replica` (outside a transaction) run on the primary, and takes the replica out. */
  private failOverToPrimary(replica: Connection, primary: Connection): void {
    if (this.wrapped.has(replica)) return;
    this.wrapped.add(replica);
    const execute = replica.execute.bind(replica);
    replica.execute = (async (...args: Parameters<Connection['execute']>) => {
      try {
        return await execute(...args);
      } catch (error) {
        const ctx = args[3];
        if (ctx || !isConnectionFailure(error)) throw error;
        this.replicaFailed(replica, error);
        this.replicaStates.primaryReads++;
        return primary.execute(...args);
      }
    }) as Connection['execute'];
  }
}

export const LAG_SQL = `select pg_is_in_recovery() as recovery,
  case when pg_last_wal_receive_lsn() is null or pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
       else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0) end::float8 as lag`;

/**
 * Checks every replica each `intervalMs` (after the previous check ended), each on a connection of its own
 * (`connectReplica`): in rotation (`up`) when it answers within `timeoutMs` (REPLICA_CONNECT_TIMEOUT_MS, connecting
 * included) and its replay lags at most `maxLagSeconds`; `lagging` above; `down` when it fails or does not answer.
 * No answer within `timeoutMs` also cuts the replica's pooled connections (`abortReplica`): reads waiting on a
 * replica that hangs run on the primary. Recovered replicas go back in.
 */
export class ReplicaMonitor {
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** Each replica's check connection (a promise while connecting); dropped after a failed check, reopened by the next. */
  private readonly links: (Promise<RawPgClient> | null)[] = [];

  constructor(
    private readonly orm: MikroORM,
    private readonly options: { maxLagSeconds: number; intervalMs: number; timeoutMs?: number; onChange?: (status: ReplicaStatus) => void },
  ) {}

  get driver(): RoutedPostgreSqlDriver {
    return this.orm.em.getDriver() as unknown as RoutedPostgreSqlDriver;
  }

  get states(): ReplicaStates {
    return this.driver.replicaStates;
  }

  /** One check of every replica (also what `start` repeats). */
  async check(): Promise<void> {
    const { maxLagSeconds, onChange } = this.options;
    const timeoutMs = this.options.timeoutMs ?? 2_000;
    await Promise.all(
      this.driver.replicaConnections().map(async (_connection, index) => {
        let timer: NodeJS.Timeout | undefined;
        let timedOut = false;
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              timedOut = true;
              reject(new Error(`no answer within ${timeoutMs} ms (REPLICA_CONNECT_TIMEOUT_MS)`));
            }, timeoutMs);
          });
          const ask = async () => {
            let client = await this.link(index);
            // Closed since the last check (the replica restarted, say): a new connection, not a false "down".
            if (client.__knex__disposed) {
              this.dropLink(index);
              client = await this.link(index);
            }
            return (await client.query(LAG_SQL)).rows as { recovery: boolean; lag: number }[];
          };
          const [row] = await Promise.race([ask(), timeout]);
          const lag = Math.round(Number(row!.lag) * 1000) / 1000;
          const { changed, status } = !row!.recovery
            ? this.states.set(index, 'down', null, 'not a replica (pg_is_in_recovery() is false)')
            : lag > maxLagSeconds
              ? this.states.set(index, 'lagging', lag, `replay ${lag} s behind (REPLICA_MAX_LAG_SECONDS ${maxLagSeconds})`)
              : this.states.set(index, 'up', lag);
          if (changed) onChange?.(status);
        } catch (error) {
          this.dropLink(index);
          // It hangs: what waits on it would wait for TCP to give up. Those reads run on the primary instead.
          if (timedOut) this.driver.abortReplica(index);
          const { changed, status } = this.states.set(index, 'down', null, error instanceof Error ? error.message : String(error));
          if (changed) onChange?.(status);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  private link(index: number): Promise<RawPgClient> {
    let link = this.links[index];
    if (!link) {
      link = this.links[index] = this.driver.connectReplica(index);
      link.catch(() => undefined); // reported through the check that waits for it
    }
    return link;
  }

  /** Closes replica `index`'s check connection (now, or once it connects): the next check opens a new one. */
  private dropLink(index: number): void {
    const link = this.links[index];
    this.links[index] = null;
    link?.then(destroySocket, () => undefined);
  }

  start(): void {
    const tick = () => {
      this.checking = this.check().finally(() => {
        this.checking = null;
        if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.checking;
    for (let i = 0; i < this.links.length; i++) this.dropLink(i);
  }
}
