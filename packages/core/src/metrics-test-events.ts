/**
 * Events built by hand for the observers' tests (metrics, OpenTelemetry, the tripwire), shaped as
 * the engine emits them: a masked phone, a country, never a code.
 */
import type { DeliveryStatus } from "./delivery-status.js";
import type { VerifyFailureReason } from "./error-codes.js";
import type { LimitName, OtpEvent } from "./events.js";
import type { FallbackReason } from "./options.js";

export const MASKED = "+14*******01";

interface Common {
  country: string;
  at: number;
  purpose?: string;
  test?: true;
}

function base({ country, at, purpose = "login", test }: Common) {
  return {
    at: new Date(at),
    phone: MASKED,
    purpose,
    country,
    ...(test === undefined ? {} : { test }),
  };
}

export const events = {
  sent: (common: Common & { messageId: string; channel?: string }): OtpEvent =>
    ({
      type: "sent",
      ...base(common),
      messageId: common.messageId,
      channel: common.channel ?? "1msg",
      expiresAt: new Date(common.at + 300_000),
    }) as OtpEvent,
  fallback: (
    common: Common & {
      fallbackMessageId: string;
      why: FallbackReason;
      messageId?: string;
      channel?: string;
    },
  ): OtpEvent =>
    ({
      type: "fallback",
      ...base(common),
      why: common.why,
      ...(common.messageId === undefined ? {} : { messageId: common.messageId }),
      fallbackMessageId: common.fallbackMessageId,
      channel: common.channel ?? "twilio-sms",
      expiresAt: new Date(common.at + 300_000),
    }) as OtpEvent,
  verified: (common: Common): OtpEvent => ({ type: "verified", ...base(common) }) as OtpEvent,
  rejected: (common: Common & { reason: VerifyFailureReason }): OtpEvent =>
    ({ type: "rejected", ...base(common), reason: common.reason, attemptsLeft: 4 }) as OtpEvent,
  limited: (common: Common & { limit: LimitName }): OtpEvent =>
    ({ type: "limited", ...base(common), limit: common.limit, retryAfter: 60 }) as OtpEvent,
  sendFailed: (common: Common & { error?: string }): OtpEvent =>
    ({
      type: "send_failed",
      ...base(common),
      error: common.error ?? "SEND_FAILED",
      message: "The channel did not take the message.",
    }) as OtpEvent,
  delivery: (input: {
    at: number;
    messageId: string;
    status: DeliveryStatus;
    errorCode?: string;
    pricing?: { billable: boolean; category: string; pricing_model?: string };
  }): OtpEvent =>
    ({
      type: "delivery",
      at: new Date(input.at),
      messageId: input.messageId,
      status: input.status,
      ...(input.errorCode === undefined ? {} : { errorCode: input.errorCode, error: "failed" }),
      ...(input.pricing === undefined ? {} : { pricing: input.pricing }),
    }) as OtpEvent,
};

/** A small seeded generator (mulberry32), so a simulated day plays the same every run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
