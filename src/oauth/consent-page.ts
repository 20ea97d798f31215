import { html, page, type SafeHtml } from '../web/html.js';
import type { Scope } from '../services/tokens.js';
import type { AuthorizationRequest } from './authorization-request.js';
import type { OAuthError } from './http.js';

/** What each grantable scope lets the application do, in plain words (spec §3.4). */
export const SCOPE_DESCRIPTIONS: Record<Exclude<Scope, 'stats'>, string> = {
  flattr: 'Flattr things for you, which spends money from your Flattr account, and start, pause and stop your monthly subscriptions.',
  thing: 'Submit new things in your name, and change or delete your things.',
  email: 'See your email address.',
  extendedread: 'See your email address and when you registered, and find your hidden things when it searches.',
};

/** What every application may do, even without any scope (spec §3.4, first row). */
const BASELINE = 'See your profile, your things, your flattrs and your activity, and whether you flattred or subscribed to a thing.';

export interface ConsentPageOptions {
  request: AuthorizationRequest;
  /** The Flattr user who registered the application; null when none is on record. */
  owner: { username: string } | null;
  /** The logged-in user: consent only, with the session's CSRF token. null: username and password fields. */
  session: { username: string; csrfToken: string } | null;
  /** Shown above the form, e.g. after a wrong password. */
  error?: string | null;
  /** Prefilled in the username field after a failed login. */
  username?: string;
}

function hidden(name: string, value: string | null): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value ?? ''}">`;
}

/** Spec §14.2 step 4 / §14.3: the login-and-consent page. Every value is escaped by `html`. */
export function consentPage({ request, owner, session, error, username }: ConsentPageOptions): string {
  const app = request.client.name;
  const scopeItems = request.scopes
    .filter((s): s is Exclude<Scope, 'stats'> => s !== 'stats')
    .map((s) => html`<li><strong>${s}</strong>: ${SCOPE_DESCRIPTIONS[s]}</li>`);
  const description = request.client.description ? html`<p><em>${request.client.description}</em></p>` : '';
  // The client has a name and a description of its own choosing, and no website on record: who registered it is
  // what the user can check.
  const created = html`<time datetime="${request.client.createdAt.toISOString()}">${request.client.createdAt.toISOString().slice(0, 10)}</time>`;
  const registered = owner
    ? html`<p id="app-owner">Registered by the Flattr user <a href="/profile/${encodeURIComponent(owner.username.toLowerCase())}"><strong>${owner.username}</strong></a> on ${created}.</p>`
    : html`<p id="app-owner">Registered on ${created}; Flattr has no record of who registered it.</p>`;
  const login = session
    ? html`<p>You are logged in as <strong>${session.username}</strong>.</p>
<input type="hidden" name="csrf_token" value="${session.csrfToken}">`
    : html`<p>Log in to your Flattr account to continue.</p>
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>`;
  const body = html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p><strong>${app}</strong> wants to use your Flattr account.</p>
${registered}
${description}
<p>If you approve, ${app} will be able to:</p>
<ul class="scopes">
<li>${BASELINE}</li>
${scopeItems}
</ul>
${request.scopes.length === 0 ? html`<p>It asks for nothing more than that.</p>` : ''}
<p>It will never see your password. You can withdraw its access at any time under <a href="/settings/applications">Connected applications</a>.</p>
<p>After you decide, you will be sent back to <code>${request.target}</code>.</p>
<form method="post" action="/oauth/authorize">
${hidden('response_type', request.responseType)}
${hidden('client_id', request.client.clientId)}
${hidden('redirect_uri', request.redirectUri)}
${hidden('scope', request.scopeParam)}
${hidden('state', request.state)}
${request.codeChallenge ? [hidden('code_challenge', request.codeChallenge), hidden('code_challenge_method', 'S256')] : ''}
${login}
<p>
<button type="submit" name="decision" value="allow">Approve</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</p>
</form>`;
  return page({
    title: `Authorize ${app}`,
    body,
    username: session?.username ?? null,
    csrfToken: session?.csrfToken ?? null,
  });
}

/** What each authorization error of spec §14.2 steps 1–2 means, for a person who followed an application's link. */
function errorExplanation(error: OAuthError): string {
  if (error.code === 'invalid_client') return 'The application that sent you here is not registered with Flattr (its client_id is unknown).';
  if (error.message === 'Missing client_id') return 'The link that brought you here does not say which application it is for (client_id is missing).';
  if (error.message === 'Invalid redirect_uri') {
    return 'The address the application asked to send you back to (redirect_uri) is not one it registered with Flattr, so you are not sent anywhere.';
  }
  return 'The request the application sent could not be read.';
}

/**
 * The HTML answer to a browser for an authorization request that cannot go on (spec §14.2 steps 1–2, and an
 * unreadable form): what went wrong in plain words and the OAuth error for the application's developer. Never a
 * redirect (RFC 6749 §4.1.2.1). Every value is escaped by `html`.
 */
export function authorizeErrorPage(error: OAuthError, session: { username: string; csrfToken: string } | null): string {
  const body = html`<div class="error" role="alert">
<p>${errorExplanation(error)}</p>
<p>Nothing was shared with the application. You can close this page, or go back and tell the application's developer.</p>
</div>
<p>For the developer: <code>${error.code}</code>: ${error.message}.</p>`;
  return page({ title: 'This authorization request cannot go on', body, username: session?.username ?? null, csrfToken: session?.csrfToken ?? null });
}
