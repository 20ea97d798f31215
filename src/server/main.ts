import http from 'node:http';
import { ConfigError, loadConfig, loadDotEnv } from '../config/config.js';
import { systemClock } from '../config/clock.js';
import { openDatabase } from '../db/database.js';
import { createApp } from './app.js';
import { createLogger } from './logger.js';
import { provideDatabase } from './database-url.js';

async function main(): Promise<void> {
  loadDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const database = await provideDatabase(config, (msg) => logger.info(msg));
  const orm = await openDatabase({ databaseUrl: database.url }).catch(async (error) => {
    await database.stop();
    throw error;
  });
  const app = createApp({ orm, config, clock: systemClock, logger });
  const server = http.createServer(app.callback());
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ port, host: config.host, embedded: !config.databaseUrl }, `Flattr API listening on http://${config.host}:${port} (REST at /rest/v2, GraphQL at /graphql)`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await orm.close();
    await database.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
