/**
 * Issue 14 (bounded amplification): every collection that one user's writes can grow has a bound, so no write, and
 * no run of writes by one user, makes a stored collection (and every page or check that reads it whole) unbounded.
 * SECURITY.md "Collections a write can grow, and their bounds" lists each with where it is enforced and what the
 * user sees. Tags per thing (100) and the thing fields are bounded in src/services/thing-rules.ts; lists read in
 * pages are bounded by MAX_PAGE_SIZE.
 */

/** OAuth applications one user may own (website `/apps`, admin CLI `app create --owner`). */
export const APPS_PER_OWNER = 50;
/** Callback (redirect) URIs per application; each is compared on every authorization request. */
export const CALLBACK_URLS_PER_APP = 20;
/** Longest callback URI, in characters (the url limit of things, spec §12.2). */
export const CALLBACK_URL_MAX = 2048;
/** Longest application name, in characters (the column's length). */
export const APP_NAME_MAX = 255;
/** Longest application description, in characters (a thing's description limit, spec §12.2). */
export const APP_DESCRIPTION_MAX = 1000;

/** Longest first or last name of a user (admin CLI `user create`; the columns' length). */
export const USER_NAME_PART_MAX = 255;

/**
 * Access tokens kept per user and application. Every grant (code exchange, implicit flow, CLI) issues a new token
 * and tokens never expire (spec §14.9), so issuing one more deletes the oldest of the pair beyond this number
 * (live or revoked): that token stops working, as if revoked. Like GitHub's per user/application limit.
 */
export const TOKENS_PER_USER_AND_CLIENT = 100;

/**
 * Authorization codes kept per user and application: creating one more deletes the oldest of the pair beyond this
 * number (an older code not yet exchanged then gets `invalid_grant`). Codes expired for longer than
 * CODE_RETENTION_SECONDS are deleted by the expiry-cleanup job (src/jobs/).
 */
export const CODES_PER_USER_AND_CLIENT = 100;
/** How long a code is kept after it expires, so a replay within that time still revokes its token (RFC 6749 §4.1.2). */
export const CODE_RETENTION_SECONDS = 86_400;
/** Expired codes (and expired web sessions) the expiry-cleanup job deletes per statement. */
export const EXPIRED_CODES_BATCH = 1000;

/** Website sessions (logins) kept per user: logging in once more ends the oldest beyond this number. */
export const SESSIONS_PER_USER = 20;

/** Subscriptions per user: E17 (`GET /user/subscriptions`) and GraphQL `viewer.subscriptions` return them all. */
export const SUBSCRIPTIONS_PER_USER = 1000;

/** Namespaces (first key) of the transaction-scoped advisory locks that make the count caps exact under concurrency. */
export const ADVISORY_LOCK = { appsOfOwner: 140_001, subscriptionsOfUser: 140_002 } as const;
