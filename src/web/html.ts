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
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1px solid #ddd; margin-bottom: 1.5rem; }
  header a { color: inherit; text-decoration: none; font-weight: 600; }
  label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
  input[type=text], input[type=email], input[type=password], input[type=url], textarea { width: 100%; padding: .5rem; box-sizing: border-box; font: inherit; }
  button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; cursor: pointer; }
  .error { color: #a00; border: 1px solid #a00; padding: .5rem; }
  .notice { background: #f3f7e9; border: 1px solid #8a5; padding: .5rem; }
  code { background: #f4f4f4; padding: .1rem .3rem; word-break: break-all; }
  ul.scopes li { margin: .25rem 0; }
  form.inline { display: inline; }
`;

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** The logged-in username, shown in the header with a logout button. */
  username?: string | null;
  csrfToken?: string | null;
}

export function page({ title, body, username, csrfToken }: PageOptions): string {
  const nav = username
    ? html`<nav><span>${username}</span> · <a href="/apps">Apps</a> · <a href="/settings/applications">Connected applications</a>
        <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf_token" value="${csrfToken ?? ''}"><button type="submit">Log out</button></form></nav>`
    : html`<nav><a href="/login">Log in</a> · <a href="/signup">Sign up</a></nav>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Flattr</title>
<style>${STYLE}</style>
</head>
<body>
<header><a href="/">Flattr</a>${nav}</header>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}
