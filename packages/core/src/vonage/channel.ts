/**
 * The Vonage SMS channel: a small client on `fetch` for the SMS API (`POST /sms/json`), the reading
 * of its answers into errors an operator can act on, and the receipt reader. Facts and sources:
 * `fixtures.ts`. The retry rule is the 1MSG channel's: a send that may have gone out is never tried
 * again; only a refused connection or a throttled answer (status 1 or 10, HTTP 429) is.
 */
import type { Channel, OtpMessage } from "../channel.js";
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
import { createSmsText, type SmsText, type SmsTextContext } from "../sms-text.js";
import { VonageError, type VonageErrorFields, type VonageFailure } from "./errors.js";
import {
  isVonageSignatureMethod,
  type VonageSignatureMethod,
  verifyVonageSignature,
  vonageSignature,
} from "./signature.js";
import { isGsm7 } from "./text.js";
import { readVonageParams, readVonageReceipt } from "./webhook.js";

export const VONAGE_BASE_URL = "https://rest.nexmo.com";

export interface VonageSmsOptions {
  /** The account's API key (VONAGE_API_KEY). */
  apiKey: string;
  /** The API secret (VONAGE_API_SECRET). Give this or `signatureSecret`, not both. */
  apiSecret?: string;
  /** The signature secret (VONAGE_SIGNATURE_SECRET): requests are then signed instead of carrying the API secret. */
  signatureSecret?: string;
  /** The signing method chosen in the dashboard (VONAGE_SIGNATURE_METHOD). @default "md5hash" */
  signatureMethod?: VonageSignatureMethod;
  /** Sender id: a Vonage number in international digits, or an alphanumeric name where allowed (VONAGE_FROM). */
  from: string;
  /** The text, per language: a function or templates with `{code}` (and `{minutes}`). */
  text?: SmsText;
  /** Language used when the message's locale matches no template. @default "en", or the first template */
  defaultLocale?: string;
  /** Adds the WebOTP line `@domain #code` at the end so browsers can fill the code in (`example.com`). */
  webOtpDomain?: string;
  /** Delivery receipt URL for these messages, instead of the dashboard's. */
  callback?: string;
  /** Sent as `client-ref`; receipts carry it back. At most 100 characters (SMS API reference). */
  clientRef?: string;
  /** Sends `ttl` (ms) equal to the code's lifetime, at least 20 s, so carriers give up on a dead code. @default true */
  messageTtl?: boolean;
  /**
   * `readWebhook` drops receipts whose signature does not verify (needs `signatureSecret`, and
   * signed webhooks turned on for the account by Vonage). @default false
   */
  verifyReceipts?: boolean | { maxAgeSeconds?: number };
  /** @default "https://rest.nexmo.com" */
  baseUrl?: string;
  /** A `fetch` to make the calls with. @default Node's own HTTP client (see `oneMsg`) */
  fetch?: typeof fetch;
  /** Time allowed for one call, answer included. @default 10000 */
  timeoutMs?: number;
  /**
   * Retries of a send that provably did not go out, or was throttled (attempts 1 to 3); `false` for
   * a single try. @default { attempts: 3, baseDelayMs: 500, maxDelayMs: 5000 }
   */
  retry?: RetryOptions | false;
  /** Random number in [0, 1) for backoff jitter. @default Math.random */
  random?: () => number;
}

export interface VonageSmsChannel extends Channel {
  readonly name: "vonage-sms";
  /** The form fields a send would post, without credentials; for tests and `doctor`. */
  preview(message: OtpMessage): { text: string; type: "text" | "unicode" };
}

const MAY_ARRIVE = " The SMS may still arrive, and its code will work, so it was not sent again.";

/**
 * The Vonage SMS channel.
 *
 * @example
 * const sms = vonageSms({
 *   apiKey: process.env.VONAGE_API_KEY!,
 *   apiSecret: process.env.VONAGE_API_SECRET!,
 *   from: process.env.VONAGE_FROM!,
 *   text: { en: "Your code is {code}", pt: "Seu código é {code}" },
 *   webOtpDomain: "example.com",
 * });
 */
