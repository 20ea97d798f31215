import type { Viewer } from '../../src/http/viewer.js';
import { insufficientScope, invalidToken, missingToken, multipleTokens, presentedToken, type PresentedToken } from '../access-token.js';
import type { RestRoute } from '../route.js';

/**
 * Step "authenticate" (spec §3, §6.5 steps 4, 6 and 10). The token is looked up during admission (it picks the
 * bucket, src/http/admission.ts, with the injected `authenticate`); these are the REST answers around it.
 */

/** Step 4: the token presented in the `Authorization` header, the `access_token` query or body parameter. */
export function presentedTokenOf(sources: { authorization: string | undefined; query: ReadonlyMap<string, string>; body: ReadonlyMap<string, unknown> }): PresentedToken {
  return presentedToken({ header: sources.authorization, query: sources.query.get('access_token'), body: sources.body.get('access_token') });
}

/** The one token presented, to authenticate (several tokens: none is looked up, the client address's bucket). */
export function singleToken(presented: PresentedToken): string | null {
  return presented && 'token' in presented ? presented.token : null;
}

/** Step 6: several tokens are `400 invalid_request`; a token that is not valid `401 unauthorized`. */
export function checkCredentials(presented: PresentedToken, tokenInvalid: boolean): void {
  if (presented && 'multiple' in presented) throw multipleTokens();
  if (tokenInvalid) throw invalidToken();
}

/** Step 10: the route's authentication level (`401 unauthorized`), then its scope (`403 insufficient_scope`). */
export function authorize(route: RestRoute, viewer: Viewer | null): void {
  if (route.auth === 'required' && !viewer) throw missingToken();
  if (route.scope && !viewer?.scopes.has(route.scope)) throw insufficientScope(route.scope);
}
