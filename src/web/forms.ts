import type { Context } from 'koa';
import bodyParser from 'koa-bodyparser';

/** Form bodies of the website: `application/x-www-form-urlencoded` only, at most 32 KiB. */
export const FORM_LIMIT = '32kb';

const parser = bodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT });

export type FormFields = Record<string, unknown>;

/**
 * Parses the request's form body (once; later calls return the same object). Other content types give
 * an empty form, so a cross-site `text/plain` POST carries no `csrf_token` and is refused. A body over
 * the limit throws an error with `status` 413, a malformed one `status` 400 (`webHandler` turns both into
 * HTML error pages).
 *
 * Not the API's reader (src/http/body.ts), on purpose: website forms take no JSON, have their own 32 KiB limit and
 * 413/400 pages, keep a duplicated name as an array so that `field` refuses it (the API's first occurrence would win),
 * and read invalid UTF-8 as U+FFFD rather than refusing the form.
 */
export async function readForm(ctx: Context): Promise<FormFields> {
  await parser(ctx, async () => {});
  const body = ctx.request.body;
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as FormFields) : {};
}

/** A single text field; '' when absent or not a plain string (`a[]=x` or `a=1&a=2` give arrays: refused). */
export function field(form: FormFields, name: string): string {
  const value = Object.prototype.hasOwnProperty.call(form, name) ? form[name] : undefined;
  return typeof value === 'string' ? value : '';
}
