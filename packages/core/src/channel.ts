import type { DeliveryUpdate } from "./delivery.js";

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
}

export interface ChannelSendResult {
  /** The channel's id for the message; delivery updates refer to it. */
  messageId: string;
}

/**
 * Delivers codes. `oneMsg()` is the WhatsApp channel through 1MSG; `createTestChannel()` from
 * `@waotp/core/testing` records messages for tests. A channel throws when it could not send; the
 * core turns that into `SEND_FAILED`. Errors must never carry the code.
 */
export interface Channel {
  readonly name: string;
  send(message: OtpMessage): Promise<ChannelSendResult>;
  /** Asks the provider for a message's delivery state, for when webhooks are not set up. */
  poll?(messageId: string): Promise<DeliveryUpdate | null>;
}
