import { html, page, type SafeHtml } from '../web/html.js';
import type { Scope } from '../services/tokens.js';
import type { AuthorizationRequest } from './authorization-request.js';

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
export function consentPage({ request, session, error, username }: ConsentPageOptions): string {
  const app = request.client.name;
  const scopeItems = request.scopes
    .filter((s): s is Exclude<Scope, 'stats'> => s !== 'stats')
    .map((s) => html`<li><strong>${s}</strong>: ${SCOPE_DESCRIPTIONS[s]}</li>`);
  const description = request.client.description ? html`<p><em>${request.client.description}</em></p>` : '';
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
