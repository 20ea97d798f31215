import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/http.js';
import { transactionAsyncContextEnabled } from '../src/db/no-async-context.js';
import { Flattr } from '../src/entities/index.js';

/**
 * Issue 18 item 3: transactions and flushes run without MikroORM's AsyncLocalStorages (src/db/no-async-context.ts),
 * so Node's process-wide promise hooks stay off, and transactions still commit and roll back as before.
 */

let app: TestApp;
let fx: Fixtures;

beforeAll(async () => {
  app = await startTestApp({}, { countQueries: false });
  fx = new Fixtures(app.orm, app.clock);
});
afterAll(() => app?.close());

describe('transactions without an async context', () => {
  it('reads, and writes through the unit of work and transactions, enter no AsyncLocalStorage', async () => {
    const entered = [vi.spyOn(AsyncLocalStorage.prototype, 'run'), vi.spyOn(AsyncLocalStorage.prototype, 'enterWith')];
    try {
      const owner = await fx.user({ username: 'ctxwriter' });
      const token = await fx.token(owner, ['thing']);
      const created = await request(app.baseUrl, '/rest/v2/things', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.org/ctx-created', title: 'Created' }),
      });
      expect(created.status).toBe(201);
      const updated = await request(app.baseUrl, `/rest/v2/things/${JSON.parse(created.text).id}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'Updated' }),
      });
      expect(updated.status).toBe(200);
      // Reads too: REST and /graphql, anonymous and with a token (without read replicas configured).
      for (const headers of [{}, { Authorization: `Bearer ${token}` }] as Record<string, string>[]) {
        expect((await request(app.baseUrl, '/rest/v2/things/' + JSON.parse(created.text).id, { headers })).status).toBe(200);
        const query = await request(app.baseUrl, '/graphql', {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ query: '{ categories { id } }' }),
        });
        expect(query.status).toBe(200);
      }
      for (const spy of entered) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of entered) spy.mockRestore();
    }
  });

  it('a flattr commits through REST, and the transaction storage was never entered', async () => {
    const owner = await fx.user({ username: 'ctxowner' });
    const thing = await fx.thing(owner, { url: 'https://example.org/ctx' });
    const flattrer = await fx.user({ username: 'ctxflattrer', balanceCents: 500 });
    const token = await fx.token(flattrer, ['flattr']);

    const answer = await request(app.baseUrl, `/rest/v2/things/${thing.id}/flattr`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    expect(await app.orm.em.fork().count(Flattr, { thing: thing.id, user: flattrer.id })).toBe(1);
    expect(transactionAsyncContextEnabled()).toBe(false);
  });

  it('a failing write inside a transaction rolls back, nested transactions included', async () => {
    const owner = await fx.user({ username: 'ctxrollback' });
    const thing = await fx.thing(owner, { url: 'https://example.org/ctx-rollback' });
    const em = app.orm.em.fork();
    await expect(
      em.transactional(async (tx) => {
        await tx.nativeUpdate('Thing', { id: thing.id }, { title: 'changed outside' });
        await tx.transactional(async (inner) => {
          await inner.nativeUpdate('Thing', { id: thing.id }, { title: 'changed inside' });
        });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const [row] = await app.orm.em.fork().getConnection().execute<{ title: string }[]>('select title from things where id = ?', [thing.id]);
    expect(row!.title).toBe(thing.title);
    expect(transactionAsyncContextEnabled()).toBe(false);
  });
});
