import type { Context } from 'koa';
import { readRequestBody, type BodyFailure, type BodyKind } from '../src/http/body.js';
import { RestError } from './errors.js';

/** Spec D16: 1 MiB (the shared reader's limit). */
export { MAX_BODY_BYTES, type BodyKind } from '../src/http/body.js';

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

/** The REST answers to a body the reader could not read (§4.2, D16; the catalogue's "The request is invalid" where the spec gives no text). */
const FAILURES: Record<BodyFailure, () => RestError> = {
  too_large: () => new RestError('invalid_request', 'Request body too large'),
  unsupported_type: () => new RestError('invalid_request', 'Unsupported content type'),
  malformed_json: () => new RestError('invalid_request', 'Malformed JSON body'),
  // D16 gives no text of its own for invalid UTF-8; a JSON body nested too deep (README, "Request bodies") neither.
  not_utf8: () => new RestError('invalid_request'),
  too_deep: () => new RestError('invalid_request'),
};

/**
 * Reads the body of a POST, PUT, PATCH or DELETE as spec §4.2 says, with the shared reader (src/http/body.ts): a body
 * of only whitespace is none; JSON must be an object, whose values are kept as parsed (nested ones too), `null` read
 * as absent. A failure is returned, not thrown: the spec reports it only at step 9 of §6.5, after the token,
 * negotiation and route checks.
 */
export async function readBody(ctx: Context): Promise<ParsedBody> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return NO_BODY();
  const body = await readRequestBody(ctx.req, { blank: 'json-whitespace' });
  if (!body.ok) return NO_BODY(FAILURES[body.failure]());
  if (body.kind === 'none') return NO_BODY();
  if (body.kind === 'form') return { params: body.params, kind: 'form', rawForm: body.text, failure: null };
  return { params: body.params, kind: 'json', rawForm: null, failure: null };
}
