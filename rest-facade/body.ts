import { jsonNestingExceeds } from '../src/http/json-nesting.js';
import type { Context } from 'koa';
import { RestError } from './errors.js';
import { parseQueryString } from './params.js';

/** Spec D16: 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How the body was sent; §11.4 reassembles form bodies (and the query string), never JSON. */
export type BodyKind = 'none' | 'json' | 'form';

export interface ParsedBody {
  /** Body parameters. JSON values are kept as parsed (checked per parameter at step 11, §4.2); `null` = absent. */
  params: Map<string, unknown>;
  kind: BodyKind;
  /** The undecoded text of a form body, for the reassembly rule of §11.4. */
  rawForm: string | null;
  /** Kept for step 9 of §6.5: a body that could not be read is reported after the token, format and route checks. */
  failure: RestError | null;
}

const NO_BODY = (failure: RestError | null = null): ParsedBody => ({ params: new Map(), kind: 'none', rawForm: null, failure });

const tooLarge = () => new RestError('invalid_request', 'Request body too large');
const malformedJson = () => new RestError('invalid_request', 'Malformed JSON body');

/**
 * Reads at most MAX_BODY_BYTES + 1 bytes of the request: one byte over the limit is enough to know the body is
 * too large. The rest of an oversized body is never kept (Node discards what remains after the response).
 */
async function readRaw(ctx: Context): Promise<Buffer | 'too-large'> {
  const declared = Number(ctx.get('Content-Length') || NaN);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return 'too-large';
  const stream = ctx.req;
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      const room = MAX_BODY_BYTES + 1 - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size > MAX_BODY_BYTES) {
        cleanup();
        // Keep draining without buffering, so the connection can still carry the answer.
        stream.resume();
        resolve('too-large');
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => {
      cleanup();
      reject(new Error('request aborted'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
  });
}

/** The media type of a Content-Type header, lower case, without parameters; '' when the header is missing. */
function mediaType(header: string): string {
  return (header.split(';', 1)[0] ?? '').trim().toLowerCase();
}

/** "0 bytes or only whitespace" (§4.2): the JSON whitespace characters. */
function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the body of a POST, PUT, PATCH or DELETE as spec §4.2 says. A failure is returned, not thrown: the spec
 * reports it only at step 9 of §6.5, after the token, negotiation and route checks.
 *
 * koa-bodyparser (co-body) cannot express these rules: it decodes invalid UTF-8 into U+FFFD instead of failing,
 * ignores bodies without a Content-Type (D15) and bodies of other types (instead of "Unsupported content type"),
 * decodes forms with `qs` (nested `a[b]` keys, the last duplicate winning) rather than like the query string
 * (first occurrence wins, D14), and rejects a whitespace-only JSON body. So the body is read here, within the limit.
 */
export async function readBody(ctx: Context): Promise<ParsedBody> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return NO_BODY();
  const raw = await readRaw(ctx);
  if (raw === 'too-large') return NO_BODY(tooLarge());
  if (isBlank(raw)) return NO_BODY();
  const type = mediaType(ctx.get('Content-Type'));
  const kind: BodyKind | null = type === 'application/json' ? 'json' : type === '' || type === 'application/x-www-form-urlencoded' ? 'form' : null;
  if (kind === null) return NO_BODY(new RestError('invalid_request', 'Unsupported content type'));
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    // D16 gives no text of its own: the catalogue's "The request is invalid".
    return NO_BODY(new RestError('invalid_request'));
  }
  if (kind === 'form') return { params: new Map(parseQueryString(text, ctx.method)), kind, rawForm: text, failure: null };
  // Deeper than any request needs, and costly to parse: the catalogue's "The request is invalid" (README, "Request bodies").
  if (jsonNestingExceeds(text)) return NO_BODY(new RestError('invalid_request'));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NO_BODY(malformedJson());
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return NO_BODY(malformedJson());
  // `null` means "absent" (§4.2), so a query parameter of the same name then applies (D17).
  const params = new Map(Object.entries(value).filter(([, v]) => v !== null));
  return { params, kind, rawForm: null, failure: null };
}
