import { type HttpAnswer, isOtpError, thrownAnswer } from "@waotp/core";
import { APIError } from "better-auth/api";

/**
 * An answer of the core's HTTP contract as better-auth's error: the same status, headers (its
 * `Retry-After`) and body fields, flat as better-auth shapes them. `extra` joins the body (which
 * request field failed).
 */
export function apiError(answer: HttpAnswer, extra?: object): APIError {
  const { code, message, ...fields } = answer.body.error;
  return new APIError(
    answer.status as 400,
    { code, message, ...fields, ...extra },
    { ...answer.headers },
  );
}

/** Runs a core call, answering its `OtpError`s as the core's HTTP contract says. */
export async function core<T>(call: () => T | Promise<T>, extra?: object): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isOtpError(error)) throw error;
    throw apiError(thrownAnswer(error), extra);
  }
}
