import {
  errorAnswer,
  type HttpAnswer,
  type HttpErrorBody,
  type HttpErrorCode,
  type HttpOk,
  thrownAnswer,
} from "@waotp/core";
import type { ErrorRequestHandler, Response } from "express";

/** The JSON error body: `{ error: { code, message, ...fields } }` (the core's `HttpErrorBody`). */
export type ErrorBody = HttpErrorBody;

/** Writes an answer of the core's HTTP contract: its status, its headers, its body as JSON. */
export function sendAnswer(res: Response, answer: HttpAnswer | HttpOk<unknown>): void {
  const { headers } = answer;
  for (const name in headers) res.setHeader(name, headers[name] as string);
  res.status(answer.status).json(answer.body);
}

// body-parser's error types, as the core's codes; the status and message come from the core's table.
const BODY_ERRORS: ReadonlyMap<unknown, HttpErrorCode> = new Map([
  ["entity.parse.failed", "INVALID_JSON"],
  ["entity.too.large", "PAYLOAD_TOO_LARGE"],
  ["encoding.unsupported", "UNSUPPORTED_MEDIA_TYPE"],
  ["charset.unsupported", "UNSUPPORTED_MEDIA_TYPE"],
  ["request.aborted", "INVALID_BODY"],
  ["request.size.invalid", "INVALID_BODY"],
  ["body.not.object", "INVALID_BODY"],
]);

export interface ErrorHandlerOptions {
  /** Sees every error that is answered with a 5xx, for logging. Never receives a code or token. */
  onError?: (error: unknown) => void;
}

/**
 * Answers what a route throws as the core's HTTP contract says (`thrownAnswer`): `OtpError`s by
 * their code, with a 5xx's details hidden; body-parser failures (malformed JSON, wrong encoding,
 * oversized bodies) with their 4xx code; anything else with a bare 500.
 */
export function otpErrorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    const known = BODY_ERRORS.get((error as { type?: unknown } | null)?.type);
    const answer = known === undefined ? thrownAnswer(error) : errorAnswer(known);
    if (answer.status >= 500) options.onError?.(error);
    sendAnswer(res, answer);
  };
}
