import bodyParser from 'koa-bodyparser';
import type { Context } from 'koa';
import { RestError } from './errors.js';

const MAX_BODY = '1mb';

const parser = bodyParser({
  enableTypes: ['json', 'form'],
  jsonLimit: MAX_BODY,
  formLimit: MAX_BODY,
  strict: true,
  onerror: (error) => {
    throw error;
  },
});

/**
 * Reads the body of a POST/PUT/PATCH/DELETE (spec §4.2). A failure is returned, not thrown: the spec
 * reports it only at step 9 of §6.5, after the token, negotiation and route checks.
 */
export async function readBody(ctx: Context): Promise<{ params: Map<string, unknown>; failure: RestError | null }> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return { params: new Map(), failure: null };
  try {
    await parser(ctx, async () => undefined);
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 413) return { params: new Map(), failure: new RestError('invalid_request', 'Request body too large') };
    return { params: new Map(), failure: new RestError('invalid_request', 'Malformed JSON body') };
  }
  const body = (ctx.request as { body?: unknown }).body;
  if (Array.isArray(body)) return { params: new Map(), failure: new RestError('invalid_request', 'Malformed JSON body') };
  return { params: new Map(Object.entries((body ?? {}) as Record<string, unknown>)), failure: null };
}
