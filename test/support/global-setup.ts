import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded-postgres.js';
import { openDatabase } from '../../src/db/database.js';
import { databaseUrlFor } from './database-names.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

/**
 * One migrated template database per run; every test file clones it (CREATE DATABASE ... TEMPLATE), so
 * files are isolated and migrations run once. Uses TEST_DATABASE_URL or DATABASE_URL when set, else an
 * embedded PostgreSQL in a temporary folder, so `npm test` passes on a machine without a server.
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedDatabase | null = null;
  let tempDir: string | null = null;
  let adminUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!adminUrl) {
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'flattr-test-pg-'));
    await fs.chmod(tempDir, 0o755);
    embedded = await startEmbeddedDatabase({ dataDir: tempDir, databaseName: 'postgres' });
    adminUrl = embedded.url;
  }
  const template = `flattr_template_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${template}"`);
  } finally {
    await admin.end();
  }
  const orm = await openDatabase({ databaseUrl: databaseUrlFor(adminUrl, template) });
  await orm.close(true);

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`drop database if exists "${template}" with (force)`);
    await client.end();
    await embedded?.stop();
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
  };
}
