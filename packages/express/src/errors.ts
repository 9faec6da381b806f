import { isOtpError } from "@waotp/core";
import type { ErrorRequestHandler, Response } from "express";
import { HTTP_ERROR_CODES, type HttpErrorCode } from "./error-codes.js";

/** The JSON error body: `{ error: { code, message, ...fields } }`. */
export interface ErrorBody {
  error: { code: string; message: string } & Record<string, unknown>;
}

/** Writes an error answer; every 429 gets a `Retry-After`. */
export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  const retryAfter = fields.retryAfter;
  if (status === 429)
    res.setHeader("Retry-After", String(typeof retryAfter === "number" ? retryAfter : 0));
  res.status(status).json({ error: { ...fields, code, message } } satisfies ErrorBody);
}

export function sendHttpError(
  res: Response,
  code: HttpErrorCode,
  message: string,
  fields?: Record<string, unknown>,
) {
  sendError(res, HTTP_ERROR_CODES[code], code, message, fields);
}

// A send whose message may still arrive: the client should wait for it, and may ask again later.
const UNCERTAIN_SEND =
  "The message was not confirmed, but it may still arrive: its code will work. If it does not, ask for a new code when retryAfter has passed.";

// What a client is told for failures on our side; the specifics are for the server's logs.
const PUBLIC_MESSAGES: Record<string, string> = {
  SEND_FAILED: "The code could not be sent right now. Try again in a moment.",
  STORE_UNAVAILABLE: "The service is briefly unavailable. Try again in a moment.",
  CONFIG_INVALID: "The service is not set up correctly.",
};

// body-parser's error types, mapped to our codes.
const BODY_ERRORS: Record<string, [HttpErrorCode, string]> = {
  "entity.parse.failed": ["INVALID_JSON", "The request body is not valid JSON."],
  "entity.too.large": ["PAYLOAD_TOO_LARGE", "The request body is too large."],
  "encoding.unsupported": [
    "UNSUPPORTED_MEDIA_TYPE",
    "The request body's encoding is not supported.",
  ],
  "charset.unsupported": ["UNSUPPORTED_MEDIA_TYPE", "The request body's charset is not supported."],
  "request.aborted": ["INVALID_BODY", "The request body was cut short."],
  "request.size.invalid": ["INVALID_BODY", "The request body does not match its length."],
  "body.not.object": ["INVALID_BODY", "The body must be a JSON object."],
};

export interface ErrorHandlerOptions {
  /** Sees every error that is answered with a 5xx, for logging. Never receives a code or token. */
  onError?: (error: unknown) => void;
}

/**
 * Answers `OtpError`s with their status and JSON body, body-parser failures (malformed JSON, wrong
 * encoding, oversized bodies) with a 4xx and a code, and anything else with a bare 500.
 */
export function otpErrorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    if (isOtpError(error)) {
      if (error.status >= 500) options.onError?.(error);
      const body = error.toJSON().error;
      const { code, message, ...fields } = body;
      const uncertain = fields.delivery === "unknown";
      const publicMessage = uncertain ? UNCERTAIN_SEND : PUBLIC_MESSAGES[code];
      // For failures on our side, keep only what a client can act on.
      const shown = publicMessage === undefined ? fields : pick(fields, ["retryAfter", "delivery"]);
      return sendError(res, error.status, code, publicMessage ?? message, shown);
    }
    const type = (error as { type?: unknown } | null)?.type;
    const known = typeof type === "string" ? BODY_ERRORS[type] : undefined;
    if (known !== undefined) return sendHttpError(res, known[0], known[1]);
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return sendError(res, status, "INVALID_BODY", "The request could not be read.");
    }
    options.onError?.(error);
    sendHttpError(res, "INTERNAL_ERROR", "Something went wrong on our side.");
  };
}

function pick(fields: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => keys.includes(key)));
}
