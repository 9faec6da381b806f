/** An error code as better-auth lists them in `$ERROR_CODES`. */
export interface RawErrorCode {
  code: string;
  message: string;
  toString(): string;
}

function define<T extends Record<string, string>>(codes: T): { [K in keyof T]: RawErrorCode } {
  return Object.fromEntries(
    Object.entries(codes).map(([code, message]) => [code, { code, message, toString: () => code }]),
  ) as { [K in keyof T]: RawErrorCode };
}

/**
 * Error codes of the WhatsApp OTP plugin: the core's codes, plus the ones about users. The client
 * sees them as `error.code`.
 */
export const WHATSAPP_OTP_ERROR_CODES = define({
  INVALID_PHONE: "The phone number is not valid",
  COUNTRY_NOT_ALLOWED: "Codes cannot be sent to this country",
  INVALID_INPUT: "The request has a field of the wrong type or shape",
  RATE_LIMITED: "Too many codes were requested; try again later",
  CLIENT_UNKNOWN:
    "The server cannot tell this client's address, so it sends no code (its better-auth advanced.ipAddress setting is missing)",
  IDEMPOTENCY_CONFLICT: "The same request is already being sent",
  SEND_FAILED: "The code could not be sent right now",
  STORE_UNAVAILABLE: "The service is briefly unavailable",
  CONFIG_INVALID: "The service is not set up correctly",
  WEBHOOK_INVALID: "The webhook body is not a delivery payload",
  INVALID_CODE: "The code is not right",
  EXPIRED: "The code has expired",
  TOO_MANY_ATTEMPTS: "Too many wrong codes",
  NO_PENDING_CODE: "No code is waiting for this number",
  PHONE_NUMBER_EXIST: "This phone number belongs to another account",
  CURRENT_PHONE_PROOF_REQUIRED:
    "Changing the phone number needs a code sent to the current number (currentCode) or the account password (currentPassword)",
  USER_NOT_FOUND: "No account uses this phone number",
  UNAUTHORIZED: "The webhook secret is wrong",
  NOT_FOUND: "No message with this id is known",
});
