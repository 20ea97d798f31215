import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { allEntities } from '../entities/index.js';
import { migrationsList } from '../migrations/index.js';

export interface OrmOptionsInput {
  databaseUrl: string;
  /** Receives each SQL statement; used by tests that count queries. */
  onQuery?: (sql: string) => void;
  poolMax?: number;
}

export function ormOptions({ databaseUrl, onQuery, poolMax = 10 }: OrmOptionsInput): Options {
  return defineConfig({
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
