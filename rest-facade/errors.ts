/** Spec §6: one error class, one catalogue; the pipeline renders every error the same way. */

export type ErrorFamily = 'users' | 'things' | 'flattrs' | 'subscriptions' | 'activities' | 'categories' | 'languages' | null;

export const CATALOGUE = {
  invalid_request: { status: 400, description: 'The request is invalid' },
  invalid_parameters: { status: 400, description: 'One or many parameters are missing or invalid' },
  validation: { status: 400, description: 'Validation failed' },
  unauthorized: { status: 401, description: 'You are unauthorized to access the resource' },
  no_means: { status: 401, description: "You don't have any money to flattr with" },
  rate_limit_exceeded: { status: 403, description: 'Rate limit exceeded' },
  insufficient_scope: { status: 403, description: "You don't have sufficient access rights to access this resource" },
  forbidden: { status: 403, description: 'You are not allowed to update the thing' },
  flattr_once: { status: 403, description: 'You are not allowed to flattr this thing more than once this period' },
  flattr_owner: { status: 403, description: 'You are not allowed to flattr your own thing' },
  thing_owner: { status: 403, description: 'You are not allowed to subscribe to your own thing' },
  subscribed: { status: 403, description: 'User already subscribed to thing' },
  not_found: { status: 404, description: 'The resource was not found' },
  not_acceptable: { status: 406, description: 'Unknown response format' },
  server_error: { status: 500, description: 'Something went wrong, we have been notified' },
} as const;

export type ErrorCode = keyof typeof CATALOGUE;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(CATALOGUE, value);
}

export class RestError extends Error {
  override name = 'RestError';
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Errors from an endpoint's own logic point at the resource family's docs (spec D33); the rest at /api/. */
  readonly crossCutting: boolean;
  /** Body fields placed before `error`: only the lookup not-found body has any (spec §8.11, D46). */
  readonly leadingFields: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    description?: string,
    options: { headers?: Record<string, string>; crossCutting?: boolean; status?: number; leadingFields?: Record<string, unknown> } = {},
  ) {
    super(description ?? CATALOGUE[code].description);
    this.status = options.status ?? CATALOGUE[code].status;
    this.headers = options.headers ?? {};
    this.crossCutting = options.crossCutting ?? CROSS_CUTTING.has(code);
    this.leadingFields = options.leadingFields ?? {};
  }
}

const CROSS_CUTTING = new Set<ErrorCode>(['unauthorized', 'insufficient_scope', 'rate_limit_exceeded', 'not_acceptable', 'invalid_request', 'server_error']);

export function errorUri(docsUrl: string, error: RestError, family: ErrorFamily): string {
  return error.crossCutting || family === null ? `${docsUrl}/api/` : `${docsUrl}/api/resources/${family}/`;
}

export function errorBody(docsUrl: string, error: RestError, family: ErrorFamily) {
  return { ...error.leadingFields, error: error.code, error_description: error.message, error_uri: errorUri(docsUrl, error, family) };
}

export const routeNotFound = () => new RestError('not_found', 'The resource was not found', { crossCutting: true });

/**
 * Spec §5.10: an invalid `jsonp` callback. The one error recognised by its type: its answer (like any answered
 * before it) is never wrapped, so the callback is never reflected.
 */
export class JsonpCallbackError extends RestError {
  constructor() {
    super('invalid_parameters', 'Invalid jsonp callback', { crossCutting: true });
  }
}
