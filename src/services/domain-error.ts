/**
 * A rule of the domain was broken. `code` is the spec's error code (§6.2); GraphQL exposes it as a typed
 * error and the REST facade maps it to the HTTP status the spec gives.
 */
export type DomainErrorCode =
  | 'not_found'
  | 'validation'
  | 'invalid_parameters'
  | 'forbidden'
  | 'flattr_once'
  | 'flattr_owner'
  | 'thing_owner'
  | 'subscribed'
  | 'no_means';

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** The input field the rule is about (`url`, `title`, `tags`, ...), when it is about one. */
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** The catalogue's text for invalid_parameters (spec §6.2), for every case without a specific one. */
export const INVALID_PARAMETERS = 'One or many parameters are missing or invalid';
export const NOT_FOUND_USER = 'The requested user could not be found';
export const NOT_FOUND_THINGS = 'The requested thing(s) could not be found';
