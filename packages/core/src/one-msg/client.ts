/**
 * The HTTP client for the 1MSG API. Over 300 lines because the retry rule (what may be tried again
 * without sending a message twice), the timeout and the reading of 1MSG's error answers are one
 * decision about one request, and are kept where a reader sees them together.
 */
import { OtpError } from "../errors.js";
import {
  backoffDelay,
  connectionErrorCode,
  httpUrl,
  isRecord,
  neverLeft,
  type ProviderAnswer,
  parseJson,
  type RetryOptions,
  retryAfterMs,
  sleep,
  TIMED_OUT,
  timedFetch,
} from "../provider-http.js";
import { OneMsgError, type OneMsgErrorFields, type OneMsgFailure, redact } from "./errors.js";

export const DEFAULT_BASE_URL = "https://api.1msg.io";

export interface OneMsgClientOptions {
  /** The channel (instance) id from the 1MSG dashboard. */
  channelId: string;
  /** The channel's API token. Sent in exactly one place and never logged. */
  token: string;
  /** @default "https://api.1msg.io" */
  baseUrl?: string;
  /** Where the token travels: `Authorization: Bearer` or the `token` query parameter. @default "bearer" */
  auth?: "bearer" | "query";
  /**
   * A `fetch` to make the calls with (a proxy, a test double). @default Node's own HTTP client, which
   * costs less CPU per call than the global `fetch`
   */
  fetch?: typeof fetch;
  /** Time allowed for one call, answer included. @default 10000 */
  timeoutMs?: number;
  /**
   * Retries of calls that are safe to repeat; `false` for a single try.
   * @default { attempts: 3, baseDelayMs: 300, maxDelayMs: 5000 }
   */
  retry?: RetryOptions | false;
  /** Random number in [0, 1) for backoff jitter. @default Math.random */
  random?: () => number;
}

export interface RequestOptions {
  method: "GET" | "POST";
  /** Path after the channel id, such as `sendTemplate`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Epoch ms after which no try starts and no wait reaches. */
  deadline?: number;
  /** Values to scrub from anything 1MSG says back, besides the token. */
  secrets?: readonly string[];
  /**
   * The call sends a message (`sendTemplate`). A 5xx, a timeout or a connection lost mid-call may
   * come after 1MSG took the message, so such a call is never tried again: only a refused connection
   * or a 429 (1MSG did not take it) is. The error then says the message may still arrive.
   * @default false
   */
  sendsMessage?: boolean;
}

export interface OneMsgResponse {
  status: number;
  /** The JSON body when it is an object; `{}` when it is another JSON value (see `json`). */
  data: Record<string, unknown>;
  /** The JSON body as parsed, whatever its shape (some listings answer a bare array). */
  json: unknown;
}

export interface OneMsgClient {
  readonly channelId: string;
  readonly baseUrl: string;
  request(options: RequestOptions): Promise<OneMsgResponse>;
}

/**
 * A small client for the 1MSG API: the token in exactly one place, a timeout on every call, and
 * retries only where a retry cannot send a second message: a refused connection or a 429 for any
 * call, and a 5xx only for calls that send nothing (a send's 5xx may come after 1MSG took it).
 */
