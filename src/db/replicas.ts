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
  return /Connection terminated|connection timeout|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message);
}

type Connection = ReturnType<PostgreSqlDriver['getConnection']>;

/** PostgreSqlDriver whose `read` connections follow the request's route and the replicas' states. */
export class RoutedPostgreSqlDriver extends PostgreSqlDriver {
  private statesOf: ReplicaStates | null = null;
  /** Each replica connection's own `execute`, before failOverToPrimary wrapped it (the monitor checks with it). */
  private readonly ownExecute = new WeakMap<object, Connection['execute']>();

  get replicaStates(): ReplicaStates {
    this.statesOf ??= new ReplicaStates(this.replicaConnections().map((_, i) => `replica-${i + 1}`));
    return this.statesOf;
  }

  /** Runs `sql` on replica `index` itself (never failing over to the primary): the monitor's check. */
  async checkReplica<T>(index: number, sql: string): Promise<T> {
    const connection = this.replicaConnections()[index]!;
    const execute = this.ownExecute.get(connection) ?? connection.execute.bind(connection);
    return (await execute(sql)) as T;
  }

  /** MikroORM's replica connections, in configuration order. */
  replicaConnections(): Connection[] {
    return (this as unknown as { replicas: Connection[] }).replicas;
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
    this.failOverToPrimary(chosen, index, primary);
    return chosen;
  }

  /** Makes a failed statement of `replica` (outside a transaction) run on the primary, and takes the replica out. */
  private failOverToPrimary(replica: Connection, index: number, primary: Connection): void {
    if (this.ownExecute.has(replica)) return;
    const execute = replica.execute.bind(replica);
    this.ownExecute.set(replica, execute);
    const states = this.replicaStates;
    replica.execute = (async (...args: Parameters<Connection['execute']>) => {
      try {
        return await execute(...args);
      } catch (error) {
        const ctx = args[3];
        if (ctx || !isConnectionFailure(error)) throw error;
        // A write sent here by mistake says nothing about the replica's health.
        if ((error as { code?: unknown }).code !== '25006') states.set(index, 'down', null, error instanceof Error ? error.message : String(error));
        states.primaryReads++;
        return primary.execute(...args);
      }
    }) as Connection['execute'];
  }
}

export const LAG_SQL = `select pg_is_in_recovery() as recovery,
  case when pg_last_wal_receive_lsn() is null or pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
       else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0) end::float8 as lag`;

/**
 * Checks every replica each `intervalMs`: in rotation (`up`) when it answers within the interval and its replay
 * lags at most `maxLagSeconds`; `lagging` above; `down` when it does not answer. Recovered replicas go back in.
 */
export class ReplicaMonitor {
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: { maxLagSeconds: number; intervalMs: number; onChange?: (status: ReplicaStatus) => void },
  ) {}

  get driver(): RoutedPostgreSqlDriver {
    return this.orm.em.getDriver() as unknown as RoutedPostgreSqlDriver;
  }

  get states(): ReplicaStates {
    return this.driver.replicaStates;
  }

  /** One check of every replica (also what `start` repeats). */
  async check(): Promise<void> {
    const { maxLagSeconds, intervalMs, onChange } = this.options;
    await Promise.all(
      this.driver.replicaConnections().map(async (_connection, index) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${Math.max(1_000, intervalMs)} ms`)), Math.max(1_000, intervalMs));
          });
          const [row] = await Promise.race([this.driver.checkReplica<{ recovery: boolean; lag: number }[]>(index, LAG_SQL), timeout]);
          const lag = Math.round(Number(row!.lag) * 1000) / 1000;
          const { changed, status } = !row!.recovery
            ? this.states.set(index, 'down', null, 'not a replica (pg_is_in_recovery() is false)')
            : lag > maxLagSeconds
              ? this.states.set(index, 'lagging', lag, `replay ${lag} s behind (REPLICA_MAX_LAG_SECONDS ${maxLagSeconds})`)
              : this.states.set(index, 'up', lag);
          if (changed) onChange?.(status);
        } catch (error) {
          const { changed, status } = this.states.set(index, 'down', null, error instanceof Error ? error.message : String(error));
          if (changed) onChange?.(status);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
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
  }
}
