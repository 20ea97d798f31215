import type { Context } from 'koa';
import type { GraphQLContext } from '../../schema/context.js';
import { admitRequest, type AdmissionDeps } from '../../src/http/admission.js';
import type { Admission } from '../../src/rate-limit/admission.js';
import { refusalHeaders } from '../../src/rate-limit/state.js';
import { RestError } from '../errors.js';
import { routeKind, type RestRoute } from '../route.js';

/**
 * Step "admit" (spec §6.5 step 5, §7): the request is counted against its bucket (the shared admission of REST and
 * /graphql), or refused with `403 rate_limit_exceeded` and `Retry-After`, counting nothing. A `rate_limit` route
 * reads its bucket without counting. The admission carries the viewer of a valid token.
 */
export async function admit(
  deps: AdmissionDeps,
  ctx: Pick<Context, 'req'>,
  input: { token: string | null; route: RestRoute | null; em: GraphQLContext['em'] },
): Promise<Admission> {
  const count = input.route === null || routeKind(input.route) !== 'rate_limit';
  const admission = await admitRequest(deps, ctx, { token: input.token, count, em: input.em });
  if (!admission.allowed) throw new RestError('rate_limit_exceeded', undefined, { headers: refusalHeaders(admission.state) });
  return admission;
}
