/**
 * The one set of `extensions.code` values that every entry of a GraphQL response's `errors[]` carries, and that
 * `MutationError.code` reuses for refused writes. README, "GraphQL errors", documents them for clients; a test
 * checks that the two agree.
 *
 * The REST facade turns these into the v2 error codes (401 unauthorized, 403 insufficient_scope, ...): GraphQL
 * follows GraphQL conventions, the facade keeps the v2 contract.
 */
export const GRAPHQL_ERROR_CODES = {
  /** The document is not valid GraphQL syntax. */
  GRAPHQL_PARSE_FAILED: 'The query document could not be parsed.',
  /** The document does not validate against the schema (unknown field, wrong argument type, ...). */
  GRAPHQL_VALIDATION_FAILED: 'The query document is not valid against the schema.',
  /** A variable or argument value is malformed or out of range (bad id, page size over the cap, bad cursor, ...). */
  BAD_USER_INPUT: 'A variable or argument has a value the operation cannot use.',
  /** The HTTP request itself cannot be read (malformed JSON body, unsupported method or content type, too large). */
  BAD_REQUEST: 'The HTTP request could not be read as a GraphQL request.',
  /** Automatic persisted queries: the hash is not known yet; send the query text with it. */
  PERSISTED_QUERY_NOT_FOUND: 'The persisted query hash is unknown: send the full query once.',
  /** Trusted-documents mode: only operations on the server's allow-list run. */
  PERSISTED_QUERY_NOT_ALLOWED: 'Only allow-listed operations may run on this server.',
  /** No valid access token, or none where the field needs one. */
  UNAUTHENTICATED: 'A valid access token is required.',
  /** The token lacks a scope (extensions.requiredScope names it), or the caller may not act on that object. */
  FORBIDDEN: 'The token is valid but may not do this.',
  /** The object an argument names does not exist, or is hidden from the caller. */
  NOT_FOUND: 'The object does not exist or is not visible to the caller.',
  /** The hourly request budget is spent (extensions.rateLimit says when it resets). */
  RATE_LIMITED: 'The rate limit is exhausted.',
  /** The document nests deeper than the server allows. */
  QUERY_TOO_DEEP: 'The query is nested too deeply.',
  /** The document's computed cost (fields times page sizes) is over the server's limit. */
  QUERY_TOO_COSTLY: 'The query would cost more than the server allows.',
  /** Subscriptions: the caller (token or client address) or the server has as many open subscriptions as allowed. */
  SUBSCRIPTION_LIMIT: 'Too many open subscriptions: close one, or try again later.',
  /** Subscriptions, final event: the client did not read its events fast enough and was dropped. */
  SLOW_CONSUMER: 'The subscription ended because its events were not read in time.',
  /** Subscriptions, final event: the access token was revoked (or its application disabled) while the stream was open. */
  TOKEN_REVOKED: 'The subscription ended because its token is no longer valid.',
  /** Subscriptions, final event: the server is shutting down; subscribe again. */
  SERVER_SHUTTING_DOWN: 'The subscription ended because the server is shutting down.',
  /** The API must be used over TLS (REQUIRE_TLS). */
  TLS_REQUIRED: 'The request must be made over HTTPS.',
  /** A fault of the server; the message is generic and the details are in the server's log. */
  INTERNAL_SERVER_ERROR: 'An unexpected error occurred on the server.',
} as const;

export type GraphQLErrorCode = keyof typeof GRAPHQL_ERROR_CODES;
