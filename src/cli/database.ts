import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig, loadDotEnv } from '../config/config.js';
import { openDatabase } from '../db/database.js';
import { connectToExistingDatabase } from '../server/database-url.js';

/** Runs `work` on the database the server uses, then disconnects whatever happens. */
export type WithDatabase = <T>(work: (em: EntityManager) => Promise<T>) => Promise<T>;

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL in DATA_DIR: the one the running server
 * started, or one started here (and stopped again before returning). Migrations and reference data
 * are applied like the server does, so a fresh DATA_DIR works too. Nothing is logged: stdout carries
 * only the command's JSON.
 */
export const withDatabase: WithDatabase = async (work) => {
  loadDotEnv();
  const config = loadConfig();
  const database = await connectToExistingDatabase(config, () => undefined);
  try {
    const orm = await openDatabase({ databaseUrl: database.url, poolMax: 2 });
    try {
      return await work(orm.em.fork());
    } finally {
      await orm.close(true);
    }
  } finally {
    await database.stop();
  }
};
