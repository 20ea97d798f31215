import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestApp, type TestApp } from './support/test-app.js';
import { request } from './support/http.js';
import referenceData from '../src/reference-data.json' with { type: 'json' };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Current, X-RateLimit-Reset, RateLimit-Policy, RateLimit, Location, WWW-Authenticate, Retry-After, ETag, X-Request-Id',
};

describe('GET /rest/v2/categories (E23)', () => {
  it('serves the 7 categories as JSON by default', async () => {
    const res = await request(app.baseUrl, '/rest/v2/categories');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.vary).toBe('Accept');
    expect(res.headers).toMatchObject(CORS);
    expect(res.json()).toEqual([
      { id: 'text', text: 'Text' },
      { id: 'images', text: 'Images' },
      { id: 'video', text: 'Video' },
      { id: 'audio', text: 'Audio' },
      { id: 'software', text: 'Software' },
      { id: 'people', text: 'People' },
      { id: 'rest', text: 'Other' },
    ]);
  });

  it('serves XML by suffix', async () => {
    const res = await request(app.baseUrl, '/rest/v2/categories.xml');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(res.text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<categories type="array">\n  <category>\n    <id>text<\/id>\n    <text>Text<\/text>\n  <\/category>/);
    expect(res.text.match(/<category>/g)).toHaveLength(7);
  });

  it('serves YAML by Accept and text by suffix', async () => {
    const yaml = await request(app.baseUrl, '/rest/v2/categories', { headers: { Accept: 'application/yaml' } });
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(yaml.text.startsWith('---\n- id: "text"\n  text: "Text"\n')).toBe(true);
    expect(parseYaml(yaml.text)).toEqual(referenceData.categories);

    const txt = await request(app.baseUrl, '/rest/v2/categories.txt');
    expect(txt.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(txt.text).toBe(referenceData.categories.map((c) => `${c.id}\t${c.text}\n`).join(''));
  });

  it('answers 406 in JSON when nothing acceptable is offered', async () => {
    const res = await request(app.baseUrl, '/rest/v2/categories', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(406);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ error: 'not_acceptable', error_description: 'Unknown response format', error_uri: 'http://developers.flattr.net/api/' });
  });

  it('picks the format by q-values and wildcards', async () => {
    const cases: [string, string][] = [
      ['*/*', 'application/json; charset=utf-8'],
      ['text/*', 'text/xml; charset=utf-8'],
      ['application/json;q=0, */*', 'text/xml; charset=utf-8'],
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/json; charset=utf-8'],
      ['text/plain', 'text/plain; charset=utf-8'],
    ];
    for (const [accept, contentType] of cases) {
      const res = await request(app.baseUrl, '/rest/v2/categories', { headers: { Accept: accept } });
      expect([accept, res.headers['content-type']]).toEqual([accept, contentType]);
    }
  });

  it('accepts a trailing slash and answers HEAD with headers only', async () => {
    const slash = await request(app.baseUrl, '/rest/v2/categories/');
    expect(slash.status).toBe(200);
    expect(slash.json()).toHaveLength(7);
    const head = await request(app.baseUrl, '/rest/v2/categories.yaml', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(head.text).toBe('');
  });

  it('rejects a .txt suffix where the endpoint has no text format', async () => {
    const res = await request(app.baseUrl, '/rest/v2/users/nobody.txt');
    expect(res.status).toBe(406);
    expect(res.json().error).toBe('not_acceptable');
  });
});

describe('GET /rest/v2/languages (E24)', () => {
  it('serves all 48 languages in file order, in every format', async () => {
    const json = await request(app.baseUrl, '/rest/v2/languages');
    expect(json.json()).toEqual(referenceData.languages);
    expect(json.json()).toHaveLength(48);
    const yaml = await request(app.baseUrl, '/rest/v2/languages.yaml');
    expect(parseYaml(yaml.text)).toEqual(referenceData.languages);
    const xml = await request(app.baseUrl, '/rest/v2/languages', { headers: { Accept: 'text/xml' } });
    expect(xml.text).toContain('<languages type="array">\n  <language>\n    <id>en_GB</id>\n    <text>English</text>\n  </language>');
  });
});

describe('unknown routes', () => {
  it('answer 404 not_found in the negotiated format', async () => {
    const json = await request(app.baseUrl, '/rest/v2/nothing/here');
    expect(json.status).toBe(404);
    expect(json.json()).toEqual({ error: 'not_found', error_description: 'The resource was not found', error_uri: 'http://developers.flattr.net/api/' });

    const xml = await request(app.baseUrl, '/rest/v2/things/nothing_here.xml');
    expect(xml.status).toBe(404);
    expect(xml.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(xml.text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <error>not_found</error>\n  <error_description>The resource was not found</error_description>\n  <error_uri>http://developers.flattr.net/api/</error_uri>\n</response>\n'.trimEnd() + (xml.text.endsWith('\n') ? '\n' : ''),
    );
  });

  it('treat a known path with an unsupported method as unknown (D5)', async () => {
    const res = await request(app.baseUrl, '/rest/v2/categories', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(res.json().error_description).toBe('The resource was not found');
  });

  it('match fixed segments case-sensitively', async () => {
    const res = await request(app.baseUrl, '/rest/v2/Categories');
    expect(res.status).toBe(404);
  });

  it('answer an OPTIONS preflight on any path with 204', async () => {
    const res = await request(app.baseUrl, '/rest/v2/anything', { method: 'OPTIONS', headers: { 'Access-Control-Request-Headers': 'Authorization' } });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(res.headers['access-control-allow-headers']).toBe('Authorization');
    expect(res.headers['access-control-max-age']).toBe('86400');
  });
});
