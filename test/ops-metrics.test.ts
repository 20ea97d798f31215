import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { metricsAuthorized } from '../src/ops/metrics.js';

/** GET /metrics (issue 8, item 2): Prometheus text from prom-client, one registry per app. */

const METRICS_TOKEN = 'metrics-secret-0123456789';
let app: TestApp;
let other: TestApp;
let token: string;
let thingId: number;

beforeAll(async () => {
  [app, other] = await Promise.all([startTestApp({ RATE_LIMIT_PER_HOUR: '3', TRUST_PROXY: 'true' }), startTestApp({ METRICS_TOKEN })]);
  const fx = new Fixtures(app.orm, app.clock);
  const alice = await fx.user({ username: 'alice' });
  thingId = (await fx.thing(alice)).id;
  token = await fx.token(alice);
});
afterAll(async () => {
  await app?.close();
  await other?.close();
});

const ip = (n: number) => ({ 'X-Forwarded-For': `203.0.113.${n}` });

async function scrape(target: TestApp = app, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(target.baseUrl, '/metrics', { headers });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return res.text;
}

/** The value of one sample, by metric name and exact label set (labels in any order). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return null;
}

/**
 * Counters only grow over the app's life and every test of this file shares the app: each test scrapes before and
 * after its own requests and asserts on the difference, so the order the tests run in does not matter.
 */
