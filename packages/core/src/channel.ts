import type { DeliveryUpdate } from "./delivery-status.js";

/** The parts of a webhook request a provider's signature covers, as the HTTP adapters pass them. */
export interface WebhookRequest {
  /** The full URL the provider requested, as the server saw it (scheme, host, path, query). */
  url: string;
  /** Request headers, names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
}

/** What a channel is asked to deliver. */
export interface OtpMessage {
  /** International digits without the plus (`14155550101`), as 1MSG takes them. */
  phone: string;
  /** The code, to put in the template's body and its copy-code button. */
  code: string;
  purpose: string;
  expiresAt: Date;
  /** Seconds the code lives; a channel must not keep the message alive longer. */
  ttlSeconds: number;
  /** The user's language as the send gave it (`pt-BR`), for the channel to match (`matchLocale`). */
  locale?: string;
}

export interface ChannelSendResult {
  /** The channel's id for the message; delivery updates refer to it. */
  messageId: string;
  /**
   * The provider queued the message and gave a job id, not a message id: the message will go out,
   * and its delivery updates will name the phone rather than `messageId`. The engine then links the
   * first update for an unknown message to that phone with this send.
   */
  queued?: boolean;
}

/**
 * Delivers codes. `oneMsg()` is the WhatsApp channel through 1MSG; `createTestChannel()` from
 * `@waotp/core/testing` records messages for tests. A channel throws when it could not send; the
 * core turns that into `SEND_FAILED`. Errors must never carry the code.
 *
 * A channel that cannot tell whether a failed send went out (the provider failed after taking it,
 * or did not answer in time) throws an error with `uncertain: true`. The engine then keeps the code
 * valid, so a late message still works, and says so to the caller; it never sends again by itself.
 *
 * A channel that was refused because this phone cannot get its messages at all (not a WhatsApp
 * user, a landline for SMS) throws an error whose `details.reason` is `"unreachable"`: the engine
 * then hands the code to the fallback channel, when one is configured.
 */
export interface Channel {
  readonly name: string;
  /** What the channel carries (`"whatsapp"`, `"sms"`): `send({ channel })` may name it by this. */
  readonly kind?: string;
  send(message: OtpMessage): Promise<ChannelSendResult>;
  /** Asks the provider for a message's delivery state, for when webhooks are not set up. */
  poll?(messageId: string): Promise<DeliveryUpdate | null>;
  /**
   * Reads the delivery updates in a webhook body (parsed JSON, or form fields as strings). The
   * channel owns its wire format; bodies it does not recognise give an empty list. A channel whose
   * provider signs its webhooks checks the signature against `request` and drops what fails.
   */
  readWebhook?(body: Record<string, unknown>, request?: WebhookRequest): DeliveryUpdate[];
}

/** Whether a channel's failure means this phone cannot get its messages (see `Channel`). */
export function isUnreachable(error: unknown): boolean {
  const details = (error as { details?: unknown } | null | undefined)?.details;
  return (details as { reason?: unknown } | undefined)?.reason === "unreachable";
}
