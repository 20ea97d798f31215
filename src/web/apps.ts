import type { Router } from '@koa/router';
import type { AppDeps } from '../server/app-deps.js';
import type { OAuthClientEntity } from '../services/oauth-clients.js';
import { DomainError } from '../services/domain-error.js';
import { APP_DESCRIPTION_MAX, APP_NAME_MAX } from '../services/write-bounds.js';
import { createClient, deleteClient, findOwnedClient, listOwnedClients, rotateClientSecret, type TokenFormat } from '../services/oauth-clients.js';
import { html, page, type SafeHtml } from './html.js';
import { field } from './forms.js';
import { redirectTo, sendErrorPage, sendPage } from './respond.js';
import { requireUser, verifiedUserForm, webHandler, type LoggedIn } from './handler.js';
import type { Context } from 'koa';
import { COPY_BUTTON_PATH, COPY_BUTTON_SCRIPT } from './copy-button.js';

const TOKEN_FORMATS: { value: TokenFormat; label: string }[] = [
  { value: 'opaque', label: 'Opaque (40 hex characters, what Flattr v2 clients expect)' },
  { value: 'jwt', label: 'JWT (RFC 9068 access tokens)' },
];

export function appPath(client: { clientId: string }, suffix = ''): string {
  return `/apps/${encodeURIComponent(client.clientId)}${suffix}`;
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function userPage(who: LoggedIn, title: string, body: SafeHtml): string {
  return page({ title, body, username: who.user.username, csrfToken: who.session.csrfToken });
}

function notFound(ctx: Context, who: LoggedIn): void {
  sendErrorPage(ctx, 404, 'Not found', 'There is no such application among yours.', {
    username: who.user.username,
    csrfToken: who.session.csrfToken,
    extra: html`<p><a href="/apps">Back to your applications</a></p>`,
  });
}

interface AppFormValues {
  name: string;
  description: string;
  callbackUrls: string;
  tokenFormat: string;
}

function newAppPage(who: LoggedIn, values: AppFormValues, error?: string): string {
  const body = html`
${error ? html`<p class="error" role="alert" id="app-error">${error}</p>` : ''}
<form method="post" action="/apps">
  <input type="hidden" name="csrf_token" value="${who.session.csrfToken}">
  <label for="name">Name</label>
  <input type="text" id="name" name="name" value="${values.name}" required maxlength="${APP_NAME_MAX}">
  <label for="description">Description</label>
  <textarea id="description" name="description" rows="3" maxlength="${APP_DESCRIPTION_MAX}">${values.description}</textarea>
  <label for="callback_urls">Callback URLs</label>
  <textarea id="callback_urls" name="callback_urls" rows="3" required aria-describedby="callback-hint">${values.callbackUrls}</textarea>
  <small id="callback-hint" class="hint">One per line. Absolute URLs without a fragment; custom schemes such as <code>gpodder://flattr-token/</code> are allowed.</small>
  <label for="token_format">Access token format</label>
  <select id="token_format" name="token_format">
    ${TOKEN_FORMATS.map((f) => html`<option value="${f.value}"${f.value === values.tokenFormat ? html` selected` : ''}>${f.label}</option>`)}
  </select>
  <button type="submit">Register application</button>
</form>
<p><a href="/apps">Cancel</a></p>`;
  return userPage(who, 'Register an application', body);
}

/**
 * The new client secret, shown this once: in full on one line (a box that scrolls sideways, never a break in the
 * middle of the string), with a Copy button (`/copy-button.js`; without JavaScript the button stays hidden and the
 * secret is there to select).
 */
function secretPage(who: LoggedIn, client: OAuthClientEntity, clientSecret: string, title: string, intro: string): string {
  const body = html`
<p class="notice" role="status">${intro} This is the only time the client secret is shown: copy it now and keep it safe. If you lose it, rotate it to get a new one.</p>
<dl>
  <dt>Application</dt><dd>${client.name}</dd>
  <dt><code>client_id</code></dt><dd><code id="client-id">${client.clientId}</code></dd>
  <dt id="client-secret-label"><code>client_secret</code></dt>
  <dd><div class="secret"><pre tabindex="0"><code id="client-secret">${clientSecret}</code></pre><button type="button" id="copy-secret" data-copy="client-secret" data-status="copy-status" aria-describedby="client-secret-label" hidden>Copy</button></div>
  <p id="copy-status" role="status"></p></dd>
</dl>
<p><a href="${appPath(client)}">Go to the application's page</a> · <a href="/apps">All your applications</a></p>`;
  return page({ title, body, username: who.user.username, csrfToken: who.session.csrfToken, scripts: [COPY_BUTTON_PATH] });
}

/** The secret page's headers: the site's, plus `script-src 'self'` for the copy button. */
const SECRET_PAGE = { scripts: true } as const;

function detailsPage(who: LoggedIn, client: OAuthClientEntity): string {
  const format = TOKEN_FORMATS.find((f) => f.value === client.tokenFormat)?.label ?? client.tokenFormat;
  const body = html`
<dl>
  <dt>Name</dt><dd>${client.name}</dd>
  <dt>Description</dt><dd>${client.description || html`<em>none</em>`}</dd>
  <dt><code>client_id</code></dt><dd><code>${client.clientId}</code></dd>
  <dt><code>client_secret</code></dt><dd>Shown only when it is created. Rotate it if it is lost or leaked.</dd>
  <dt>Callback URLs</dt><dd><ul>${client.callbackUrls.map((url) => html`<li><code>${url}</code></li>`)}</ul></dd>
  <dt>Access token format</dt><dd>${format}</dd>
  <dt>Status</dt><dd>${client.enabled ? 'Enabled' : 'Disabled'}</dd>
  <dt>Registered</dt><dd><time datetime="${client.createdAt.toISOString()}">${day(client.createdAt)}</time></dd>
</dl>
<h2>Client secret</h2>
<p>A new secret replaces the current one at once: the old secret stops working immediately.</p>
<form method="post" action="${appPath(client, '/rotate-secret')}">
  <input type="hidden" name="csrf_token" value="${who.session.csrfToken}">
  <button type="submit">Rotate the client secret</button>
</form>
<h2>Delete</h2>
<p>Deleting the application also revokes every access token issued to it.</p>
<form method="post" action="${appPath(client, '/delete')}">
  <input type="hidden" name="csrf_token" value="${who.session.csrfToken}">
  <button type="submit">Delete this application</button>
</form>
<p><a href="/apps">All your applications</a></p>`;
  return userPage(who, client.name, body);
}

export function registerAppRoutes(router: Router, deps: AppDeps): void {
  router.get(COPY_BUTTON_PATH, (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = COPY_BUTTON_SCRIPT;
  });

  router.get(
    '/apps',
    webHandler(deps, async (ctx, web) => {
      const who = await requireUser(ctx, web);
      if (!who) return;
      const clients = await listOwnedClients(web.em, who.user.id);
      const body = html`
<p><a href="/apps/new">Register a new application</a></p>
${
  clients.length === 0
    ? html`<p>You have not registered any application yet.</p>`
    : html`<table>
  <thead><tr><th scope="col">Name</th><th scope="col"><code>client_id</code></th></tr></thead>
  <tbody>
  ${clients.map((c) => html`<tr><td><a href="${appPath(c)}">${c.name}</a></td><td><code>${c.clientId}</code></td></tr>`)}
  </tbody>
</table>`
}`;
      sendPage(ctx, 200, userPage(who, 'Your applications', body));
    }),
  );

  router.get(
    '/apps/new',
    webHandler(deps, async (ctx, web) => {
      const who = await requireUser(ctx, web);
      if (!who) return;
      sendPage(ctx, 200, newAppPage(who, { name: '', description: '', callbackUrls: '', tokenFormat: 'opaque' }));
    }),
  );

  router.post(
    '/apps',
    webHandler(deps, async (ctx, web) => {
      const who = await verifiedUserForm(ctx, web, '/apps/new');
      if (!who) return;
      const values: AppFormValues = {
        name: field(who.form, 'name'),
        description: field(who.form, 'description'),
        callbackUrls: field(who.form, 'callback_urls'),
        tokenFormat: field(who.form, 'token_format') || 'opaque',
      };
      try {
        const tokenFormat = TOKEN_FORMATS.find((f) => f.value === values.tokenFormat)?.value;
        if (!tokenFormat) throw new DomainError('validation', 'Choose an access token format from the list');
        const { client, clientSecret } = await createClient(web.em, deps.clock, {
          ownerId: who.user.id,
          name: values.name,
          description: values.description,
          callbackUrls: values.callbackUrls.split(/\r\n|\r|\n/),
          tokenFormat,
        });
        sendPage(ctx, 201, secretPage(who, client, clientSecret, 'Application registered', `“${client.name}” is registered.`), SECRET_PAGE);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        sendPage(ctx, 400, newAppPage(who, values, error.message));
      }
    }),
  );

  router.get(
    '/apps/:clientId',
    webHandler(deps, async (ctx, web) => {
      const who = await requireUser(ctx, web);
      if (!who) return;
      const client = await findOwnedClient(web.em, who.user.id, String(ctx.params.clientId));
      if (!client) return notFound(ctx, who);
      sendPage(ctx, 200, detailsPage(who, client));
    }),
  );

  router.post(
    '/apps/:clientId/rotate-secret',
    webHandler(deps, async (ctx, web) => {
      const who = await verifiedUserForm(ctx, web, '/apps');
      if (!who) return;
      const client = await findOwnedClient(web.em, who.user.id, String(ctx.params.clientId));
      if (!client) return notFound(ctx, who);
      const clientSecret = await rotateClientSecret(web.em, client);
      sendPage(ctx, 200, secretPage(who, client, clientSecret, 'New client secret', 'The client secret was replaced; the old one no longer works.'), SECRET_PAGE);
    }),
  );

  router.post(
    '/apps/:clientId/delete',
    webHandler(deps, async (ctx, web) => {
      const who = await verifiedUserForm(ctx, web, '/apps');
      if (!who) return;
      const client = await findOwnedClient(web.em, who.user.id, String(ctx.params.clientId));
      if (!client) return notFound(ctx, who);
      await deleteClient(web.em, client);
      redirectTo(ctx, '/apps', 303);
    }),
  );
}
