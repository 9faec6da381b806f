/**
 * What every provider client (1MSG, Twilio, Vonage) needs around its HTTP calls, written once: the
 * call itself with its deadline, when a failed call provably never left this machine (the one case
 * a send may be tried again), how long a `Retry-After` asks to wait, and reading an answer that may
 * not be JSON.
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";

// Connection errors that mean the request never reached the provider, so trying again cannot send
// a second message.
const NEVER_LEFT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Thrown by `timedFetch` when the provider did not answer in time (not a network failure). */
export const TIMED_OUT = Symbol("timed out");

/** A provider's answer, read whole. */
export interface ProviderAnswer {
  status: number;
  /** The `Retry-After` header, as sent. */
  retryAfter: string | null;
  text: string;
}

/** One request to a provider: every client sends a text body (JSON or a form) or none. */
export interface ProviderRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** The largest answer a provider call reads; a bigger one fails the call like a broken connection. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * One call, answered within `limitMs` or rejected with `TIMED_OUT`. Without a `fetch` of the app's,
 * the call goes through Node's own HTTP client (keep-alive connections of Node's global agents),
 * which costs several times less CPU per call than the global `fetch`: a send is mostly this call.
 * With one, the timer is raced against it too, so the deadline holds even for a `fetch` that
 * ignores the abort signal. Any other rejection is the transport's failure itself (see
 * `connectionErrorCode`).
 */
export async function timedFetch(
  doFetch: typeof fetch | undefined,
  url: string,
  init: ProviderRequest,
  limitMs: number,
): Promise<ProviderAnswer> {
  if (doFetch === undefined) return nodeCall(url, init, limitMs);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(TIMED_OUT);
    }, limitMs);
  });
  const exchange = (async () => {
    const response = await doFetch(url, { ...init, signal: controller.signal });
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      text: await response.text(),
    };
  })();
  exchange.catch(() => {});
  try {
    return await Promise.race([exchange, timedOut]);
  } catch (error) {
    throw controller.signal.aborted ? TIMED_OUT : error;
  } finally {
    clearTimeout(timer);
  }
}

/** `timedFetch` over `node:http`/`node:https`: the whole answer within `limitMs`, or `TIMED_OUT`. */
function nodeCall(url: string, init: ProviderRequest, limitMs: number): Promise<ProviderAnswer> {
  return new Promise<ProviderAnswer>((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    let done = false;
    const settle = (outcome: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      outcome();
    };
    const answered = (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          call.destroy();
          settle(() => reject(new Error("The provider's answer is too large.")));
        } else chunks.push(chunk);
      });
      response.on("end", () =>
        settle(() => {
          const retryAfter = response.headers["retry-after"];
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            text: Buffer.concat(chunks).toString("utf8"),
          });
        }),
      );
      response.on("error", (error) => settle(() => reject(error)));
      // Closed before the whole answer came: the connection broke after the request went out.
      response.on("close", () => {
        if (!response.complete) {
          settle(() => reject(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })));
        }
      });
    };
    // Looked up on each call, so whatever instruments Node's client (tracing, test interceptors) sees it.
    const call = (target.protocol === "https:" ? https : http).request(
      target,
      { method: init.method, headers },
      answered,
    );
    const timer = setTimeout(() => {
      call.destroy();
      settle(() => reject(TIMED_OUT));
    }, limitMs);
    call.on("error", (error) => settle(() => reject(error)));
    call.end(init.body);
  });
}

/** The system error code behind a failed call (Node's on the error, undici's in `cause` or `errors`). */
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

/** How a provider client tries again a call that is safe to repeat; each channel documents its defaults. */
export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts?: number;
  /** First backoff, doubled each retry, then jittered. */
  baseDelayMs?: number;
  /** Longest backoff, also the longest `Retry-After` honoured inside one call. */
  maxDelayMs?: number;
}

/** The wait before try `attempt + 1`: doubling from `baseDelayMs` up to `maxDelayMs`, half of it jittered. */
export function backoffDelay(
  attempt: number,
  delays: { baseDelayMs: number; maxDelayMs: number },
  random: () => number,
): number {
  const ceiling = Math.min(delays.maxDelayMs, delays.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `value` as an http(s) URL without trailing slashes, or undefined when it is not one. */
export function httpUrl(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
  return parsed.toString().replace(/\/+$/, "");
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
