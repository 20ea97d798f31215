import type { Router } from '@koa/router';
import type { AppDeps } from '../server/app-deps.js';
import { DomainError } from '../services/domain-error.js';
import { flattrThing } from '../services/flattring.js';
import { recentlyFlattredThings, thingsOfUser } from '../services/listings.js';
import { findThingWithOwner, type ThingEntity } from '../services/things.js';
import { findUserByUsername } from '../services/users.js';
import { html, page } from './html.js';
import { sendErrorPage, sendPage } from './respond.js';
import { verifiedUserForm, webHandler, type WebRequest } from './handler.js';
import { loadSession, type Session } from './session.js';

/**
 * The pages the API's `link` fields point at (spec §1.3): `{site}/profile/{username}` and
 * `{site}/thing/{id}` (with an optional slug, as activity object URLs carry one, D82).
 */

const PAGE_SIZE = 30;

function thingPath(thing: Pick<ThingEntity, 'id' | 'title'>): string {
  return `/thing/${thing.id}`;
}

function flattrButton(thing: ThingEntity, session: Session | null) {
  if (!session?.user) return html`<p><a href="/login?next=${encodeURIComponent(thingPath(thing))}">Log in</a> to flattr this.</p>`;
  if (session.user.id === thing.owner.id) return html`<p>This is your thing.</p>`;
  return html`<form method="post" action="${thingPath(thing)}/flattr">
  <input type="hidden" name="csrf_token" value="${session.csrfToken}">
  <button type="submit">Flattr</button>
</form>`;
}

async function showThing(ctx: Parameters<Parameters<typeof webHandler>[1]>[0], web: WebRequest, id: string) {
  const session = await loadSession(ctx, web.em, web.sessionDeps);
  const thing = /^[0-9]{1,9}$/.test(id) ? await findThingWithOwner(web.em, Number(id)) : null;
  if (!thing) return sendErrorPage(ctx, 404, 'Not found', 'The requested thing could not be found.', { username: session?.user?.username, csrfToken: session?.csrfToken });
  const body = html`<dl>
  <dt>URL</dt><dd><a href="${thing.url}" rel="nofollow noopener">${thing.url}</a></dd>
  ${thing.description ? html`<dt>Description</dt><dd>${thing.description}</dd>` : ''}
  <dt>Owner</dt><dd><a href="/profile/${encodeURIComponent(thing.owner.username.toLowerCase())}">${thing.owner.username}</a></dd>
  <dt>Category</dt><dd>${thing.category.id}</dd>
  <dt>Language</dt><dd>${thing.language.id}</dd>
  ${thing.tags.length ? html`<dt>Tags</dt><dd>${thing.tags.join(', ')}</dd>` : ''}
  <dt>Flattrs</dt><dd>${thing.flattrsCount} from ${thing.flattrsUserCount} people</dd>
</dl>
${flattrButton(thing, session)}`;
  sendPage(ctx, 200, page({ title: thing.title, body, username: session?.user?.username, csrfToken: session?.csrfToken }), { cache: 'private' });
}

export function registerPublicPages(router: Router, deps: AppDeps): void {
  router.get(
    '/profile/:username',
    webHandler(deps, async (ctx, web) => {
      const session = await loadSession(ctx, web.em, web.sessionDeps);
      const viewerId = session?.user?.id ?? null;
      const user = await findUserByUsername(web.em, ctx.params.username!);
      if (!user) return sendErrorPage(ctx, 404, 'Not found', 'The requested user could not be found.', { username: session?.user?.username, csrfToken: session?.csrfToken });
      const things = await thingsOfUser(web.em, user, viewerId, { offset: 0, limit: PAGE_SIZE });
      // Newest first, as the API's flattr lists.
      const flattred = await recentlyFlattredThings(web.em, user, viewerId, PAGE_SIZE);
      const name = [user.firstname, user.lastname].filter(Boolean).join(' ');
      const body = html`${name ? html`<p><strong>${name}</strong></p>` : ''}
${user.about ? html`<p>${user.about}</p>` : ''}
${user.city || user.country ? html`<p>${[user.city, user.country].filter(Boolean).join(', ')}</p>` : ''}
${user.url ? html`<p><a href="${user.url}" rel="nofollow noopener">${user.url}</a></p>` : ''}
<h2>Things</h2>
${things.length ? html`<ul>${things.map((t) => html`<li><a href="${thingPath(t)}">${t.title}</a> (${t.flattrsCount} flattrs)</li>`)}</ul>` : html`<p>No things yet.</p>`}
<h2>Recently flattred</h2>
${flattred.length ? html`<ul>${flattred.map((t) => html`<li><a href="${thingPath(t)}">${t.title}</a></li>`)}</ul>` : html`<p>Nothing to show.</p>`}`;
      sendPage(ctx, 200, page({ title: user.username, body, username: session?.user?.username, csrfToken: session?.csrfToken }), { cache: 'private' });
    }),
  );

  router.get('/thing/:id', webHandler(deps, (ctx, web) => showThing(ctx, web, ctx.params.id!)));
  router.get('/thing/:id/:slug', webHandler(deps, (ctx, web) => showThing(ctx, web, ctx.params.id!)));

  router.post(
    '/thing/:id/flattr',
    webHandler(deps, async (ctx, web) => {
      const id = ctx.params.id!;
      const who = await verifiedUserForm(ctx, web, `/thing/${encodeURIComponent(id)}`);
      if (!who) return;
      const options = { username: who.user.username, csrfToken: who.session.csrfToken };
      if (!/^[0-9]{1,9}$/.test(id)) return sendErrorPage(ctx, 404, 'Not found', 'The requested thing could not be found.', options);
      try {
        const { thing } = await flattrThing(web.em, deps.clock, who.user.id, Number(id));
        const body = html`<p class="notice" role="status">You flattred <a href="${thingPath(thing)}">${thing.title}</a>. It now has ${thing.flattrsCount} flattrs.</p>`;
        sendPage(ctx, 200, page({ title: 'Flattred', body, ...options }));
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        sendErrorPage(ctx, error.code === 'not_found' ? 404 : 403, 'Flattr', error.message, options);
      }
    }),
  );
}
