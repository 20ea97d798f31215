export const JSONP_CONTENT_TYPE = 'application/javascript; charset=utf-8';

/** Compact JSON (§5.6). JSON.stringify already leaves non-ASCII and `/` unescaped. */
export function renderJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

const JSONP_CALLBACK = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;

/** D29. */
export function isValidJsonpCallback(callback: string): boolean {
  return callback.length <= 100 && JSONP_CALLBACK.test(callback);
}

/**
 * §5.10 body. The `/**\/` prefix guards against content sniffing. Throws on a
 * callback that fails D29, since it is written into the body unescaped; callers
 * answer that case with 400 before rendering.
 */
export function renderJsonp(callback: string, json: string): string {
  if (!isValidJsonpCallback(callback)) throw new Error('Invalid jsonp callback');
  return `/**/${callback}(${json});`;
}
