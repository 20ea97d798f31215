import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { AppDeps } from '../server/app-deps.js';
import { DomainError, NOT_FOUND_USER } from '../services/domain-error.js';
import { isAutoSubmitUrl, parseAutoSubmitUrl, type AutoSubmitRequest } from '../services/auto-submit.js';
import { flattrUrl, NO_THING_FOUND } from '../services/flattring.js';
import { lookupAutoSubmitThing } from '../services/lookup.js';
import type { ThingEntity } from '../services/things.js';
import { findUserByUsername } from '../services/users.js';
import { html, page, type SafeHtml } from './html.js';
import { sendErrorPage, sendPage } from './respond.js';
import { verifiedUserForm, webHandler, type WebRequest } from './handler.js';
import { loadSession } from './session.js';
import { field } from './forms.js';

const PATH = '/submit/auto';

/** The page's own address is an auto-submit URL on this site's authority (spec §11.2). */
function autoSubmitUrlOf(deps: AppDeps, querystring: string): string {
  return `${deps.config.siteUrl}${PATH}?${querystring}`;
}

/** What the button would flattr: the registered thing, or a preview of the one its first flattr creates. */
type Target = { kind: 'existing'; thing: ThingEntity } | { kind: 'preview'; request: AutoSubmitRequest; ownerName: string };

async function resolveTarget(web: WebRequest, request: AutoSubmitRequest): Promise<Target> {
  // The lookup rule of `/rest/v2/things/lookup` for an auto-submit URL (owner mismatch included).
  const thing = await lookupAutoSubmitThing(web.em, request);
  if (thing) return { kind: 'existing', thing };
  if (request.userId === null) throw new DomainError('not_found', NO_THING_FOUND);
  const owner = await findUserByUsername(web.em, request.userId);
  if (!owner) throw new DomainError('not_found', NOT_FOUND_USER);
  return { kind: 'preview', request, ownerName: owner.username };
}

function describe(target: Target): SafeHtml {
  if (target.kind === 'existing') {
    const t = target.thing;
    return html`<dl>
  <dt>Title</dt><dd>${t.title}</dd>
  <dt>URL</dt><dd><a href="${t.url}" rel="nofollow noopener">${t.url}</a></dd>
  ${t.description ? html`<dt>Description</dt><dd>${t.description}</dd>` : ''}
  <dt>Owner</dt><dd>${t.owner.username}</dd>
  <dt>Flattrs</dt><dd>${t.flattrsCount}</dd>
</dl>`;
  }
  const r = target.request;
  return html`<p>This thing is not registered yet. Its first flattr creates it for <strong>${target.ownerName}</strong> with:</p>
<dl>
  <dt>Title</dt><dd>${r.title}</dd>
  <dt>URL</dt><dd><a href="${r.url}" rel="nofollow noopener">${r.url}</a></dd>
  ${r.description ? html`<dt>Description</dt><dd>${r.description}</dd>` : ''}
  <dt>Category</dt><dd>${r.category}</dd>
  <dt>Language</dt><dd>${r.language}</dd>
  ${r.tags.length ? html`<dt>Tags</dt><dd>${r.tags.join(', ')}</dd>` : ''}
</dl>`;
}

function statusOf(error: DomainError): number {
  return error.code === 'not_found' ? 404 : error.code === 'validation' || error.code === 'invalid_parameters' ? 400 : 403;
}

/**
 * `GET /submit/auto?...`: the original site's button flow. It shows the thing (or what its first flattr
 * would create) and, to a logged-in user, a Flattr button: a CSRF-protected POST that runs the same
 * flattr-a-URL rule as `POST /rest/v2/flattr` (spec §11.6).
 */
export function registerSubmitAutoRoutes(router: Router, deps: AppDeps): void {
  const show = webHandler(deps, async (ctx, web) => {
    const session = await loadSession(ctx, web.em, web.sessionDeps);
    const username = session?.user?.username ?? null;
    const url = autoSubmitUrlOf(deps, ctx.querystring);
    let target: Target;
    try {
      if (!isAutoSubmitUrl(url, deps.config.siteUrl)) throw new DomainError('validation', 'Invalid url');
      target = await resolveTarget(web, parseAutoSubmitUrl(url));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return sendErrorPage(ctx, statusOf(error), 'Flattr this', error.message, { username, csrfToken: session?.csrfToken });
    }
    const action = session?.user
      ? html`<form method="post" action="${PATH}">
  <input type="hidden" name="csrf_token" value="${session.csrfToken}">
  <input type="hidden" name="url" value="${url}">
  <button type="submit">Flattr</button>
</form>`
      : html`<p><a href="/login?next=${encodeURIComponent(ctx.originalUrl)}">Log in</a> to flattr this.</p>`;
    sendPage(ctx, 200, page({ title: 'Flattr this', body: html`${describe(target)}${action}`, username, csrfToken: session?.csrfToken }));
  });
  router.get(PATH, show);
  router.get(`${PATH}/`, show);

  router.post(
    PATH,
    webHandler(deps, async (ctx: Context, web) => {
      const who = await verifiedUserForm(ctx, web, '/apps');
      if (!who) return;
      const url = field(who.form, 'url');
      try {
        // The form only ever carries this site's own auto-submit address.
        if (!url.startsWith(`${deps.config.siteUrl}${PATH}`)) throw new DomainError('validation', 'Invalid url');
        const { thing } = await flattrUrl(web.em, deps.clock, who.user.id, url, { siteUrl: deps.config.siteUrl });
        const body = html`<p class="notice" role="status">You flattred <strong>${thing.title}</strong>. It now has ${thing.flattrsCount} flattrs.</p>`;
        sendPage(ctx, 200, page({ title: 'Flattred', body, username: who.user.username, csrfToken: who.session.csrfToken }));
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        sendErrorPage(ctx, statusOf(error), 'Flattr this', error.message, { username: who.user.username, csrfToken: who.session.csrfToken });
      }
    }),
  );
}
