// The Node-free table: the browser client loads this module too.
import { HTTP_ERRORS } from "@waotp/core/http-errors";

/** An error code as better-auth lists them in `$ERROR_CODES`. */
export interface RawErrorCode {
  code: string;
  message: string;
  toString(): string;
}

/**
 * The codes the plugin answers: the core's, the verify reasons, the account codes, and the webhook
 * and status routes' own. Which code means what status and message is the core's `HTTP_ERRORS`.
 */
export const PLUGIN_CODES = [
  "CONFIG_INVALID",
  "INVALID_INPUT",
  "INVALID_PHONE",
  "COUNTRY_NOT_ALLOWED",
  "NUMBER_TYPE_NOT_ALLOWED",
  "RATE_LIMITED",
  "SEND_REFUSED",
  "BEFORE_SEND_FAILED",
  "CLIENT_UNKNOWN",
  "IDEMPOTENCY_CONFLICT",
  "SEND_FAILED",
  "STORE_UNAVAILABLE",
  "WEBHOOK_INVALID",
  "INVALID_CODE",
  "EXPIRED",
  "TOO_MANY_ATTEMPTS",
  "NO_PENDING_CODE",
  "USER_NOT_FOUND",
  "PHONE_NUMBER_EXIST",
  "CURRENT_PHONE_PROOF_REQUIRED",
  "UNAUTHORIZED",
  "NOT_FOUND",
  "INTERNAL_ERROR",
] as const satisfies readonly (keyof typeof HTTP_ERRORS)[];

export type PluginErrorCode = (typeof PLUGIN_CODES)[number];

/** Error codes of the WhatsApp OTP plugin, as the client sees them in `error.code`. */
export const WHATSAPP_OTP_ERROR_CODES = Object.fromEntries(
  PLUGIN_CODES.map((code) => [
    code,
    { code, message: HTTP_ERRORS[code].message, toString: () => code },
  ]),
) as { [C in PluginErrorCode]: RawErrorCode };
