import {
  errorAnswer,
  type HttpAnswer,
  type HttpErrorBody,
  type HttpErrorCode,
  type HttpOk,
  isOtpError,
  thrownAnswer,
} from "@waotp/core";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/** The JSON error body: `{ error: { code, message, ...fields } }` (the core's `HttpErrorBody`). */
export type ErrorBody = HttpErrorBody;

/** Writes an answer of the core's HTTP contract: its status, its headers, its body as JSON. */
export function sendAnswer(
  reply: FastifyReply,
  answer: HttpAnswer | HttpOk<unknown>,
): FastifyReply {
  const { headers } = answer;
  for (const name in headers) reply.header(name, headers[name] as string);
  return reply.code(answer.status).send(answer.body);
}

/** Marks an error of reading the body with the contract's code for it. */
export const BODY_ERROR: unique symbol = Symbol("waotp.bodyError");

/** An error of reading a body, answered with `code`. */
export function bodyError(code: HttpErrorCode, message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, [BODY_ERROR]: code });
}

// Fastify's errors of reading and checking a body, as the core's codes; the status and message come
// from the core's table.
const FASTIFY_ERRORS: ReadonlyMap<unknown, HttpErrorCode> = new Map([
  ["FST_ERR_CTP_INVALID_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE"],
  ["FST_ERR_CTP_BODY_TOO_LARGE", "PAYLOAD_TOO_LARGE"],
  ["FST_ERR_CTP_INVALID_CONTENT_LENGTH", "INVALID_BODY"],
  ["FST_ERR_CTP_EMPTY_JSON_BODY", "INVALID_JSON"],
  ["FST_ERR_CTP_INVALID_JSON_BODY", "INVALID_JSON"],
  ["FST_ERR_VALIDATION", "INVALID_BODY"],
]);

export interface ErrorHandlerOptions {
  /** Sees every error that is answered with a 5xx, for logging. Never receives a code or token. */
  onError?: (error: unknown) => void;
}

/** The contract's answer for anything a route or Fastify itself threw. */
export function answerFor(error: unknown): HttpAnswer {
  const fields = (error ?? {}) as Partial<FastifyError> & { [BODY_ERROR]?: HttpErrorCode };
  const known =
    fields[BODY_ERROR] ??
    FASTIFY_ERRORS.get(fields.code) ??
    (Array.isArray(fields.validation) ? "INVALID_BODY" : undefined);
  if (known !== undefined) return errorAnswer(known);
  // Fastify's own errors name their status as `statusCode`; the core reads `status`.
  const { statusCode } = fields;
  if (!isOtpError(error) && typeof statusCode === "number" && !("status" in fields)) {
    return thrownAnswer({ status: statusCode });
  }
  return thrownAnswer(error);
}

/**
 * An error handler (`fastify.setErrorHandler(otpErrorHandler())`) answering what a route throws as
 * the core's HTTP contract says (`thrownAnswer`): `OtpError`s by their code, with a 5xx's details
 * hidden; Fastify's body errors (malformed JSON, wrong content type, oversized bodies, failed schema
 * validation) with their 4xx code; anything else with a bare 500. The plugin sets it on its routes.
 */
export function otpErrorHandler(
  options: ErrorHandlerOptions = {},
): (error: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (error, _request, reply) => {
    const answer = answerFor(error);
    if (answer.status >= 500) options.onError?.(error);
    return sendAnswer(reply, answer);
  };
}
