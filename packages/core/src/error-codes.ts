/**
 * Stable error codes of `@waotp/core`, each with the HTTP status an adapter should answer with.
 * Callers switch on `error.code`; messages are for people and may change. `HTTP_ERRORS` (in
 * `http-errors.ts`) is the full table adapters answer from, with these statuses.
 */
export const ERROR_CODES = {
  /** Options given to a factory are missing or out of range. */
  CONFIG_INVALID: 500,
  /** An argument has the wrong type or shape (a code that is not digits, an unknown purpose). */
  INVALID_INPUT: 400,
  /** The phone number cannot be a real number. */
  INVALID_PHONE: 400,
  /** The phone number belongs to a country outside the configured allowlist. */
  COUNTRY_NOT_ALLOWED: 400,
  /**
   * The number is of a type codes are not sent to (`limits.refusedNumberTypes`: premium-rate,
   * shared-cost, pager, ...); `details.numberType` names it.
   */
  NUMBER_TYPE_NOT_ALLOWED: 400,
  /** A send limit (per phone, per IP, global) or the per-phone failure budget refused the call. */
  RATE_LIMITED: 429,
  /**
   * The send carried no client address and `limits.sendsPerIp.unknownIp` is `"refuse"`: the server
   * cannot tell clients apart (a proxy or IP setting is missing), so it sends nothing.
   */
  CLIENT_UNKNOWN: 403,
  /** The app's `beforeSend` refused the send; `details.reason` is its short reason code. */
  SEND_REFUSED: 403,
  /**
   * The app's `beforeSend` threw, or answered something other than nothing or `{ refuse }`: the
   * send is refused, since the check it stands for did not pass. The hook's error is the `cause`.
   */
  BEFORE_SEND_FAILED: 500,
  /** A send with the same idempotency key is still in flight. */
  IDEMPOTENCY_CONFLICT: 409,
  /** The channel (1MSG) did not accept the message. */
  SEND_FAILED: 502,
  /** The store failed or timed out; the call was refused rather than run without limits. */
  STORE_UNAVAILABLE: 503,
  /** A webhook body is not a delivery payload. */
  WEBHOOK_INVALID: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Why a verification did not succeed. These are results, not errors: a wrong code is an expected
 * outcome. The number is the HTTP status an adapter should answer with.
 */
export const VERIFY_FAILURE_STATUS = {
  /** The code does not match; `attemptsLeft` says how many guesses remain for this code. */
  INVALID_CODE: 400,
  /** The code's lifetime is over. */
  EXPIRED: 400,
  /** The code took too many wrong guesses, or the phone used up its failure budget. */
  TOO_MANY_ATTEMPTS: 429,
  /** No code is waiting for this phone and purpose (never sent, already used, or replaced). */
  NO_PENDING_CODE: 400,
} as const;

export type VerifyFailureReason = keyof typeof VERIFY_FAILURE_STATUS;
