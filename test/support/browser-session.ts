/**
 * A tiny browser for tests: keeps cookies between requests (by name; path and domain are ignored: one
 * site), sends forms as `application/x-www-form-urlencoded`, remembers the last `csrf_token` it saw in a
 * page, and follows no redirect by itself.
 */
export interface BrowserResponse {
  status: number;
  headers: Record<string, string>;
  /** `Set-Cookie` headers of this response, unparsed. */
  setCookies: string[];
  location: string | null;
  text: string;
}

export interface FormField {
  name: string;
  value: string;
  type: string;
}

export interface ParsedForm {
  method: string;
  action: string;
  fields: FormField[];
  /** name → value of every input (last wins), hidden ones included. */
  values: Record<string, string>;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | null {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!match) return null;
  return decodeEntities(match[1] ?? match[2] ?? match[3] ?? '');
}

/** The forms of a page: method, action and `<input>` fields (enough for the site's server-rendered forms). */
export function parseForms(page: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = match[1]!;
    const fields: FormField[] = [];
    for (const input of match[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], 'name');
      if (name === null) continue;
      fields.push({ name, value: attribute(input[0], 'value') ?? '', type: (attribute(input[0], 'type') ?? 'text').toLowerCase() });
    }
    forms.push({
      method: (attribute(` ${open}`, 'method') ?? 'get').toLowerCase(),
      action: attribute(` ${open}`, 'action') ?? '',
      fields,
      values: Object.fromEntries(fields.map((f) => [f.name, f.value])),
    });
  }
  return forms;
}

/** The first form whose action is `action` (exactly), or the first form at all. */
export function findForm(page: string, action?: string): ParsedForm | undefined {
  const forms = parseForms(page);
  return action === undefined ? forms[0] : forms.find((f) => f.action === action);
}

/** The `csrf_token` hidden field of a page, if any. */
export function extractCsrfToken(page: string): string | null {
  for (const form of parseForms(page)) {
    if (form.values.csrf_token !== undefined) return form.values.csrf_token;
  }
  return null;
}

export class BrowserSession {
  readonly cookies = new Map<string, string>();
  /** The last `csrf_token` seen in a page this session received. */
  csrfToken: string | null = null;

  constructor(readonly baseUrl: string) {}

  /** Another browser that starts with a copy of this one's cookies (an attacker who stole or planted them). */
  clone(): BrowserSession {
    const copy = new BrowserSession(this.baseUrl);
    for (const [name, value] of this.cookies) copy.cookies.set(name, value);
    copy.csrfToken = this.csrfToken;
    return copy;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<BrowserResponse> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0 && !Object.keys(headers).some((h) => h.toLowerCase() === 'cookie')) headers.Cookie = this.cookieHeader();
    const response = await fetch(this.baseUrl + path, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) this.storeCookie(line);
    const text = await response.text();
    const token = extractCsrfToken(text);
    if (token !== null) this.csrfToken = token;
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      setCookies,
      location: response.headers.get('location'),
      text,
    };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<BrowserResponse> {
    return this.request(path, { headers });
  }

  /**
   * POSTs a form. `csrf_token` is added from the last page seen unless `fields` names it (pass
   * `csrf_token: null` to leave it out).
   */
  post(path: string, fields: Record<string, string | null> = {}, headers: Record<string, string> = {}): Promise<BrowserResponse> {
    const body = new URLSearchParams();
    if (!('csrf_token' in fields) && this.csrfToken !== null) body.set('csrf_token', this.csrfToken);
    for (const [name, value] of Object.entries(fields)) if (value !== null) body.append(name, value);
    return this.request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: body.toString(),
    });
  }

  private storeCookie(line: string): void {
    const [pair, ...attributes] = line.split(';');
    const eq = pair!.indexOf('=');
    if (eq < 0) return;
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    let expired = value === '';
    for (const attr of attributes) {
      const [key, ...rest] = attr.trim().split('=');
      const v = rest.join('=');
      if (key!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      // The server's clock is the test's ManualClock, not the real one: only a date in the distant past
      // (the server's `expires=Thu, 01 Jan 1970`) counts as a deletion.
      if (key!.toLowerCase() === 'expires' && Date.parse(v) < Date.parse('2000-01-01T00:00:00Z')) expired = true;
    }
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** A browser that signed up (and so is logged in) through the site's `/signup` form. */
export async function signedUpBrowser(baseUrl: string, username: string, password = 'correct horse battery'): Promise<BrowserSession> {
  const browser = new BrowserSession(baseUrl);
  await browser.get('/signup');
  const res = await browser.post('/signup', { username, email: `${username}@example.org`, password });
  if (res.status !== 303) throw new Error(`signup of ${username} failed: ${res.status} ${res.text.slice(0, 500)}`);
  return browser;
}

/** A browser logged in through the site's `/login` form. */
export async function loggedInBrowser(baseUrl: string, username: string, password: string): Promise<BrowserSession> {
  const browser = new BrowserSession(baseUrl);
  await browser.get('/login');
  const res = await browser.post('/login', { username, password });
  if (res.status !== 303) throw new Error(`login of ${username} failed: ${res.status}`);
  return browser;
}
