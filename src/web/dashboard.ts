import fs from 'node:fs';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppDeps } from '../server/app-deps.js';
import { hasStatsRole, statsGrant } from '../services/stats-role.js';
import type { Viewer } from '../services/tokens.js';
import { StatsInputError, resolveRange, type DateRange } from '../services/stats.js';
import { html, page } from './html.js';
import { sendPage } from './respond.js';
import { csrfTokenMatches, loadSession, type SessionDeps } from './session.js';
import { webHandler } from './handler.js';

/**
 * `/dashboard`: the platform in numbers for staff (issue 8). The page is rendered here; its script
 * (`/dashboard.js`, src/ops/dashboard-client.js, same origin so the CSP keeps `script-src 'self'`) queries
 * `stats` on /graphql and draws the flattrs-per-day chart (inline SVG), the top-things table and the totals.
 *
 * Who can see numbers — the "internal role" is holding the `stats` scope, which only the admin CLI grants
 * (`npm run admin -- token create --user U --client C --scope stats`); no new column, no migration:
 * - opened with a stats token: `/dashboard#token=<token>`. The fragment never reaches the server (nor logs, nor
 *   Referer); the script moves it to sessionStorage and removes it from the address bar, and sends it as
 *   `Authorization: Bearer`;
 * - a logged-in user who holds an unrevoked `stats` token (of an enabled application): the page carries the
 *   session's CSRF token (`hasStatsRole`, src/services/stats-role.ts), and the script sends `X-CSRF-Token` with the session cookie. /graphql then acts for that
 *   user with the single scope `stats` (see `sessionStatsViewer`), so the session can read statistics and nothing
 *   a token with other scopes could.
 * Anyone else gets the page shell with a plain explanation of what is missing (a logged-in user: the statistics
 * role, which an operator grants) and no numbers, nor an empty chart: the numbers only ever come from /graphql.
 */

const CLIENT_SCRIPT = fs.readFileSync(new URL('../ops/dashboard-client.js', import.meta.url), 'utf8');

/** The dashboard's policy: the website's, plus its own script and its calls to /graphql. */
const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "style-src 'unsafe-inline'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * /graphql for the dashboard of a logged-in staff user: a POST without `Authorization`, with the session cookie
 * and `X-CSRF-Token` equal to the session's CSRF token (a header no other site can set or know; the cookie is also
 * SameSite=Lax). The viewer is the session's user with only the `stats` scope; null when any part is missing,
 * so the request is simply anonymous.
 */
export async function sessionStatsViewer(ctx: Context, em: EntityManager, deps: SessionDeps): Promise<Viewer | null> {
  if (ctx.method !== 'POST' || ctx.get('Authorization')) return null;
  const csrf = ctx.get('X-CSRF-Token');
  if (!csrf) return null;
  const session = await loadSession(ctx, em, deps);
  if (!session?.user || !csrfTokenMatches(session, csrf)) return null;
  const grant = await statsGrant(em, session.user.id);
  if (!grant) return null;
  return { user: session.user, scopes: new Set(['stats'] as const), tokenId: grant.tokenId, clientId: grant.clientId };
}

function chosenRange(ctx: Context, deps: AppDeps): { range: DateRange; problem: string | null } {
  const from = typeof ctx.query.from === 'string' && ctx.query.from !== '' ? ctx.query.from : null;
  const to = typeof ctx.query.to === 'string' && ctx.query.to !== '' ? ctx.query.to : null;
  try {
    return { range: resolveRange(deps.clock, from, to), problem: null };
  } catch (error) {
    if (!(error instanceof StatsInputError)) throw error;
    return { range: resolveRange(deps.clock), problem: `${error.message}; showing the last 30 days instead.` };
  }
}

const DASHBOARD_STYLE = html`<style>
  dl.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr)); gap: .5rem; }
  dl.totals div { border: 1px solid #ddd; padding: .5rem; } dl.totals dt { font-size: 13px; color: #555; } dl.totals dd { margin: 0; font-size: 1.5rem; font-weight: 600; }
  svg#chart { width: 100%; height: auto; border: 1px solid #eee; }
  svg#chart rect.bar { fill: #5a9e3a; } svg#chart text { font: 11px system-ui, sans-serif; fill: #555; }
  table#top-things { border-collapse: collapse; width: 100%; } table#top-things th, table#top-things td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left; }
  td.num, th.num { text-align: right; }
  form.range { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
  form.range input { width: auto; } form.range label { display: inline; margin: 0; } form.range button { margin-top: 0; }
  #status:empty { display: none; }
</style>`;

export function registerDashboardRoutes(router: Router, deps: AppDeps): void {
  router.get(
    '/dashboard',
    webHandler(deps, async (ctx, web) => {
      const session = await loadSession(ctx, web.em, web.sessionDeps);
      const user = session?.user ?? null;
      const staff = user ? await hasStatsRole(web.em, user.id) : false;
      const { range, problem } = chosenRange(ctx, deps);
      // Who cannot see numbers is told what is missing, in plain words; the numbers (and the chart's frame) appear
      // only once /graphql has answered with them. A bad date here and a refused token there share one error box.
      const accessHelp = staff
        ? ''
        : user
          ? html`<p id="access-help">Your account does not have the statistics role. An operator can grant it.</p>`
          : html`<p id="access-help">The statistics are for staff: <a href="/login?next=%2Fdashboard">log in</a> with an account that has the statistics role.</p>`;
      const body = html`${DASHBOARD_STYLE}
<div id="dashboard" data-auth="${staff ? 'session' : 'token'}" data-csrf="${staff ? session!.csrfToken : ''}" data-state="loading">
<form class="range" method="get" action="/dashboard">
  <label for="from">From</label><input type="date" id="from" name="from" value="${range.from}">
  <label for="to">to</label><input type="date" id="to" name="to" value="${range.to}">
  <button type="submit">Show</button>
</form>
<div id="dashboard-errors" class="error" role="alert"${problem ? '' : html` hidden`}><ul>${problem ? html`<li>${problem}</li>` : ''}</ul></div>
<p id="status" role="status">Loading…</p>
<noscript><p class="error">This page draws its charts with JavaScript.</p></noscript>
${accessHelp}
<div id="results" hidden>
<section aria-labelledby="totals-title"><h2 id="totals-title">Totals</h2><dl class="totals" id="totals"></dl></section>
<section aria-labelledby="chart-title"><h2 id="chart-title">Flattrs per day</h2>
<svg id="chart" viewBox="0 0 720 240" role="img" aria-labelledby="chart-title chart-summary"></svg>
<p id="chart-summary"></p></section>
<section aria-labelledby="top-title"><h2 id="top-title">Top things</h2>
<div class="table-scroll"><table id="top-things"><thead><tr><th scope="col">#</th><th scope="col">Thing</th><th scope="col">Owner</th><th scope="col" class="num">Flattrs</th></tr></thead><tbody></tbody></table></div></section>
</div>
</div>
<script src="/dashboard.js" defer></script>`;
      sendPage(ctx, 200, page({ title: 'Dashboard', body, username: user?.username ?? null, csrfToken: session?.csrfToken ?? null }));
      ctx.set('Content-Security-Policy', DASHBOARD_CSP);
    }),
  );

  router.get('/dashboard.js', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = CLIENT_SCRIPT;
  });
}
