import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';

/** REQUIRE_TLS (spec §1 configuration, §6.5 step 2): plain-HTTP API requests are refused before anything else. */

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ REQUIRE_TLS: 'true', TRUST_PROXY: 'true' });
});
afterAll(() => app?.close());

const overTls = { 'X-Forwarded-Proto': 'https' };

describe('REQUIRE_TLS', () => {
  it('REST: 401 invalid_request "Requires ssl" over plain HTTP, in the negotiated format; served over TLS', async () => {
    const plain = await request(app.baseUrl, '/rest/v2/categories');
    expect(plain.status).toBe(401);
    expect(plain.headers['www-authenticate']).toBe('Bearer realm="flattr", error="invalid_request"');
    expect(plain.json()).toEqual({ error: 'invalid_request', error_description: 'Requires ssl', error_uri: `${app.config.docsUrl}/api/` });
    const xml = await request(app.baseUrl, '/rest/v2/categories.xml');
    expect(xml.status).toBe(401);
    expect(xml.text).toContain('<error_description>Requires ssl</error_description>');
    const secure = await request(app.baseUrl, '/rest/v2/categories', { headers: overTls });
    expect(secure.status).toBe(200);
  });

  it('REST: refused before the body is read or the token looked at', async () => {
    const res = await request(app.baseUrl, '/rest/v2/things', {
      method: 'POST',
      headers: { Authorization: 'Bearer not-a-token', 'Content-Type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(401);
    expect(res.json().error_description).toBe('Requires ssl');
  });

  it('GraphQL: 401 with a GraphQL error, uncounted; served over TLS', async () => {
    const query = (headers: Record<string, string> = {}) =>
      request(app.baseUrl, '/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ categories { id } }' }) });
    const plain = await query();
    expect(plain.status).toBe(401);
    expect(plain.headers['www-authenticate']).toBe('Bearer realm="flattr", error="invalid_request"');
    expect(plain.headers['x-ratelimit-current']).toBeUndefined();
    expect(plain.json()).toEqual({ errors: [{ message: 'Requires ssl', extensions: { code: 'TLS_REQUIRED' } }] });
    const secure = await query(overTls);
    expect(secure.status).toBe(200);
    expect(secure.json().data.categories.length).toBeGreaterThan(0);
  });

  it('OAuth token and revocation endpoints: 400 invalid_request "Requires ssl", before client authentication', async () => {
    for (const endpoint of ['/oauth/token', '/oauth/revoke']) {
      const res = await request(app.baseUrl, endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from('client:secret').toString('base64')}` },
        body: 'grant_type=authorization_code&code=x&token=y',
      });
      expect(res.status, endpoint).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toMatchObject({ error: 'invalid_request', error_description: 'Requires ssl' });
    }
    const secure = await request(app.baseUrl, '/oauth/token', {
      method: 'POST',
      headers: { ...overTls, 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from('client:secret').toString('base64')}` },
      body: 'grant_type=authorization_code&code=x',
    });
    expect(secure.status).toBe(401);
    expect(secure.json().error).toBe('invalid_client');
  });
});
