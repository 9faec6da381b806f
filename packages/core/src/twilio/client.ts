/**
 * The HTTP client for Twilio's REST API (2010-04-01). The retry rule, the timeout and the reading of
 * Twilio's error answers are one decision about one request, and are kept together, as in the 1MSG
 * client: a call that sends a message is tried again only when Twilio provably did not take it.
 */
import { OtpError } from "../errors.js";
import { redact } from "../one-msg/errors.js";
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
import { TWILIO_ERROR_CODES } from "./codes.js";
import { TwilioError, type TwilioErrorFields, type TwilioFailure } from "./errors.js";

export const TWILIO_API_URL = "https://api.twilio.com";

export interface TwilioClientOptions {
  /** The account's SID, `AC` and 32 hex digits (TWILIO_ACCOUNT_SID). */
  accountSid: string;
  /** The account's auth token (TWILIO_AUTH_TOKEN). Give this, or `apiKey` and `apiSecret`. */
  authToken?: string;
  /** An API key's SID, `SK...` (TWILIO_API_KEY), with its secret (TWILIO_API_SECRET). */
  apiKey?: string;
  apiSecret?: string;
  /** @default "https://api.twilio.com" */
  baseUrl?: string;
  /** A `fetch` to make the calls with. @default Node's own HTTP client (see `oneMsg`) */
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

export interface TwilioRequest {
  method: "GET" | "POST";
  /** Path under `/2010-04-01/Accounts/{AccountSid}/`, such as `Messages.json`. */
  path: string;
  /** Form fields for a POST (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  /** Epoch ms after which no try starts and no wait reaches. */
  deadline?: number;
  /** Values to scrub from anything Twilio says back, besides the credentials. */
  secrets?: readonly string[];
  /** The call sends a message: a 5xx, a timeout or a broken connection is then never retried. */
  sendsMessage?: boolean;
}

export interface TwilioClient {
  readonly accountSid: string;
  readonly baseUrl: string;
  request(req: TwilioRequest): Promise<{ status: number; data: Record<string, unknown> }>;
}

/** Said of a send whose outcome is unknown. */
export const MAY_ARRIVE =
  " The message may still arrive, and its code will work, so it was not sent again.";

/** A small client for Twilio's REST API: HTTP Basic auth, a timeout on every call, safe retries. */
export function createTwilioClient(options: TwilioClientOptions): TwilioClient {
  const accountSid = readSid(options.accountSid, "AC", "accountSid", "TWILIO_ACCOUNT_SID");
  const { username, password } = readCredentials(options);
  const baseUrl = readBaseUrl(options.baseUrl ?? TWILIO_API_URL);
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
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const credentialSecrets = [password, authorization.slice(6)];

  const backoff = (attempt: number) => backoffDelay(attempt, { baseDelayMs, maxDelayMs }, random);

  async function request(req: TwilioRequest) {
    const secrets = [...credentialSecrets, ...(req.secrets ?? [])];
    const deadline = req.deadline ?? Number.POSITIVE_INFINITY;
    const sends = req.sendsMessage === true;
    const fail = (reason: TwilioFailure, message: string, fields: TwilioErrorFields = {}) =>
      new TwilioError(reason, redact(message, secrets, 1000), {
        ...fields,
        ...(fields.providerMessage === undefined
          ? {}
          : { providerMessage: redact(fields.providerMessage, secrets) }),
      });
    const url = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/${req.path}`;

    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) throw fail("timeout", "The code's lifetime ran out before Twilio answered.");
      const limit = Math.min(timeoutMs, left);
      let answer: ProviderAnswer;
      try {
        answer = await timedFetch(
          doFetch,
          url,
          {
            method: req.method,
            headers: {
              accept: "application/json",
              authorization,
              ...(req.form === undefined
                ? {}
                : { "content-type": "application/x-www-form-urlencoded" }),
            },
            ...(req.form === undefined ? {} : { body: new URLSearchParams(req.form).toString() }),
          },
          limit,
        );
      } catch (error) {
        if (error === TIMED_OUT) {
          throw fail(
            "timeout",
            `Twilio did not answer within ${limit} ms.${sends ? MAY_ARRIVE : ""}`,
            {
              uncertain: sends,
            },
          );
        }
        const code = connectionErrorCode(error);
        const unsent = neverLeft(code);
        const wait = backoff(attempt);
        if (unsent && attempt < attempts && Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
        // A connection that broke after the request went out may have carried it.
        const uncertain = sends && !unsent;
        throw fail(
          "network",
          `Could not reach Twilio at ${baseUrl}${code ? ` (${code})` : ""}.${uncertain ? MAY_ARRIVE : ""}`,
          { uncertain },
        );
      }

      const { status, text } = answer;
      const json = parseJson(text);
      const data = isRecord(json) ? json : undefined;
      if (status >= 200 && status < 300) {
        if (data === undefined) {
          throw fail(
            "invalid_response",
            `Twilio answered HTTP ${status} with a body that is not a JSON object.${sends ? MAY_ARRIVE : ""}`,
            { httpStatus: status, providerMessage: text, uncertain: sends },
          );
        }
        return { status, data };
      }

      // Twilio's error answer: { code, message, more_info, status }.
      const twilioCode = typeof data?.code === "number" ? data.code : undefined;
      const said =
        typeof data?.message === "string" ? data.message : text.trim() === "" ? undefined : text;
      const fields: TwilioErrorFields = {
        httpStatus: status,
        ...(twilioCode === undefined ? {} : { twilioCode }),
        ...(said === undefined ? {} : { providerMessage: said }),
      };
      const known = twilioCode === undefined ? undefined : TWILIO_ERROR_CODES[twilioCode];
      const label = `HTTP ${status}${twilioCode === undefined ? "" : `, Twilio error ${twilioCode}`}`;
      const detail = said === undefined ? "" : ` Twilio said: ${said}`;

      if (status === 429 || status >= 500 || known?.reason === "rate_limited") {
        const limited = status === 429 || known?.reason === "rate_limited";
        const waitMs = limited
          ? (retryAfterMs(answer.retryAfter) ?? backoff(attempt))
          : backoff(attempt);
        const fits = waitMs <= maxDelayMs && Date.now() + waitMs < deadline;
        // Twilio may have taken a message it then failed to confirm: never send it twice.
        const uncertain = !limited && sends;
        if (attempt < attempts && fits && !uncertain) {
          await sleep(waitMs);
          continue;
        }
        if (limited) {
          throw fail("rate_limited", `Twilio is rate limiting this account (${label}).${detail}`, {
            ...fields,
            retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
          });
        }
        throw fail(
          "server_error",
          uncertain
            ? `Twilio failed with ${label}, possibly after taking the message.${MAY_ARRIVE}${detail}`
            : `Twilio failed with ${label} after ${attempt} ${attempt === 1 ? "try" : "tries"}.${detail}`,
          { ...fields, uncertain },
        );
      }
      if (known !== undefined) {
        throw fail(
          known.reason,
          `Twilio refused the request (${label}). ${known.fix}${detail}`,
          fields,
        );
      }
      if (status === 401 || status === 403) {
        throw fail(
          "unauthorized",
          `Twilio refused the credentials for account ${accountSid} (${label}). ${TWILIO_ERROR_CODES[20003]?.fix}${detail}`,
          fields,
        );
      }
      if (status === 404) {
        throw fail(
          "config",
          `Twilio does not know this resource (${label}). ${TWILIO_ERROR_CODES[20404]?.fix}${detail}`,
          fields,
        );
      }
      throw fail("rejected", `Twilio refused the request (${label}).${detail}`, fields);
    }
  }

  return { accountSid, baseUrl, request };
}

function readCredentials(options: TwilioClientOptions): { username: string; password: string } {
  const { authToken, apiKey, apiSecret } = options;
  if (apiKey !== undefined || apiSecret !== undefined) {
    const key = readSid(apiKey, "SK", "apiKey", "TWILIO_API_KEY");
    if (typeof apiSecret !== "string" || apiSecret.trim() === "") {
      throw new OtpError(
        "CONFIG_INVALID",
        "`apiSecret` is required with `apiKey` (TWILIO_API_SECRET): the secret shown once when the key was created.",
      );
    }
    return { username: key, password: apiSecret.trim() };
  }
  if (typeof authToken !== "string" || authToken.trim() === "") {
    throw new OtpError(
      "CONFIG_INVALID",
      "`authToken` is required (TWILIO_AUTH_TOKEN), or `apiKey` and `apiSecret` (TWILIO_API_KEY, TWILIO_API_SECRET); find them in the Twilio Console.",
    );
  }
  return { username: options.accountSid.trim(), password: authToken.trim() };
}

/** A Twilio SID: two letters and 32 hex digits. */
export function readSid(value: unknown, prefix: string, name: string, variable: string): string {
  const sid = typeof value === "string" ? value.trim() : "";
  if (!new RegExp(`^${prefix}[0-9a-fA-F]{32}$`).test(sid)) {
    throw new OtpError(
      "CONFIG_INVALID",
      `\`${name}\` (${variable}) must be a Twilio SID: "${prefix}" and 32 hex digits, from the Twilio Console.`,
    );
  }
  return sid;
}

function readBaseUrl(value: string): string {
  const url = httpUrl(value);
  if (url === undefined) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`baseUrl` must be an http(s) URL such as https://api.twilio.com.",
    );
  }
  return url;
}