export function vonageSms(options: VonageSmsOptions): VonageSmsChannel {
  const settings = readSettings(options);
  const doFetch = options.fetch;
  const random = options.random ?? Math.random;
  const secrets = [settings.apiSecret, settings.signatureSecret].filter(
    (value): value is string => value !== undefined,
  );

  function compose(message: OtpMessage): { text: string; type: "text" | "unicode" } {
    const locale = message.locale;
    const text = settings.write(message.code, {
      locale: typeof locale === "string" && locale !== "" ? locale : undefined,
      ttlMinutes: Math.max(1, Math.ceil(message.ttlSeconds / 60)),
      purpose: message.purpose,
    });
    return { text, type: isGsm7(text) ? "text" : "unicode" };
  }

  function form(message: OtpMessage): URLSearchParams {
    if (!/^[1-9]\d{6,14}$/.test(message.phone)) {
      throw new VonageError(
        "rejected",
        "The phone must be international digits without a plus (14155550101).",
      );
    }
    const { text, type } = compose(message);
    const params: Record<string, string> = {
      api_key: settings.apiKey,
      from: settings.from,
      to: message.phone,
      text,
      type,
    };
    if (settings.callback !== undefined) params.callback = settings.callback;
    if (settings.clientRef !== undefined) params["client-ref"] = settings.clientRef;
    if (settings.messageTtl) params.ttl = String(Math.max(20_000, message.ttlSeconds * 1000));
    if (settings.signatureSecret !== undefined) {
      params.timestamp = String(Math.floor(Date.now() / 1000));
      params.sig = vonageSignature(params, settings.signatureSecret, settings.signatureMethod);
    } else {
      params.api_secret = settings.apiSecret as string;
    }
    return new URLSearchParams(params);
  }

  const backoff = (attempt: number) => backoffDelay(attempt, settings, random);

  async function send(message: OtpMessage) {
    const scrub = [...secrets, message.code];
    const fail = (reason: VonageFailure, text: string, fields: VonageErrorFields = {}) =>
      new VonageError(reason, redact(text, scrub, 1000), {
        ...fields,
        ...(fields.providerMessage === undefined
          ? {}
          : { providerMessage: redact(fields.providerMessage, scrub) }),
      });
    const deadline = message.expiresAt.getTime();
    const url = `${settings.baseUrl}/sms/json`;

    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw fail("timeout", "The code's lifetime ran out before Vonage took the SMS.");
      // Built per try: a signed request carries a fresh timestamp.
      const body = form(message).toString();
      const limit = Math.min(settings.timeoutMs, left);
      let answer: ProviderAnswer;
      try {
        answer = await timedFetch(
          doFetch,
          url,
          {
            method: "POST",
            headers: {
              accept: "application/json",
              "content-type": "application/x-www-form-urlencoded",
            },
            body,
          },
          limit,
        );
      } catch (error) {
        if (error === TIMED_OUT) {
          throw fail("timeout", `Vonage did not answer within ${limit} ms.${MAY_ARRIVE}`, {
            uncertain: true,
          });
        }
        const code = connectionErrorCode(error);
        const unsent = neverLeft(code);
        const wait = backoff(attempt);
        if (unsent && attempt < settings.attempts && Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
        throw fail(
          "network",
          `Could not reach Vonage at ${settings.baseUrl}${code ? ` (${code})` : ""}.${unsent ? "" : MAY_ARRIVE}`,
          { uncertain: !unsent },
        );
      }

      const { status: httpStatus } = answer;
      const json = parseJson(answer.text);
      if (httpStatus === 429 || (httpStatus >= 200 && httpStatus < 300)) {
        const verdict =
          httpStatus === 429 ? { throttled: true as const } : readAnswer(json, httpStatus);
        if ("messageId" in verdict) return { messageId: verdict.messageId };
        if ("throttled" in verdict) {
          const waitMs =
            (httpStatus === 429 ? retryAfterMs(answer.retryAfter) : undefined) ?? backoff(attempt);
          if (
            attempt < settings.attempts &&
            waitMs <= settings.maxDelayMs &&
            Date.now() + waitMs < deadline
          ) {
            await sleep(waitMs);
            continue;
          }
          throw fail(
            "rate_limited",
            `Vonage is throttling this account (${httpStatus === 429 ? "HTTP 429" : `status ${verdict.vonageStatus}`}) after ${attempt} ${attempt === 1 ? "try" : "tries"}.`,
            {
              httpStatus,
              retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
              ...(verdict.vonageStatus === undefined ? {} : { vonageStatus: verdict.vonageStatus }),
              ...(verdict.errorText === undefined ? {} : { providerMessage: verdict.errorText }),
            },
          );
        }
        throw fail(verdict.reason, verdict.message, {
          httpStatus,
          ...(verdict.vonageStatus === undefined ? {} : { vonageStatus: verdict.vonageStatus }),
          ...(verdict.errorText === undefined ? {} : { providerMessage: verdict.errorText }),
          ...(verdict.uncertain ? { uncertain: true } : {}),
        });
      }
      const said = errorTextOf(json) ?? (answer.text.trim().slice(0, 300) || undefined);
      const fields = { httpStatus, ...(said === undefined ? {} : { providerMessage: said }) };
      if (httpStatus >= 500) {
        throw fail("server_error", `Vonage failed with HTTP ${httpStatus}.${MAY_ARRIVE}`, {
          ...fields,
          uncertain: true,
        });
      }
      if (httpStatus === 401 || httpStatus === 403) {
        throw fail(
          "unauthorized",
          `Vonage refused the request (HTTP ${httpStatus}). ${CREDENTIALS}`,
          fields,
        );
      }
      throw fail(
        "rejected",
        `Vonage refused the request (HTTP ${httpStatus}). Check the base URL (\`baseUrl\`).`,
        fields,
      );
    }
  }

  function readWebhook(body: Record<string, unknown> | string) {
    if (settings.verifyReceipts !== false) {
      const ok = verifyVonageSignature({
        params: readVonageParams(body),
        signatureSecret: settings.signatureSecret as string,
        method: settings.signatureMethod,
        maxAgeSeconds: settings.verifyReceipts.maxAgeSeconds ?? 300,
      });
      if (!ok) return [];
    }
    return readVonageReceipt(body);
  }

  return {
    name: "vonage-sms",
    kind: "sms",
    send,
    readWebhook,
    preview: compose,
  };
}

