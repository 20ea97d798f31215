import type { Context } from 'koa';
import { RestError, errorBody, type ErrorFamily } from '../errors.js';
import type { FormatKey } from '../formats/media-types.js';
import { errorFormat, ifNoneMatchHits, renderOutput, strongEtag, wrapJsonp } from '../render.js';
import { answerHeaders, noContentHeaders } from './headers.js';
import type { Shaped } from './shape.js';

/** A REST answer, ready to send: the status, every header in order (Content-Type last), the body (null: none). */
export interface RestAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

export interface RenderSettings {
  now: Date;
  siteUrl: string;
}

/**
 * Step "render" (spec §5, §5.5, §5.10, D95): the shaped result in the negotiated format; wrapped in the JSONP
 * callback when there is one; a `204` without a body; with `etag` (a 200 to GET/HEAD) a strong ETag, and `304`
 * without a body when `If-None-Match` matches it.
 */
export function renderAnswer(
  shaped: Shaped,
  options: { format: FormatKey; callback: string | null; etag: boolean; ifNoneMatch: string | undefined },
  settings: RenderSettings,
): RestAnswer {
  if (shaped.status === 204) return { status: 204, headers: noContentHeaders(shaped.headers), body: null };
  const rendered = renderOutput(options.format, shaped.output, settings.now, settings.siteUrl);
  const out = options.callback ? wrapJsonp(options.callback, rendered) : rendered;
  const headers = answerHeaders(shaped.headers, options.callback !== null);
  if (options.etag) {
    const etag = strongEtag(out.body);
    headers.ETag = etag;
    if (ifNoneMatchHits(options.ifNoneMatch, etag)) return { status: 304, headers, body: null };
  }
  return { status: shaped.status, headers: { ...headers, 'Content-Type': out.contentType }, body: out.body };
}

/** An error answer (spec §6.1): the v2 error body in the negotiated format if json, xml or yaml (JSON otherwise). */
export function renderError(
  error: RestError,
  options: { format: FormatKey | null; callback: string | null; family: ErrorFamily; docsUrl: string },
  settings: RenderSettings,
): RestAnswer {
  const body = errorBody(options.docsUrl, error, options.family);
  const format = options.callback ? 'json' : errorFormat(options.format);
  const shaped: Shaped = { status: error.status, output: { root: 'response', value: body }, headers: error.headers };
  return renderAnswer(shaped, { format, callback: options.callback, etag: false, ifNoneMatch: undefined }, settings);
}

/** Writes an answer on the Koa context (headers already there, e.g. rate-limit ones, stay). */
export function send(ctx: Context, answer: RestAnswer): void {
  ctx.set(answer.headers);
  ctx.status = answer.status;
  ctx.body = answer.body;
}