export function createOneMsgClient(options: OneMsgClientOptions): OneMsgClient {
  const channelId = readChannelId(options.channelId);
  const token = requiredString(options.token, "token", "ONEMSG_TOKEN");
  const baseUrl = readBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
  const auth = options.auth ?? "bearer";
  if (auth !== "bearer" && auth !== "query") {
    throw new OtpError("CONFIG_INVALID", '`auth` must be "bearer" or "query".');
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000) {
    throw new OtpError("CONFIG_INVALID", "`timeoutMs` must be a whole number from 1 to 120000.");
  }
  const retry = options.retry === false ? { attempts: 1 } : (options.retry ?? {});
  const attempts = retry.attempts ?? 3;
  const baseDelayMs = retry.baseDelayMs ?? 300;
  const maxDelayMs = retry.maxDelayMs ?? 5000;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 3) {
    throw new OtpError("CONFIG_INVALID", "`retry.attempts` must be 1, 2 or 3.");
  }
  const doFetch = options.fetch;
  const random = options.random ?? Math.random;

  function url(path: string, query: Record<string, string> = {}): string {
    const target = new URL(`${baseUrl}/${encodeURIComponent(channelId)}/${path}`);
    for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
    if (auth === "query") target.searchParams.set("token", token);
    return target.toString();
  }

  const backoff = (attempt: number) => backoffDelay(attempt, { baseDelayMs, maxDelayMs }, random);

  async function request(req: RequestOptions): Promise<OneMsgResponse> {
    const secrets = [token, ...(req.secrets ?? [])];
    const deadline = req.deadline ?? Number.POSITIVE_INFINITY;
    const fail = (reason: OneMsgFailure, message: string, fields: OneMsgErrorFields = {}) =>
      new OneMsgError(reason, redact(message, secrets, 1000), {
        ...fields,
        ...(fields.providerMessage === undefined
          ? {}
          : { providerMessage: redact(fields.providerMessage, secrets) }),
      });

    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) throw fail("timeout", "The code's lifetime ran out before 1MSG answered.");
      const limit = Math.min(timeoutMs, left);
      let answer: ProviderAnswer;
      try {
        answer = await timedFetch(
          doFetch,
          url(req.path, req.query),
          {
            method: req.method,
            headers: {
              accept: "application/json",
              ...(req.body === undefined ? {} : { "content-type": "application/json" }),
              ...(auth === "bearer" ? { authorization: `Bearer ${token}` } : {}),
            },
            ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
          },
          limit,
        );
      } catch (error) {
        if (error === TIMED_OUT) {
          throw fail(
            "timeout",
            `1MSG did not answer within ${limit} ms.${req.sendsMessage ? MAY_ARRIVE : ""}`,
            { uncertain: req.sendsMessage === true },
          );
        }
        const code = connectionErrorCode(error);
        const wait = backoff(attempt);
        // Nothing left this machine, so another try cannot send twice.
        if (
          code !== undefined &&
          neverLeft(code) &&
          attempt < attempts &&
          Date.now() + wait < deadline
        ) {
          await sleep(wait);
          continue;
        }
        // A connection that broke after the request went out may have carried it.
        const unsent = neverLeft(code);
        const uncertain = req.sendsMessage === true && !unsent;
        throw fail(
          "network",
          `Could not reach 1MSG at ${baseUrl}${code ? ` (${code})` : ""}.${uncertain ? MAY_ARRIVE : ""}`,
          { uncertain },
        );
      }
      const { status, retryAfter: retryAfterHeader, text } = answer;

      const json = parseJson(text);
      const data = isRecord(json) ? json : undefined;
      const said = providerMessage(data, text);
      if (status >= 200 && status < 300) {
        if (json === undefined) {
          throw fail(
            "invalid_response",
            `1MSG answered HTTP ${status} with a body that is not JSON.${req.sendsMessage ? MAY_ARRIVE : ""}`,
            { httpStatus: status, providerMessage: text, uncertain: req.sendsMessage === true },
          );
        }
        return { status, data: data ?? {}, json };
      }
      const fields = {
        httpStatus: status,
        ...(said === undefined ? {} : { providerMessage: said }),
      };
      const detail = said === undefined ? "" : ` 1MSG said: ${said}`;
      if (status === 403) {
        throw fail(
          "forbidden",
          `1MSG refused access to channel ${channelId} (HTTP 403): a channel on trial or with a blocked subscription answers so. Check the channel's plan and payment in the 1MSG dashboard.${detail}`,
          fields,
        );
      }
      if (status === 401) {
        throw fail(
          "unauthorized",
          `1MSG refused the token for channel ${channelId} (HTTP ${status}). Check the \`token\` option (ONEMSG_TOKEN) and that it belongs to this channel (ONEMSG_CHANNEL_ID).${detail}`,
          fields,
        );
      }
      if (status === 429 || status >= 500) {
        const waitMs =
          status === 429 ? (retryAfterMs(retryAfterHeader) ?? backoff(attempt)) : backoff(attempt);
        const fits = waitMs <= maxDelayMs && Date.now() + waitMs < deadline;
        // 1MSG may have taken a message it then failed to confirm: never send it twice.
        const uncertain = status >= 500 && req.sendsMessage === true;
        if (attempt < attempts && fits && !uncertain) {
          await sleep(waitMs);
          continue;
        }
        if (status === 429) {
          throw fail("rate_limited", `1MSG is rate limiting this channel (HTTP 429).${detail}`, {
            ...fields,
            retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
          });
        }
        if (uncertain) {
          throw fail(
            "server_error",
            `1MSG failed with HTTP ${status}, possibly after taking the message.${MAY_ARRIVE}${detail}`,
            { ...fields, uncertain },
          );
        }
        throw fail(
          "server_error",
          `1MSG failed with HTTP ${status} after ${attempt} ${attempt === 1 ? "try" : "tries"}.${detail}`,
          fields,
        );
      }
      if (status === 422) {
        throw fail(
          "rejected",
          `1MSG refused the message (HTTP 422). Check the template name, namespace and language (ONEMSG_TEMPLATE, ONEMSG_NAMESPACE, ONEMSG_LANGUAGE) and that the template has exactly one body variable and a copy-code button.${detail}`,
          fields,
        );
      }
      if (status === 404) {
        throw fail(
          "rejected",
          `1MSG does not know this endpoint (HTTP 404). Check the channel id (ONEMSG_CHANNEL_ID) and the base URL (ONEMSG_API_URL).${detail}`,
          fields,
        );
      }
      throw fail("rejected", `1MSG refused the request (HTTP ${status}).${detail}`, fields);
    }
  }

  return { channelId, baseUrl, request };
}

/** Said of a send whose outcome is unknown. */
export const MAY_ARRIVE =
  " The message may still arrive, and its code will work, so it was not sent again.";

/**
 * What 1MSG said, from the shapes its errors come in: `{ message }`, `{ error: "..." }`,
 * `{ error: { message } }`. Whole: redact it before showing it.
 */
export function providerMessage(
  data: Record<string, unknown> | undefined,
  text: string,
): string | undefined {
  if (data === undefined) return text.trim() === "" ? undefined : text.trim();
  const { message, error, description } = data;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const inner = (error as Record<string, unknown>).message;
    if (typeof inner === "string") return inner;
  }
  if (typeof message === "string") return message;
  if (typeof description === "string") return description;
  return undefined;
}

function requiredString(value: unknown, name: string, variable: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new OtpError(
      "CONFIG_INVALID",
      `\`${name}\` is required (${variable}); copy it from the 1MSG dashboard.`,
    );
  }
  return value.trim();
}

/**
 * The channel id as 1MSG's URLs take it: dashboards and tokens sometimes show it as `instance12345`,
 * while the API path wants `12345`.
 */
function readChannelId(value: unknown): string {
  const id = requiredString(value, "channelId", "ONEMSG_CHANNEL_ID");
  return /^instance\d+$/i.test(id) ? id.slice("instance".length) : id;
}

function readBaseUrl(value: string): string {
  const url = httpUrl(value);
  if (url === undefined) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`baseUrl` (ONEMSG_API_URL) must be an http(s) URL such as https://api.1msg.io.",
    );
  }
  return url;
}