const CREDENTIALS =
  "Check `apiKey` (VONAGE_API_KEY) and `apiSecret` (VONAGE_API_SECRET), or `signatureSecret` (VONAGE_SIGNATURE_SECRET) and `signatureMethod` (VONAGE_SIGNATURE_METHOD) if requests are signed.";

type Verdict =
  | { messageId: string }
  | { throttled: true; vonageStatus?: string; errorText?: string }
  | {
      reason: VonageFailure;
      message: string;
      vonageStatus?: string;
      errorText?: string;
      uncertain?: boolean;
    };

/** What a 2xx answer says: every part taken, throttled, or refused (and why). */
function readAnswer(json: unknown, httpStatus: number): Verdict {
  const messages = isRecord(json) ? json.messages : undefined;
  if (!Array.isArray(messages) || messages.length === 0) {
    return {
      reason: "invalid_response",
      message: `Vonage answered HTTP ${httpStatus} without the \`messages\` list it documents.${MAY_ARRIVE}`,
      uncertain: true,
    };
  }
  const parts = messages.map((entry) => (isRecord(entry) ? entry : {}));
  const status = (part: Record<string, unknown>) =>
    typeof part.status === "number" ? String(part.status) : String(part.status ?? "");
  const taken = parts.filter((part) => status(part) === "0");
  if (taken.length === parts.length) {
    const id = parts[0]?.["message-id"];
    if (typeof id === "string" && id.trim() !== "") return { messageId: id.trim() };
    return {
      reason: "invalid_response",
      message: `Vonage took the SMS but gave no message id.${MAY_ARRIVE}`,
      uncertain: true,
    };
  }
  const refused = parts.find((part) => status(part) !== "0") as Record<string, unknown>;
  const vonageStatus = status(refused);
  const errorText =
    typeof refused["error-text"] === "string" ? refused["error-text"].slice(0, 300) : undefined;
  const extra = { vonageStatus, ...(errorText === undefined ? {} : { errorText }) };
  if (taken.length > 0) {
    return {
      reason: "partial",
      message: `Vonage sent ${taken.length} of ${parts.length} parts of the SMS and refused the rest (status ${vonageStatus}).${MAY_ARRIVE}`,
      uncertain: true,
      ...extra,
    };
  }
  if (vonageStatus === "1" || vonageStatus === "10") return { throttled: true, ...extra };
  const [reason, advice] = STATUS_ADVICE[vonageStatus] ?? [
    "rejected",
    "See Vonage's SMS API error list.",
  ];
  const said = errorText === undefined ? "" : ` Vonage said: ${errorText}`;
  return {
    reason,
    message: `Vonage refused the SMS (status ${vonageStatus}). ${advice}${said}`,
    ...extra,
  };
}

