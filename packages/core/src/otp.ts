/**
 * The engine's public face: `createOtp` and the shapes of its calls. Each flow lives in its own
 * module under `engine/`: `send.ts`, `verify.ts`, `delivery.ts` (status, webhook) and `fallback.ts`;
 * `deliver-code.ts` is the step send and fallback share, `send-limits.ts` the send buckets,
 * `known-clients.ts` the clients a phone knows, `input.ts` the reading of arguments and `keys.ts`
 * every store key.
 */

import type { WebhookRequest } from "./channel.js";
import type { DeliveryStatus } from "./delivery-status.js";
import { createEngine } from "./engine/context.js";
import { handleWebhook, status } from "./engine/delivery.js";
import { send } from "./engine/send.js";
import { verify } from "./engine/verify.js";
import type { VerifyFailureReason } from "./error-codes.js";
import { type FallbackReason, type OtpOptions, resolveOptions } from "./options.js";

export interface SendInput {
  /** The phone as typed: `+1 (415) 555-0101`, `00 44 20 7946 0958`, or national with `defaultCountry`. */
  phone: string;
  /**
   * The client's IP address, for the per-IP send limit. Without one (undefined or null), the send
   * counts in one bucket shared by every client the server cannot see, or is refused with
   * `CLIENT_UNKNOWN` (`limits.sendsPerIp.unknownIp`).
   */
  ip?: string | null;
  /** What the code is for (`login`, `register`, `step-up`, ...): a code only passes for its purpose. */
  purpose?: string;
  /**
   * A retried request with the same key (for the same phone and purpose, within the code's
   * lifetime) gets the first answer back instead of a second message.
   */
  idempotencyKey?: string;
  /**
   * An opaque id of whoever asks for the code (the HTTP adapters keep a random one in a cookie).
   * Once a `verify` with this id succeeded for the phone, the phone knows the client (30 days), and
   * its codes are bound to it: only a verify with the same `client` checks them, other clients'
   * sends neither replace them nor hold their cooldown and window, and a phone budget filled by
   * strangers still lets a fresh one take its first guess. Other clients share the phone's code.
   */
  client?: string;
  /**
   * True when `client` was made for this very request (the browser had none, and the adapter just
   * gave it one): such a client cannot be known to the phone yet, so the store is not asked. The
   * HTTP adapters set it; leave it out otherwise.
   */
  clientIsNew?: boolean;
  /**
   * The user's language (`pt-BR`): channels pick the template or text that fits it best (`pt_BR`,
   * then `pt`), else their default.
   */
  locale?: string;
  /**
   * The channel to send through, by name (`"twilio-sms"`) or kind (`"sms"`): the fallback channel
   * for a "send by SMS instead" button (`delivery.fallback.onRequest`). Left out, or naming the
   * main channel, the code goes through the main channel; any other name is `INVALID_INPUT`.
   */
  channel?: string;
  /**
   * `false` stores a fresh code and counts the send in every limit as a real one, but hands nothing
   * to a channel, tracks no delivery and emits no `sent`: for flows that must answer alike whether
   * or not a phone has an account (a password reset to an unknown number). Nobody ever sees that
   * code, and a verify against it fails as against any code. @default true
   */
  deliver?: boolean;
  /**
   * Anything the app's `beforeSend` needs to judge the request, passed to it untouched: the HTTP
   * adapters pass `{ body, headers }` (`HttpSendContext`), so a CAPTCHA token the page sent is
   * there. The engine itself never reads it.
   */
  context?: unknown;
}

export interface SendResult {
  /** The normalized phone, E.164 (`+14155550101`). */
  phone: string;
  messageId: string;
  /** The name of the channel that carries the code (`"1msg"`, `"twilio-sms"`). */
  channel: string;
  /**
   * Present when the fallback channel carries the code: the main channel `refused` the phone,
   * or the send `requested` the fallback.
   */
  fallback?: Extract<FallbackReason, "refused" | "requested">;
  expiresAt: Date;
  /** The earliest moment another code can be sent to this phone through the same channel. */
  resendAt: Date;
}

export interface VerifyInput {
  phone: string;
  /** The code as typed; spaces and dashes are ignored. */
  code: string;
  purpose?: string;
  /**
   * The client's IP address, for the per-client failure budget. Without one (undefined or null),
   * the guess counts in one budget shared by every client the server cannot see, as sends do.
   */
  ip?: string | null;
  /** The `client` that asked for the code (see `SendInput.client`). */
  client?: string;
  /**
   * The id the client goes on with after a successful verify, remembered in place of `client`.
   * Adapters issue a new one at each sign-in, so an id planted in a browser beforehand (a cookie
   * set from a sibling subdomain) never becomes known. @default client
   */
  nextClient?: string;
}

export type VerifyResult =
  | { ok: true; phone: string; purpose: string }
  | {
      ok: false;
      reason: VerifyFailureReason;
      /** Wrong guesses left for this code (after `INVALID_CODE`). */
      attemptsLeft?: number;
      /** Seconds until the phone may try again (after `TOO_MANY_ATTEMPTS` from the failure budget). */
      retryAfter?: number;
    };

export interface StatusResult {
  status: DeliveryStatus;
  updatedAt: Date;
  /** The name of the channel that sent this message. */
  channel: string;
  error?: string;
  /**
   * The fallback message that took over this message's code (it failed, or no delivery report came
   * in time): the code the user should type is the one it carries.
   */
  fallback?: { messageId: string; channel: string; why: FallbackReason };
}

export interface StatusOptions {
  /**
   * The `client` asking. A message sent for a client is shown to that client only: for anyone
   * else it is unknown (null).
   */
  client?: string;
}

export interface WebhookResult {
  /** Entries that moved a message forward. */
  updated: number;
  /** Entries that were duplicates, stale, for unknown messages, or not delivery updates. */
  ignored: number;
}

export interface Otp {
  /** Sends a new code, replacing any code still pending for the same phone and purpose. */
  send(input: SendInput): Promise<SendResult>;
  /** Checks a code, atomically: a wrong code is a result, not an error. */
  verify(input: VerifyInput): Promise<VerifyResult>;
  /** The delivery state of a message sent by `send`, or null when it is unknown or forgotten. */
  status(messageId: string, options?: StatusOptions): Promise<StatusResult | null>;
  /**
   * Applies a delivery webhook body, as the channels read it (the main one, then the fallback);
   * safe to call twice with the same body. `request` (the URL and headers) lets a channel whose
   * provider signs its webhooks check the signature (Twilio); the HTTP adapters always pass it.
   */
  handleWebhook(body: unknown, request?: WebhookRequest): Promise<WebhookResult>;
}

/**
 * Creates the OTP engine. Options are checked here, so a misconfiguration fails at start-up with
 * a `CONFIG_INVALID` error that says what to fix.
 *
 * @example
 * const otp = createOtp({ secret: process.env.WAOTP_SECRET, channel: oneMsg({ ... }) });
 * const { messageId } = await otp.send({ phone: "+1 415 555 0101", ip: req.ip });
 * const result = await otp.verify({ phone: "+1 415 555 0101", code: "123456" });
 */
export function createOtp(options: OtpOptions): Otp {
  const engine = createEngine(resolveOptions(options));
  return {
    send: (input) => send(engine, input),
    verify: (input) => verify(engine, input),
    status: (messageId, statusOptions) => status(engine, messageId, statusOptions),
    handleWebhook: (body, request) => handleWebhook(engine, body, request),
  };
}
