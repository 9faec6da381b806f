/**
 * The one table of every error code an adapter answers (Express, better-auth, Passport, and the
 * handlers to come), with its HTTP status and the message a client sees. Adapters look codes up
 * here; none keeps its own list. This file imports nothing with side effects or Node built-ins, so
 * a browser bundle (better-auth's client plugin) can carry it.
 */
import { ERROR_CODES, type ErrorCode, VERIFY_FAILURE_STATUS } from "./error-codes.js";

export interface HttpErrorInfo {
  readonly status: number;
  /** What a client is told. For a 4xx `OtpError` the error's own message is shown instead. */
  readonly message: string;
}

/** Every code an adapter answers: the core's error codes, the verify reasons, and HTTP's own. */
export const HTTP_ERRORS = {
  // The core's error codes (`ERROR_CODES`).
  CONFIG_INVALID: {
    status: ERROR_CODES.CONFIG_INVALID,
    message: "The service is not set up correctly.",
  },
  INVALID_INPUT: {
    status: ERROR_CODES.INVALID_INPUT,
    message: "A field of the request has the wrong type or shape.",
  },
  INVALID_PHONE: { status: ERROR_CODES.INVALID_PHONE, message: "The phone number is not valid." },
  COUNTRY_NOT_ALLOWED: {
    status: ERROR_CODES.COUNTRY_NOT_ALLOWED,
    message: "Codes cannot be sent to numbers in this country.",
  },
  NUMBER_TYPE_NOT_ALLOWED: {
    status: ERROR_CODES.NUMBER_TYPE_NOT_ALLOWED,
    message: "Codes cannot be sent to this kind of number.",
  },
  RATE_LIMITED: {
    status: ERROR_CODES.RATE_LIMITED,
    message: "Too many codes were asked for. Try again later.",
  },
  CLIENT_UNKNOWN: {
    status: ERROR_CODES.CLIENT_UNKNOWN,
    message: "The server cannot tell this client's address, so it sends no code.",
  },
  SEND_REFUSED: {
    status: ERROR_CODES.SEND_REFUSED,
    message: "The request for a code was refused.",
  },
  BEFORE_SEND_FAILED: {
    status: ERROR_CODES.BEFORE_SEND_FAILED,
    message: "The request could not be checked right now. Try again in a moment.",
  },
  IDEMPOTENCY_CONFLICT: {
    status: ERROR_CODES.IDEMPOTENCY_CONFLICT,
    message: "The same request is already being sent.",
  },
  SEND_FAILED: {
    status: ERROR_CODES.SEND_FAILED,
    message: "The code could not be sent right now. Try again in a moment.",
  },
  STORE_UNAVAILABLE: {
    status: ERROR_CODES.STORE_UNAVAILABLE,
    message: "The service is briefly unavailable. Try again in a moment.",
  },
  WEBHOOK_INVALID: {
    status: ERROR_CODES.WEBHOOK_INVALID,
    message: "The webhook body is not a delivery payload.",
  },
  // Why a verification failed (`VERIFY_FAILURE_STATUS`).
  INVALID_CODE: { status: VERIFY_FAILURE_STATUS.INVALID_CODE, message: "The code is not right." },
  EXPIRED: {
    status: VERIFY_FAILURE_STATUS.EXPIRED,
    message: "The code has expired. Ask for a new one.",
  },
  TOO_MANY_ATTEMPTS: {
    status: VERIFY_FAILURE_STATUS.TOO_MANY_ATTEMPTS,
    message: "Too many wrong codes. Ask for a new code later.",
  },
  NO_PENDING_CODE: {
    status: VERIFY_FAILURE_STATUS.NO_PENDING_CODE,
    message: "There is no code waiting for this number. Ask for a new one.",
  },
  // What only HTTP can get wrong.
  /** The body is not valid JSON. */
  INVALID_JSON: { status: 400, message: "The request body is not valid JSON." },
  /** The body could not be read, or is JSON but not an object. */
  INVALID_BODY: { status: 400, message: "The request body could not be read as a JSON object." },
  /** The request is not `application/json` in UTF-8. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Send the body as application/json (UTF-8)." },
  /** The body is over the adapter's limit. */
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large." },
  /** The webhook URL's secret is wrong. */
  UNAUTHORIZED: { status: 401, message: "The webhook secret is wrong." },
  /** A route needs a recent verification that the request does not carry. */
  STEP_UP_REQUIRED: { status: 401, message: "Verify your phone again to continue." },
  /** The app refused the user after a right code. */
  VERIFICATION_REFUSED: { status: 403, message: "This account cannot sign in." },
  /** An unknown message id (or one another client asked for). */
  NOT_FOUND: { status: 404, message: "No message with this id is known." },
  /** Anything unexpected; the details stay on the server. */
  INTERNAL_ERROR: { status: 500, message: "Something went wrong on our side." },
  // Accounts, for adapters that find or create users by phone.
  /** The code proved the phone, but no account uses it (and none is created). */
  USER_NOT_FOUND: { status: 400, message: "No account uses this phone number." },
  /** The phone proved belongs to another account. */
  PHONE_NUMBER_EXIST: { status: 400, message: "This phone number belongs to another account." },
  /** Moving an account's phone needs proof from its current one (a code) or the password. */
  CURRENT_PHONE_PROOF_REQUIRED: {
    status: 403,
    message:
      "Changing the phone number needs a code sent to the current number, or the account's password.",
  },
} as const satisfies {
  [C in ErrorCode | keyof typeof VERIFY_FAILURE_STATUS]: HttpErrorInfo;
} & Record<string, HttpErrorInfo>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** Whether `value` is a code of `HTTP_ERRORS`. */
export function isHttpErrorCode(value: unknown): value is HttpErrorCode {
  return typeof value === "string" && Object.hasOwn(HTTP_ERRORS, value);
}
