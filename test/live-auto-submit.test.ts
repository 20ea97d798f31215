import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.js';
import { Fixtures } from './support/fixtures.js';
import { findForm, signedUpBrowser } from './support/browser-session.js';
import { subscribe } from './support/sse.js';
import { User, type UserEntity } from '../src/entities/index.js';
import { encodeGlobalId } from '../schema/global-id.js';

/**
 * Issue 20: a flattr through the website's auto-submit page (which creates the thing and flattrs it in one
 * transaction) reaches a subscriber, on a single process without Redis.
 */

let app: TestApp;
let creator: UserEntity;

beforeAll(async () => {
  app = await startTestApp();
  creator = await new Fixtures(app.orm, app.clock).user({ username: 'creator' });
});
afterAll(() => app?.close());

describe('the auto-submit page', () => {
  it("announces the new thing's first flattr to a subscriber of the creator's things", async () => {
    const subscription = await subscribe(
      app.baseUrl,
      'subscription($owner: ID) { flattrCreated(ownerId: $owner) { flattr { owner { username } } thing { title url flattrCount owner { username } } } }',
      { owner: encodeGlobalId('User', creator.id) },
    );
    try {
      const fan = await signedUpBrowser(app.baseUrl, 'fan');
      await app.orm.em.fork().nativeUpdate(User, { username: 'fan' }, { balanceCents: 500 });
      const query = 'user_id=creator&url=' + encodeURIComponent('https://creator.example/live') + '&title=Live+song';
      expect(findForm((await fan.get(`/submit/auto?${query}`)).text, '/submit/auto')).toBeDefined();
      const done = await fan.post('/submit/auto', { url: `${app.config.siteUrl}/submit/auto?${query}` });
      expect(done.status).toBe(200);
      const [event] = await subscription.waitForEvents(1);
      expect(event!.data).toEqual({
        data: {
          flattrCreated: {
            flattr: { owner: { username: 'fan' } },
            thing: { title: 'Live song', url: 'https://creator.example/live', flattrCount: 1, owner: { username: 'creator' } },
          },
        },
      });
    } finally {
      subscription.close();
    }
  });
});
