import { ERROR_CODES, type ErrorCode } from "./error-codes.js";

export interface OtpErrorOptions {
  /** Seconds after which the same call may succeed (rate limits). */
  retryAfter?: number;
  /** Extra fields safe to show a client (never a code, hash or token). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error class of waotp. `code` is stable and `status` is the HTTP status an adapter should
 * answer with. Messages never contain a code, a hash, a token or a full phone number.
 */
export class OtpError extends Error {
  override readonly name = "OtpError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: OtpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code];
    this.retryAfter = options.retryAfter;
    this.details = options.details;
  }

  /** The JSON body adapters send: `{ error: { code, message, retryAfter?, ...details } }`. */
  toJSON(): { error: { code: ErrorCode; message: string } & Record<string, unknown> } {
    return {
      error: {
        ...this.details,
        code: this.code,
        message: this.message,
        ...(this.retryAfter === undefined ? {} : { retryAfter: this.retryAfter }),
      },
    };
  }
}

/** True for an `OtpError`, also across duplicated copies of this package. */
export function isOtpError(value: unknown): value is OtpError {
  if (value instanceof OtpError) return true;
  if (!(value instanceof Error) || value.name !== "OtpError") return false;
  const code: unknown = (value as { code?: unknown }).code;
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}
