import type { Router } from '@koa/router';
import type { AppDeps } from '../server/app-deps.js';
import { findClient, listAuthorizedApplications, revokeApplicationAccess } from '../services/oauth-clients.js';
import { html, page } from './html.js';
import { redirectTo, sendErrorPage, sendPage } from './respond.js';
import { requireUser, verifiedUserForm, webHandler } from './handler.js';

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** `/settings/applications`: the applications the user has granted access to, each with a Revoke button. */
export function registerConnectedApplicationRoutes(router: Router, deps: AppDeps): void {
  router.get(
    '/settings/applications',
    webHandler(deps, async (ctx, web) => {
      const who = await requireUser(ctx, web);
      if (!who) return;
      const apps = await listAuthorizedApplications(web.em, who.user.id);
      const body = html`
<p>These applications can act on your account with the permissions (scopes) you granted. Revoking access
invalidates every access token you gave the application at once.</p>
${
  apps.length === 0
    ? html`<p>You have not granted any application access to your account.</p>`
    : html`<ul class="connected">
${apps.map(
  (app) => html`<li>
  <h2>${app.client.name}</h2>
  ${app.client.enabled ? '' : html`<p><em>This application is disabled.</em></p>`}
  <p>Scopes: ${
    app.scopes.length === 0 ? html`<em>none</em> (public data only)` : html`<span class="scopes">${app.scopes.map((s, i) => html`${i ? ', ' : ''}<code>${s}</code>`)}</span>`
  }</p>
  <p>Access granted <time datetime="${app.firstGrantedAt.toISOString()}">${day(app.firstGrantedAt)}</time>${
    app.lastGrantedAt.getTime() !== app.firstGrantedAt.getTime()
      ? html`, last on <time datetime="${app.lastGrantedAt.toISOString()}">${day(app.lastGrantedAt)}</time>`
      : ''
  }.</p>
  <form method="post" action="/settings/applications/${encodeURIComponent(app.client.clientId)}/revoke">
    <input type="hidden" name="csrf_token" value="${who.session.csrfToken}">
    <button type="submit" aria-label="Revoke access for ${app.client.name}">Revoke access</button>
  </form>
</li>`,
)}
</ul>`
}`;
      sendPage(ctx, 200, page({ title: 'Connected applications', body, username: who.user.username, csrfToken: who.session.csrfToken }));
    }),
  );

  router.post(
    '/settings/applications/:clientId/revoke',
    webHandler(deps, async (ctx, web) => {
      const who = await verifiedUserForm(ctx, web, '/settings/applications');
      if (!who) return;
      const client = await findClient(web.em, String(ctx.params.clientId));
      if (!client) {
        return sendErrorPage(ctx, 404, 'Not found', 'There is no such application.', {
          username: who.user.username,
          csrfToken: who.session.csrfToken,
          extra: html`<p><a href="/settings/applications">Back to connected applications</a></p>`,
        });
      }
      await revokeApplicationAccess(web.em, deps.clock, who.user.id, client.id);
      redirectTo(ctx, '/settings/applications', 303);
    }),
  );
}
