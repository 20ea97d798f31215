import type { AppConfig } from '../config/config.js';
import { findRunningEmbeddedDatabase, startEmbeddedDatabase } from '../db/embedded-postgres.js';

export interface DatabaseHandle {
  url: string;
  /** Stops what this process started (the embedded PostgreSQL); a no-op for an external server. */
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded PostgreSQL in DATA_DIR, started or reused. */
export async function provideDatabase(config: AppConfig, log: (msg: string) => void): Promise<DatabaseHandle> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, relocatable: config.dataDirIsDefault, log });
  return embedded;
}

/** For a second process (the admin CLI): connect to the same database as the running server. */
export async function connectToExistingDatabase(config: AppConfig, log: (msg: string) => void): Promise<DatabaseHandle> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  const running = await findRunningEmbeddedDatabase(config.dataDir, undefined, { relocatable: config.dataDirIsDefault });
  if (running) return { url: running, stop: async () => undefined };
  // None answered just now; start one, and stop it again when done. But when the start-up finds a server
  // after all (the running server's PostgreSQL was busy a moment ago, or it has just started one), it adopts
  // it: that one belongs to someone else and must be left running.
  let adopted = false;
  const embedded = await startEmbeddedDatabase({
    dataDir: config.dataDir,
    relocatable: config.dataDirIsDefault,
    log: (msg) => {
      if (msg.startsWith('reusing PostgreSQL already running')) adopted = true;
      log(msg);
    },
  });
  return adopted ? { url: embedded.url, stop: async () => undefined } : embedded;
}