async function counting(): Promise<(name: string, labels?: Record<string, string>) => Promise<number>> {
  const before = await scrape();
  let after: string | null = null;
  return async (name, labels = {}) => {
    after ??= await scrape();
    return (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
  };
}

describe('request metrics', () => {
  it('counts requests by route template (never the raw path), method and status, with a latency histogram', async () => {
    const added = await counting();
    await request(app.baseUrl, `/rest/v2/things/${thingId}`, { headers: ip(1) });
    await request(app.baseUrl, `/rest/v2/things/${thingId}.xml`, { headers: ip(1) });
    await request(app.baseUrl, '/rest/v2/things/999999', { headers: ip(1) });
    await request(app.baseUrl, '/rest/v2/no/such/route', { headers: ip(2) });
    await request(app.baseUrl, '/nothing-here');
    await request(app.baseUrl, '/login');
    await request(app.baseUrl, '/healthz');
    expect(await added('flattr_http_requests_total', { method: 'GET', route: '/rest/v2/things/:id', status: '200' })).toBe(2);
    expect(await added('flattr_http_requests_total', { method: 'GET', route: '/rest/v2/things/:id', status: '404' })).toBe(1);
    expect(await added('flattr_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(2);
    expect(await added('flattr_http_requests_total', { method: 'GET', route: '/login', status: '200' })).toBe(1);
    expect(await added('flattr_http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBe(1);
    const text = await scrape();
    expect(text).not.toContain(`/things/${thingId}"`);
    expect(text).not.toContain('/no/such/route');
    expect(await added('flattr_http_request_duration_seconds_count', { method: 'GET', route: '/rest/v2/things/:id', status: '200' })).toBe(2);
    expect(await added('flattr_http_request_duration_seconds_bucket', { method: 'GET', route: '/rest/v2/things/:id', status: '200', le: '+Inf' })).toBe(2);
  });

  it('counts GraphQL operations by name, from /graphql and from REST routes', async () => {
    const added = await counting();
    const gql = (body: object) =>
      request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', ...ip(3) }, body: JSON.stringify(body) });
    expect((await gql({ query: 'query Cats { categories { id } }' })).status).toBe(200);
    expect((await gql({ query: '{ languages { id } }' })).status).toBe(200);
    // Invalid: answered (200, with errors) but never executed, so not an operation.
    expect((await gql({ query: 'query Broken { thing(id: 1) { nope } }' })).status).toBe(200);
    await request(app.baseUrl, '/rest/v2/languages', { headers: ip(4) });
    expect(await added('flattr_http_requests_total', { method: 'POST', route: '/graphql', status: '200' })).toBe(3);
    expect(await added('flattr_graphql_operations_total', { operation: 'Cats', source: 'graphql', outcome: 'ok' })).toBe(1);
    expect(await added('flattr_graphql_operations_total', { operation: 'anonymous', source: 'graphql', outcome: 'ok' })).toBe(1);
    // No series at all for an operation that never executed (no other test sends `Broken`).
    expect(sample(await scrape(), 'flattr_graphql_operations_total', { operation: 'Broken', source: 'graphql', outcome: 'error' })).toBeNull();
    expect(await added('flattr_graphql_operations_total', { operation: 'Languages', source: 'rest', outcome: 'ok' })).toBe(1);
    expect(await added('flattr_graphql_operation_duration_seconds_count', { operation: 'Cats', source: 'graphql' })).toBe(1);
  });

  it('counts rate-limit rejections (REST and GraphQL)', async () => {
    const added = await counting();
    for (let i = 0; i < 5; i++) await request(app.baseUrl, '/rest/v2/categories', { headers: ip(5) });
    await request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', ...ip(5) }, body: '{"query":"{ categories { id } }"}' });
    expect(await added('flattr_rate_limit_rejections_total', { stage: 'admit' })).toBe(3);
    expect(await added('flattr_http_requests_total', { method: 'GET', route: '/rest/v2/categories', status: '403' })).toBe(2);
    expect(await added('flattr_http_requests_total', { method: 'POST', route: '/graphql', status: '429' })).toBe(1);
  });

  it('shows the database pool and the process', async () => {
    const text = await scrape();
    expect(sample(text, 'flattr_db_pool_max')).toBe(10);
    for (const state of ['used', 'free', 'pending_acquires', 'pending_creates']) {
      expect(sample(text, 'flattr_db_pool_connections', { state })).toEqual(expect.any(Number));
    }
    expect(sample(text, 'flattr_db_pool_connections', { state: 'free' })).toBeGreaterThan(0);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('keeps every app in its own registry', async () => {
    const added = await counting();
    expect((await request(app.baseUrl, `/rest/v2/things/${thingId}`, { headers: ip(8) })).status).toBe(200);
    expect(await added('flattr_http_requests_total', { method: 'GET', route: '/rest/v2/things/:id', status: '200' })).toBe(1);
    // `other` never served that route: no series there, whatever `app` has counted.
    const text = await scrape(other, { Authorization: `Bearer ${METRICS_TOKEN}` });
    expect(sample(text, 'flattr_http_requests_total', { method: 'GET', route: '/rest/v2/things/:id', status: '200' })).toBeNull();
  });

  it('is not rate limited', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(app.baseUrl, '/metrics', { headers: ip(6) });
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('METRICS_TOKEN', () => {
  it('requires Authorization: Bearer <METRICS_TOKEN> when set', async () => {
    const none = await request(other.baseUrl, '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(none.text).not.toContain('flattr_http');
    expect((await request(other.baseUrl, '/metrics', { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await request(other.baseUrl, '/metrics', { headers: { Authorization: `Basic ${METRICS_TOKEN}` } })).status).toBe(401);
    expect((await request(other.baseUrl, '/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });

  it('compares in constant time, tolerating any length', () => {
    expect(metricsAuthorized(undefined, null)).toBe(true);
    expect(metricsAuthorized(`Bearer ${METRICS_TOKEN}`, METRICS_TOKEN)).toBe(true);
    expect(metricsAuthorized(`bearer   ${METRICS_TOKEN}`, METRICS_TOKEN)).toBe(true);
    expect(metricsAuthorized(`Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN)).toBe(false);
    expect(metricsAuthorized('Bearer x', METRICS_TOKEN)).toBe(false);
    expect(metricsAuthorized(undefined, METRICS_TOKEN)).toBe(false);
  });

  it('is validated by the configuration', async () => {
    const { loadConfig, ConfigError } = await import('../src/config/config.js');
    expect(loadConfig({ METRICS_TOKEN }).metricsToken).toBe(METRICS_TOKEN);
    expect(loadConfig({}).metricsToken).toBeNull();
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
  });
});

// The token fixture keeps the REST routes' clientId path exercised (a valid token on a counted route).
it('a request with a token is counted under its route like any other', async () => {
  const added = await counting();
  const res = await request(app.baseUrl, '/rest/v2/user', { headers: { ...ip(7), Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(await added('flattr_http_requests_total', { method: 'GET', route: '/rest/v2/user', status: '200' })).toBe(1);
});
