import type { DeliveryPricing, DeliveryStatus } from "./delivery-status.js";
import type { ErrorCode, VerifyFailureReason } from "./error-codes.js";
import type { FallbackReason } from "./options.js";

/** A send refused before any limit: by its number, its country, its unknown client, or `beforeSend`. */
export type RefusalCode = Extract<
  ErrorCode,
  | "COUNTRY_NOT_ALLOWED"
  | "NUMBER_TYPE_NOT_ALLOWED"
  | "CLIENT_UNKNOWN"
  | "SEND_REFUSED"
  | "BEFORE_SEND_FAILED"
>;

/** The limit that refused a call. */
export type LimitName =
  | "phone_cooldown"
  | "phone_window"
  | "phone_failures"
  | "ip_failures"
  | "ip_window"
  | "global_window"
  /** The fallback channel's own budget for one phone (`delivery.fallback.sendsPerPhone`). */
  | "fallback_window"
  /** The fallback channel's budget for the app (`delivery.fallback.globalSends`). */
  | "fallback_global_window"
  /** Sends to one number range: the calling code and the next digits (`limits.sendsPerPrefix`). */
  | "prefix_window"
  /** Sends to one country (`limits.sendsPerCountry`). */
  | "country_window";

interface EventBase {
  at: Date;
}

interface PhoneEvent extends EventBase {
  /** Masked (`+14*******01`): events are made to be logged. */
  phone: string;
  purpose: string;
  /**
   * The phone's ISO 3166-1 region (`"US"`), or its calling code with a plus (`"+870"`) for a
   * number of no region: what metrics and per-country limits group by.
   */
  country: string;
  /** The phone is one of `testNumbers`: nothing was sent to it, so leave it out of metrics. */
  test?: true;
}

/** The fields every event about a phone carries. */
export type PhoneEventFields = Omit<PhoneEvent, keyof EventBase>;

/**
 * What `onEvent` receives. No event ever carries a code, a hash, a token or a full phone number.
 */
export type OtpEvent =
  | (PhoneEvent & { type: "sent"; messageId: string; channel: string; expiresAt: Date })
  | (PhoneEvent & {
      type: "send_failed";
      error: ErrorCode;
      message: string;
      /** The message may still have gone out (the provider failed after taking it, or timed out). */
      uncertain?: true;
    })
  | (PhoneEvent & { type: "verified" })
  | (PhoneEvent & { type: "rejected"; reason: VerifyFailureReason; attemptsLeft?: number })
  | (PhoneEvent & { type: "limited"; limit: LimitName; retryAfter: number })
  | (PhoneEvent & {
      type: "refused";
      /** Why the send was refused before any limit counted it. */
      code: RefusalCode;
      /** `beforeSend`'s reason code, for `SEND_REFUSED`. */
      reason?: string;
    })
  | (EventBase & {
      type: "delivery";
      messageId: string;
      status: DeliveryStatus;
      error?: string;
      /** The provider's error code on a failure (Meta's `131026`, say). */
      errorCode?: string;
      /** The provider's word on the message's price, when the report carries it (Meta's `pricing`). */
      pricing?: DeliveryPricing;
    })
  | (PhoneEvent & {
      type: "fallback";
      /**
       * Why the fallback carried the code: the message `failed`, the main channel `refused` the
       * phone, no delivery report came in time (`timeout`), or the user `requested` it.
       */
      why: FallbackReason;
      /** The message the fallback took over from (none after a refusal or a request). */
      messageId?: string;
      /** The message the fallback channel sent. */
      fallbackMessageId: string;
      channel: string;
      expiresAt: Date;
    });

export type OtpEventType = OtpEvent["type"];

export type OnEvent = (event: OtpEvent) => void | Promise<void>;
