import { OtpError } from "../errors.js";

/** Why a call to 1MSG failed. */
export type OneMsgFailure =
  /** 401: the token is wrong or belongs to another channel. */
  | "unauthorized"
  /** 403: the channel is on trial or its subscription is blocked. */
  | "forbidden"
  /** 4xx or `sent: false`: 1MSG understood the request and refused it (template, namespace). */
  | "rejected"
  /**
   * A refusal that means WhatsApp cannot reach this phone from this channel: not a WhatsApp user
   * (Meta 131026), held back for the ecosystem's health (131049), not on a test number's allowed
   * list (131030), an invalid number, no opt-in. Another channel may reach it (see `unreachableText`).
   */
  | "unreachable"
  /** 429 after the retries the code's lifetime allowed. */
  | "rate_limited"
  /** 5xx: after the retries allowed, or at once for a send (it may have gone out). */
  | "server_error"
  /** No answer in time. The message may have been sent, so it is not retried. */
  | "timeout"
  /** 1MSG could not be reached. */
  | "network"
  /** An answer that is not the JSON 1MSG gives. */
  | "invalid_response";

/** What a `OneMsgError` carries besides its reason and message. */
export interface OneMsgErrorFields {
  httpStatus?: number;
  providerMessage?: string;
  retryAfter?: number;
  uncertain?: boolean;
}

/**
 * A failed 1MSG call. `code` is `SEND_FAILED` like every channel failure; `reason` tells the
 * classes apart and `providerMessage` carries what 1MSG said, with the token and the code removed.
 */
export class OneMsgError extends OtpError {
  readonly reason: OneMsgFailure;
  /** HTTP status 1MSG answered with, when it answered. */
  readonly httpStatus: number | undefined;
  readonly providerMessage: string | undefined;
  /**
   * The call may have sent the message before it failed (a 5xx, a timeout or a broken connection
   * during a send): the message may still arrive. See `Channel` for what the engine does with it.
   */
  readonly uncertain: boolean;

  constructor(reason: OneMsgFailure, message: string, fields: OneMsgErrorFields = {}) {
    super("SEND_FAILED", message, {
      ...(fields.retryAfter === undefined ? {} : { retryAfter: fields.retryAfter }),
      details: { reason },
    });
    this.reason = reason;
    this.httpStatus = fields.httpStatus;
    this.providerMessage = fields.providerMessage;
    this.uncertain = fields.uncertain === true;
  }
}

/**
 * Replaces every secret found in `text`, as written or URL-encoded, with `[redacted]`, then keeps
 * at most `max` characters. Redacting before cutting matters: a cut secret no longer matches.
 */
export function redact(text: string, secrets: readonly string[], max = 300): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    const forms = new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
    ]);
    for (const form of forms) out = out.split(form).join("[redacted]");
  }
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/**
 * Whether what 1MSG said refuses the phone rather than the request. 1MSG passes Meta's errors on as
 * text (the reference's error list; its failed acks carry `(#131026) ...`), and its own refusals
 * name an invalid phone or a missing opt-in (the 1MSG OTP guide's list of failures). Template,
 * namespace and parameter problems never match: those are the app's to fix, not the user's.
 */
export function unreachableText(text: string | undefined): boolean {
  return text !== undefined && UNREACHABLE.some((pattern) => pattern.test(text));
}

const UNREACHABLE = [
  /\b131026\b|\b131049\b|\b131030\b/,
  /undeliverable/i,
  /not (?:a |an )?(?:valid |active )?whats ?app (?:user|account|number|contact)/i,
  /(?:isn't|is not|not) (?:on|registered (?:on|with|in|at)) whats ?app/i,
  // A phone or recipient, never a bare "number": "invalid number of parameters" is the template's.
  /(?:invalid|incorrect|wrong|non-normali[sz]ed) (?:phone(?: number)?|recipient|chat ?id)\b/i,
  /(?:phone|recipient)(?: number)? (?:is )?(?:invalid|not valid)/i,
  /\bopt(?:ed)?[- ]?in\b/i,
];