/** Each refusal status: its class and what to fix. Sources: `fixtures.ts` (SEND_STATUSES). */
const STATUS_ADVICE: Record<string, [VonageFailure, string]> = {
  "2": [
    "rejected",
    `A required parameter is missing. ${CREDENTIALS} Check \`from\` (VONAGE_FROM).`,
  ],
  "3": [
    "rejected",
    "A parameter is invalid. Check `from` (VONAGE_FROM), `callback` and `clientRef`.",
  ],
  "4": ["unauthorized", `The credentials are wrong or disabled. ${CREDENTIALS}`],
  "5": ["server_error", "Vonage failed while processing the SMS; try again later."],
  "6": [
    "unreachable",
    "Vonage could not process the SMS for this number (such as an unknown prefix).",
  ],
  "7": ["unreachable", "This number is barred from receiving SMS."],
  "8": ["forbidden", "The Vonage account is suspended; contact Vonage support."],
  "9": ["no_credit", "The Vonage account has no credit left; top it up in the dashboard."],
  "11": ["forbidden", "The Vonage account is not enabled for the SMS API over HTTP."],
  "12": ["rejected", "The SMS is too long; shorten the `text` option."],
  "14": [
    "unauthorized",
    "Vonage could not verify the request signature. Check `signatureSecret` (VONAGE_SIGNATURE_SECRET) and that `signatureMethod` (VONAGE_SIGNATURE_METHOD) matches the dashboard.",
  ],
  "15": [
    "rejected",
    "The sender id is not allowed for this destination. Check `from` (VONAGE_FROM); in the US and Canada it must be a Vonage number.",
  ],
  "22": ["rejected", "The network code is invalid for this destination."],
  "23": ["rejected", "The callback URL is too long or has illegal characters. Check `callback`."],
  "29": [
    "unreachable",
    "A trial account can only send to its test numbers: add this one in the dashboard, or top up the account.",
  ],
  "32": [
    "rejected",
    "A signed request must not carry the API secret: set `apiSecret` or `signatureSecret`, not both.",
  ],
  "33": ["unreachable", "This number is deactivated."],
};

