import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Context } from 'koa';

/**
 * GraphiQL served by the server itself (README "GraphQL"): GET /graphql with `Accept: text/html` answers a small
 * page (renderGraphiQLPage) whose stylesheet, script and Monaco workers are files below GRAPHIQL_ASSETS, taken from
 * @graphql-yoga/render-graphiql (which bundles GraphiQL, React and Monaco, fonts and icons as data: URLs). Nothing
 * is loaded from another host, so it works offline, and the page's CSP (GRAPHIQL_CSP) allows its own origin only:
 * no inline script, no eval. Yoga's default page loads GraphiQL from a CDN instead.
 */

export const GRAPHIQL_ASSETS = '/graphiql/assets';

/**
 * The page's Content-Security-Policy: scripts, stylesheets, workers and requests to its own origin only; inline
 * styles (Monaco and React set `style` attributes), data: fonts and images (the bundle's). No frame may embed it.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  gzipped?: Promise<Buffer>;
}

let assets: Promise<Map<string, Asset>> | null = null;

/** The bundle's pieces as files, loaded on first use (the bundle is 9 MB of JavaScript source). */
function loadAssets(): Promise<Map<string, Asset>> {
  // The package exports only its renderer (one 9 MB inline page); its pieces are in the module beside it.
  const entry = createRequire(import.meta.url).resolve('@graphql-yoga/render-graphiql');
  const pieces = pathToFileURL(path.join(path.dirname(entry), '..', 'esm', 'graphiql.js')).href;
  assets ??= import(pieces).then((bundle: Record<string, string>) => {
    const js = (text: string): Asset => ({ type: 'application/javascript; charset=utf-8', body: Buffer.from(text, 'utf8') });
    const favicon = /^data:([^;,]+);base64,(.*)$/s.exec(bundle.favicon ?? '');
    const start = `(function () {
  var workers = {
    editorWorkerService: '${GRAPHIQL_ASSETS}/worker-editor.js',
    json: '${GRAPHIQL_ASSETS}/worker-json.js',
    graphql: '${GRAPHIQL_ASSETS}/worker-graphql.js'
  };
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (moduleId, label) {
      return workers[label] || workers.editorWorkerService;
    }
  };
  var options = JSON.parse(document.getElementById('graphiql-options').textContent);
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
})();
`;
    return new Map<string, Asset>([
      ['graphiql.css', { type: 'text/css; charset=utf-8', body: Buffer.from(bundle.css!, 'utf8') }],
      ['graphiql.js', js(bundle.js!)],
      ['start.js', js(start)],
      ['worker-editor.js', js(bundle.editorWorkerService!)],
      ['worker-json.js', js(bundle.jsonWorker!)],
      ['worker-graphql.js', js(bundle.graphqlWorker!)],
      ...(favicon ? ([['favicon.ico', { type: favicon[1]!, body: Buffer.from(favicon[2]!, 'base64') }]] as const) : []),
    ]);
  });
  return assets;
}

const gzipAsync = promisify(gzip);

function escapeJsonForHtml(value: unknown): string {
  // Inside <script type="application/json">: nothing may close the element or open a comment.
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Yoga's `renderGraphiQL`: the page, with the options as JSON data (read by start.js, never run as script). */
export function renderGraphiQLPage(options: { title?: string } & Record<string, unknown> = {}): string {
  const title = options.title ?? 'GraphiQL';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="${GRAPHIQL_ASSETS}/favicon.ico">
<link rel="stylesheet" href="${GRAPHIQL_ASSETS}/graphiql.css">
<style>html, body, #root { height: 100%; margin: 0; }</style>
</head>
<body id="body" class="no-focus-outline">
<noscript>GraphiQL needs JavaScript. Without it, POST queries to this URL (see <a href="/docs">/docs</a>).</noscript>
<div id="root"></div>
<script type="application/json" id="graphiql-options">${escapeJsonForHtml({ ...options, title })}</script>
<script src="${GRAPHIQL_ASSETS}/graphiql.js"></script>
<script src="${GRAPHIQL_ASSETS}/start.js"></script>
</body>
</html>
`;
}

/**
 * Serves GET/HEAD `${GRAPHIQL_ASSETS}/<name>`: true when it answered. Not rate limited (static files, like /docs);
 * cached by browsers for a day; gzip when the client accepts it (compressed once, off the event loop).
 */
export async function serveGraphiQLAsset(ctx: Context): Promise<boolean> {
  if (!ctx.path.startsWith(`${GRAPHIQL_ASSETS}/`) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return false;
  const asset = (await loadAssets()).get(ctx.path.slice(GRAPHIQL_ASSETS.length + 1));
  if (!asset) return false;
  ctx.set('Cache-Control', 'public, max-age=86400');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
  ctx.type = asset.type;
  ctx.vary('Accept-Encoding');
  if (asset.body.length > 1024 && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    asset.gzipped ??= gzipAsync(asset.body);
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = await asset.gzipped;
  } else {
    ctx.body = asset.body;
  }
  return true;
}
