import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { ManualClock } from '../src/config/clock.js';

describe('configuration', () => {
  it('has the documented defaults, derived from PORT', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toEqual({
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: null,
      dataDir: '/srv/app/.data',
      dataDirIsDefault: true,
      apiUrl: 'http://localhost:3000/rest/v2',
      siteUrl: 'http://localhost:3000',
      docsUrl: 'http://developers.flattr.net',
      rateLimitPerHour: 5000,
      rateLimitWindowSeconds: 3600,
      maxPageSize: 100,
      authCodeTtlSeconds: 600,
      tagAuthority: 'flattr.com',
      trustProxy: false,
      requireTls: false,
      redisUrl: null,
      logLevel: 'info',
      graphqlMaxDepth: 12,
      graphqlMaxCost: 20000,
      graphqlTrustedDocuments: null,
      subscriptionsCron: false,
      rateLimitRedisTimeoutMs: 200,
      rateLimitKeyPrefix: 'flattr:ratelimit',
      metricsToken: null,
      shutdownTimeoutMs: 8000,
      httpHeadersTimeoutMs: 10000,
      httpRequestTimeoutMs: 30000,
      statsCacheSeconds: 30,
      liveMaxPerCaller: 10,
      liveMaxStreams: 5_000,
      liveBufferEvents: 100,
      liveChargeSeconds: 60,
      searchCountCacheSize: 10_000,
      searchRelevanceCacheIds: 2_000_000,
      eventLoopStallMs: 1000,
      eventLoopStallHoldSeconds: 30,
      logFormat: 'json',
      webConcurrency: 1,
      jobs: true,
      jobsTickSeconds: 30,
      databaseReplicaUrls: [],
      replicaStickySeconds: 5,
      replicaMaxLagSeconds: 10,
      replicaConnectTimeoutMs: 2_000,
    });
    expect(loadConfig({ PORT: '8080' }).apiUrl).toBe('http://localhost:8080/rest/v2');
    expect(loadConfig({ DATA_DIR: '/var/lib/flattr' }, '/srv/app')).toMatchObject({ dataDir: '/var/lib/flattr', dataDirIsDefault: false });
  });

  it('removes trailing slashes from the base URLs', () => {
    const config = loadConfig({ API_URL: 'https://api.flattr.com/rest/v2/', SITE_URL: 'https://flattr.com/', DOCS_URL: 'https://docs.example//' });
    expect([config.apiUrl, config.siteUrl, config.docsUrl]).toEqual(['https://api.flattr.com/rest/v2', 'https://flattr.com', 'https://docs.example']);
  });

  it('rejects bad values with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(new ConfigError('PORT must be a whole number, got "eighty"'));
    expect(() => loadConfig({ PORT: '70000' })).toThrow('PORT must be between 0 and 65535, got 70000');
    expect(() => loadConfig({ API_URL: 'ftp://x' })).toThrow('API_URL must be an absolute http(s) URL, got "ftp://x"');
    expect(() => loadConfig({ TRUST_PROXY: 'maybe' })).toThrow('TRUST_PROXY must be true or false, got "maybe"');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow('DATABASE_URL must be a postgres:// URL');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of/);
    expect(() => loadConfig({ EVENT_LOOP_STALL_MS: '5' })).toThrow('EVENT_LOOP_STALL_MS must be 0 (off) or between 20 and 600000, got 5');
    expect(() => loadConfig({ EVENT_LOOP_STALL_MS: 'soon' })).toThrow('EVENT_LOOP_STALL_MS must be a whole number, got "soon"');
    expect(() => loadConfig({ EVENT_LOOP_STALL_HOLD_SECONDS: '0' })).toThrow('EVENT_LOOP_STALL_HOLD_SECONDS must be between 1 and 86400, got 0');
    expect(() => loadConfig({ WEB_CONCURRENCY: '0' })).toThrow('WEB_CONCURRENCY must be between 1 and 64, got 0');
    expect(() => loadConfig({ WEB_CONCURRENCY: '65' })).toThrow('WEB_CONCURRENCY must be between 1 and 64, got 65');
    expect(() => loadConfig({ WEB_CONCURRENCY: 'many' })).toThrow('WEB_CONCURRENCY must be a whole number, got "many"');
    expect(loadConfig({ WEB_CONCURRENCY: '4' }).webConcurrency).toBe(4);
    expect(loadConfig({ WEB_CONCURRENCY: 'auto' }).webConcurrency).toBe(Math.min(64, os.availableParallelism()));
    expect(loadConfig({ EVENT_LOOP_STALL_MS: '0', EVENT_LOOP_STALL_HOLD_SECONDS: '5' })).toMatchObject({ eventLoopStallMs: 0, eventLoopStallHoldSeconds: 5 });
  });

  it('reads the replica and job settings (issue 19)', () => {
    const primary = 'postgres://app@db-primary/flattr';
    expect(loadConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: ' postgres://app@db-r1/flattr, postgresql://app@db-r2/flattr ,' })).toMatchObject({
      databaseReplicaUrls: ['postgres://app@db-r1/flattr', 'postgresql://app@db-r2/flattr'],
    });
    expect(() => loadConfig({ DATABASE_REPLICA_URLS: 'postgres://app@db-r1/flattr' })).toThrow(
      new ConfigError('DATABASE_REPLICA_URLS needs DATABASE_URL (the embedded PostgreSQL has no replicas)'),
    );
    expect(() => loadConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: 'postgres://a/x,mysql://b/y' })).toThrow(
      'DATABASE_REPLICA_URLS must be a comma-separated list of postgres:// URLs',
    );
    expect(loadConfig({ REPLICA_STICKY_SECONDS: '0', REPLICA_MAX_LAG_SECONDS: '30', JOBS: 'off', JOBS_TICK_SECONDS: '5' })).toMatchObject({
      replicaStickySeconds: 0,
      replicaMaxLagSeconds: 30,
      jobs: false,
      jobsTickSeconds: 5,
    });
    expect(() => loadConfig({ REPLICA_MAX_LAG_SECONDS: '0' })).toThrow('REPLICA_MAX_LAG_SECONDS must be between 1 and 86400, got 0');
    expect(loadConfig({ REPLICA_CONNECT_TIMEOUT_MS: '500' }).replicaConnectTimeoutMs).toBe(500);
    expect(() => loadConfig({ REPLICA_CONNECT_TIMEOUT_MS: '0' })).toThrow('REPLICA_CONNECT_TIMEOUT_MS must be between 100 and 60000, got 0');
    expect(() => loadConfig({ REPLICA_CONNECT_TIMEOUT_MS: '2s' })).toThrow('REPLICA_CONNECT_TIMEOUT_MS must be a whole number, got "2s"');
    expect(() => loadConfig({ JOBS_TICK_SECONDS: '0' })).toThrow('JOBS_TICK_SECONDS must be between 1 and 3600, got 0');
  });
});

describe('ManualClock', () => {
  it('can be set and moved by tests', () => {
    const clock = new ManualClock(new Date('2026-01-31T23:59:59Z'));
    clock.advance(1);
    expect(clock.now().toISOString()).toBe('2026-02-01T00:00:00.000Z');
    clock.set('2027-06-01T00:00:00Z');
    expect(clock.now().toISOString()).toBe('2027-06-01T00:00:00.000Z');
  });
});