interface Settings {
  apiKey: string;
  apiSecret: string | undefined;
  signatureSecret: string | undefined;
  signatureMethod: VonageSignatureMethod;
  from: string;
  /** Writes each message (templates checked once, at setup). */
  write: (code: string, context: SmsTextContext) => string;
  callback: string | undefined;
  clientRef: string | undefined;
  messageTtl: boolean;
  verifyReceipts: false | { maxAgeSeconds?: number };
  baseUrl: string;
  timeoutMs: number;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

function readSettings(options: VonageSmsOptions): Settings {
  const invalid = (message: string) => new OtpError("CONFIG_INVALID", message);
  const text = (value: unknown) =>
    typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  const apiKey = text(options.apiKey);
  if (apiKey === undefined) {
    throw invalid("`apiKey` is required (VONAGE_API_KEY); copy it from the Vonage dashboard.");
  }
  const apiSecret = text(options.apiSecret);
  const signatureSecret = text(options.signatureSecret);
  if (apiSecret === undefined && signatureSecret === undefined) {
    throw invalid(
      "Set `apiSecret` (VONAGE_API_SECRET) or `signatureSecret` (VONAGE_SIGNATURE_SECRET) from the Vonage dashboard.",
    );
  }
  if (apiSecret !== undefined && signatureSecret !== undefined) {
    throw invalid(
      "Set `apiSecret` (VONAGE_API_SECRET) or `signatureSecret` (VONAGE_SIGNATURE_SECRET), not both: Vonage refuses a signed request that carries the API secret.",
    );
  }
  const signatureMethod = options.signatureMethod ?? "md5hash";
  if (!isVonageSignatureMethod(signatureMethod)) {
    throw invalid(
      "`signatureMethod` (VONAGE_SIGNATURE_METHOD) must be md5hash, md5, sha1, sha256 or sha512, as set in the Vonage dashboard.",
    );
  }
  const from = text(options.from);
  if (from === undefined || !/^(\+?\d{4,15}|[A-Za-z0-9 ]{1,11})$/.test(from)) {
    throw invalid(
      "`from` (VONAGE_FROM) must be a Vonage number in international digits or a sender name of at most 11 letters and digits.",
    );
  }
  const write = createSmsText({
    ...(options.text === undefined ? {} : { text: options.text }),
    ...(options.defaultLocale === undefined ? {} : { defaultLocale: options.defaultLocale }),
    ...(options.webOtpDomain === undefined ? {} : { webOtpDomain: options.webOtpDomain }),
  });
  const callback = text(options.callback);
  if (callback !== undefined && !/^https?:\/\/\S+$/.test(callback)) {
    throw invalid("`callback` must be an http(s) URL.");
  }
  const clientRef = text(options.clientRef);
  if (clientRef !== undefined && clientRef.length > 100) {
    throw invalid("`clientRef` must be at most 100 characters.");
  }
  let verifyReceipts: Settings["verifyReceipts"] = false;
  if (options.verifyReceipts) {
    if (signatureSecret === undefined) {
      throw invalid(
        "`verifyReceipts` needs `signatureSecret` (VONAGE_SIGNATURE_SECRET), the key Vonage signs webhooks with.",
      );
    }
    verifyReceipts = options.verifyReceipts === true ? {} : options.verifyReceipts;
  }
  const baseUrl = httpUrl(options.baseUrl ?? VONAGE_BASE_URL);
  if (baseUrl === undefined) {
    throw invalid("`baseUrl` must be an http(s) URL such as https://rest.nexmo.com.");
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000) {
    throw invalid("`timeoutMs` must be a whole number from 1 to 120000.");
  }
  const retry = options.retry === false ? { attempts: 1 } : (options.retry ?? {});
  const attempts = retry.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 3) {
    throw invalid("`retry.attempts` must be 1, 2 or 3.");
  }
  return {
    apiKey,
    apiSecret,
    signatureSecret,
    signatureMethod,
    from: from.replace(/^\+/, ""),
    write,
    callback,
    clientRef,
    messageTtl: options.messageTtl ?? true,
    verifyReceipts,
    baseUrl,
    timeoutMs,
    attempts,
    baseDelayMs: retry.baseDelayMs ?? 500,
    maxDelayMs: retry.maxDelayMs ?? 5000,
  };
}

function errorTextOf(json: unknown): string | undefined {
  if (!isRecord(json)) return undefined;
  for (const key of ["error-text", "detail", "title", "message"]) {
    const value = json[key];
    if (typeof value === "string" && value.trim() !== "") return value.trim().slice(0, 300);
  }
  return undefined;
}
