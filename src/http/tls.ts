import type { Context } from 'koa';

/** REQUIRE_TLS (spec §6.5 step 2): the answer's challenge and description, the same on REST and /graphql. */
export const TLS_REQUIRED_CHALLENGE = 'Bearer realm="flattr", error="invalid_request"';
export const TLS_REQUIRED_MESSAGE = 'Requires ssl';

/**
 * True when the request must be refused for coming without TLS: REQUIRE_TLS is on and the connection (or, with
 * TRUST_PROXY, the proxy's `X-Forwarded-Proto`) is not HTTPS. Checked before the token is looked at or counted.
 */
export function tlsMissing(ctx: Pick<Context, 'secure'>, config: { requireTls: boolean }): boolean {
  return config.requireTls && !ctx.secure;
}
