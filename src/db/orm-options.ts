import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { allEntities } from '../entities/index.js';
import { migrationsList } from '../migrations/index.js';
import { RoutedPostgreSqlDriver } from './replicas.js';

export interface OrmOptionsInput {
  databaseUrl: string;
  /** Receives each SQL statement; used by tests that count queries. */
  onQuery?: (sql: string) => void;
  poolMax?: number;
  /** DATABASE_REPLICA_URLS: read replicas (src/db/replicas.ts). None: MikroORM's plain driver, as before. */
  replicaUrls?: readonly string[];
  /** REPLICA_CONNECT_TIMEOUT_MS: a replica connection not established within this fails (its read runs on the primary). */
  replicaConnectTimeoutMs?: number;
}

export function ormOptions({ databaseUrl, onQuery, poolMax = 10, replicaUrls = [], replicaConnectTimeoutMs = 2_000 }: OrmOptionsInput): Options {
  const replicas =
    replicaUrls.length === 0
      ? {}
      : {
          driver: RoutedPostgreSqlDriver,
          // node-postgres waits for a connection forever by default, and knex for a pooled one 60 s: a replica host
          // that hangs (or a network dropping its packets) would hold each read that long before the primary runs it.
          replicas: replicaUrls.map((clientUrl, i) => ({
            name: `replica-${i + 1}`,
            clientUrl,
            driverOptions: { connection: { connectionTimeoutMillis: replicaConnectTimeoutMs } },
          })),
          preferReadReplicas: true,
        };
  return defineConfig({
    ...replicas,
    clientUrl: databaseUrl,
    entities: allEntities,
    extensions: [Migrator],
    // Migrations are imported statically: files discovered on disk do not load inside vitest.
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, path: 'src/migrations', pathTs: 'src/migrations' },
    pool: { min: 0, max: poolMax },
    discovery: { warnWhenNoEntities: true },
    allowGlobalContext: false,
    debug: onQuery ? ['query'] : false,
    logger: onQuery ?? (() => undefined),
    ensureDatabase: false,
    serialization: { forceObject: true },
  });
}
