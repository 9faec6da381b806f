/**
 * What every provider client (1MSG, Twilio, Vonage) needs around `fetch`, written once: when a
 * failed call provably never left this machine (the one case a send may be tried again), how long
 * a `Retry-After` asks to wait, and reading an answer that may not be JSON.
 */

// Connection errors that mean the request never reached the provider, so trying again cannot send
// a second message.
const NEVER_LEFT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Rejected with by a call's own timer, to tell a timeout from a network failure. */
export const TIMED_OUT = Symbol("timed out");

/** The system error code behind a `fetch` failure (undici nests it in `cause` or `errors`). */
export function connectionErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const { code, errors, cause } = current as {
      code?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    if (typeof code === "string") return code;
    if (Array.isArray(errors) && errors.length > 0) {
      current = errors[0];
      continue;
    }
    current = cause;
  }
  return undefined;
}

/** Whether a failed call provably never reached the provider (a refused connection, no DNS, ...). */
export function neverLeft(code: string | undefined): boolean {
  return code !== undefined && NEVER_LEFT.has(code);
}

/** `Retry-After` as whole seconds or an HTTP date, in milliseconds; anything else is ignored. */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  const value = header?.trim() ?? "";
  if (/^\d{1,7}$/.test(value)) return Number(value) * 1000;
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) {
    return undefined;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The answer's JSON, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
