/**
 * Where to go after logging in or signing up. Only same-site relative paths are accepted: a value that
 * starts with a single `/`. Refused (the fallback is used instead): absolute URLs (`https://evil.example`),
 * scheme-relative ones (`//evil.example`), backslashes (browsers read `/\evil.example` as `//evil.example`),
 * and control characters or spaces (browsers strip tabs and newlines, so `/\t/evil.example` would become
 * `//evil.example`). This keeps `next` from being an open redirect.
 */
export const DEFAULT_NEXT = '/apps';
const MAX_LENGTH = 2048;

export function safeNextPath(value: unknown, fallback: string = DEFAULT_NEXT): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return fallback;
  if (value[0] !== '/' || value[1] === '/' || value[1] === '\\') return fallback;
  // Backslashes, whitespace, control characters and anything outside printable ASCII are refused outright.
  if (!/^[\x21-\x7e]+$/.test(value) || value.includes('\\')) return fallback;
  // Belt and braces: resolved against a dummy origin, the path must stay on that origin.
  try {
    const base = 'http://same-site.invalid';
    const resolved = new URL(value, base);
    if (resolved.origin !== base) return fallback;
  } catch {
    return fallback;
  }
  return value;
}

/** `/login?next=...` for the page the visitor asked for. */
export function loginUrlFor(originalUrl: string): string {
  const next = safeNextPath(originalUrl, '');
  return next ? `/login?next=${encodeURIComponent(next)}` : '/login';
}
