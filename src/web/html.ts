/** Server-rendered pages: every user-supplied value goes through `escapeHtml` (or the `html` tag). */

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Markup that is already safe (built by `html` or a trusted constant). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Template tag: interpolated values are escaped unless they are SafeHtml (or arrays of them). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

const STYLE = `
  *, *::before, *::after { box-sizing: border-box; }
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; overflow-wrap: break-word; }
  header.site { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: .25rem 1.5rem; border-bottom: 1px solid #ddd; margin-bottom: 1.5rem; padding-bottom: .5rem; }
  footer.site { border-top: 1px solid #ddd; margin-top: 2rem; padding-top: .5rem; font-size: .9rem; }
  header.site a { color: inherit; font-weight: 600; }
  header.site .brand { font-size: 1.25rem; text-decoration: none; }
  header.site nav { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1rem; }
  header.site nav button { margin-top: 0; padding: .25rem .75rem; }
  h1 { font-size: 1.75rem; line-height: 1.25; overflow-wrap: anywhere; }
  label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
  input[type=text], input[type=email], input[type=password], input[type=url], textarea, select { max-width: 100%; }
  input[type=text], input[type=email], input[type=password], input[type=url], textarea { width: 100%; padding: .5rem; font: inherit; }
  .hint { display: block; margin-top: .25rem; font-size: .875rem; color: #4a4a4a; }
  button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; cursor: pointer; }
  .error { color: #a00; border: 1px solid #a00; padding: .5rem; }
  .error ul { margin: 0; padding-left: 1.25rem; }
  .error > p:first-child { margin-top: 0; } .error > p:last-child { margin-bottom: 0; }
  .notice { background: #f3f7e9; border: 1px solid #8a5; padding: .5rem; }
  code { background: #f4f4f4; padding: .1rem .3rem; overflow-wrap: anywhere; }
  pre { overflow-x: auto; max-width: 100%; }
  .table-scroll { overflow-x: auto; max-width: 100%; }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: .25rem .5rem .25rem 0; vertical-align: top; }
  dd { margin-left: 1rem; }
  .secret { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
  .secret pre { flex: 1 1 16rem; min-width: 0; margin: 0; padding: .5rem; background: #f4f4f4; border: 1px solid #ccc; }
  .secret pre code { white-space: pre; overflow-wrap: normal; padding: 0; font-size: .95rem; }
  .secret button { margin-top: 0; }
  ul.scopes li { margin: .25rem 0; }
  form.inline { display: inline; }
`;

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** Same-origin scripts (`/copy-button.js`, say), loaded with `defer`; the page's CSP must allow `script-src 'self'`. */
  scripts?: readonly string[];
  /** The logged-in username, shown in the header with a logout button. */
  username?: string | null;
  csrfToken?: string | null;
}

/**
 * A whole page: the header (the brand, then the account links; on a narrow screen the links wrap under the brand
 * instead of running into it), one `<main>` with the page's `<h1>`, the site's stylesheet.
 */
export function page({ title, body, username, csrfToken, scripts = [] }: PageOptions): string {
  const nav = username
    ? html`<nav aria-label="Account"><span>${username}</span> <a href="/apps">Apps</a> <a href="/settings/applications">Connected applications</a>
        <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf_token" value="${csrfToken ?? ''}"><button type="submit">Log out</button></form></nav>`
    : html`<nav aria-label="Account"><a href="/login">Log in</a> <a href="/signup">Sign up</a></nav>`;
  const scriptTags = scripts.map((src) => html`<script src="${src}" defer></script>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Flattr</title>
<style>${STYLE}</style>
${scriptTags.map((tag) => tag.value).join('\n')}
</head>
<body>
<header class="site"><a class="brand" href="/">Flattr</a>${nav}</header>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
<footer class="site"><a href="/docs">API reference</a> · <a href="/graphql">GraphiQL</a> (explore the GraphQL API in the browser)</footer>
</body>
</html>
`;
}
