/**
 * Making a code and handing it to a channel: the step a send and a fallback share. A code is stored
 * before it is sent, so it never reaches a phone without being verifiable, and no error that leaves
 * this module carries it.
 */
import { randomUUID } from "node:crypto";
import type { Channel } from "../channel.js";
import { generateCode, hashCode } from "../code.js";
import { isOtpError, OtpError } from "../errors.js";
import type { Phone } from "../phone.js";
import type { DeliveryRecord } from "../store/types.js";
import { type Engine, guard, phoneEvent } from "./context.js";
import { challengeKey, queuedPhoneKey } from "./keys.js";

/** Who a code is for and who asked for it. */
export interface Recipient {
  phone: Phone;
  purpose: string;
  /** The requesting client's per-IP bucket, kept so a fallback send is charged to the same client. */
  ip: string | undefined;
  /** The known client the code is bound to. */
  client: string | undefined;
  /** The client that asked, the only one `status` answers. */
  sender: string | undefined;
  /** The user's language, when the send named one. */
  locale?: string | undefined;
}

/**
 * Stores a fresh code in place of the pending one and sends it. With `replaces`, only if the pending
 * code is still that one (a fallback taking over from a message); otherwise it sends nothing and
 * answers null, as it does when the store would not take the code. `admit` runs once the code is
 * stored, before it is sent: false sends nothing and answers null (a takeover counts its limits
 * there, so a takeover that finds the code replaced counts nothing). `fallback` marks a message of
 * the fallback channel, which hands nothing on. A test number gets its fixed code, and no channel
 * is called: its message shows as delivered at once.
 */
export async function deliverCode(
  engine: Engine,
  channel: Channel,
  to: Recipient,
  started: number,
  how: {
    replaces?: string;
    fallback?: boolean;
    admit?: () => Promise<boolean>;
    /** False: the code is stored, nothing is sent or tracked (`SendInput.deliver`). */
    deliver?: boolean;
  } = {},
): Promise<{ messageId: string; expiresAt: number } | null> {
  const { replaces } = how;
  const { config, store, now } = engine;
  const { phone, purpose, ip, client, sender, locale } = to;
  const fixed = config.testNumbers.get(phone.digits);
  const code = fixed ?? generateCode(config.codeLength, config.random);
  const expiresAt = started + config.ttlMs;
  const hash = hashCode(config.key, purpose, phone.digits, code);
  const challenge = { hash, expiresAt, attempts: 0, maxAttempts: config.attemptsPerCode };
  const stored = await guard(() =>
    store.putChallenge(challengeKey(purpose, phone.digits, client), challenge, started, replaces),
  );
  if (!stored) return null;
  if (how.admit !== undefined && !(await how.admit())) return null;
  if (how.deliver === false) return { messageId: `undelivered.${randomUUID()}`, expiresAt };
  if (fixed !== undefined) {
    const messageId = `test.${randomUUID()}`;
    const record: DeliveryRecord = {
      status: "delivered",
      updatedAt: now(),
      expiresAt,
      ...(client === undefined ? {} : { client }),
      ...(sender === undefined ? {} : { sender }),
    };
    await Promise.resolve()
      .then(() => store.putDelivery(messageId, record, config.deliveryTtlMs))
      .catch(() => {});
    return { messageId, expiresAt };
  }
  let messageId: string;
  let queued: boolean | undefined;
  try {
    ({ messageId, queued } = await channel.send({
      phone: phone.digits,
      code,
      purpose,
      expiresAt: new Date(expiresAt),
      ttlSeconds: config.ttlMs / 1000,
      ...(locale === undefined ? {} : { locale }),
    }));
    if (typeof messageId !== "string" || messageId.length === 0) {
      throw new Error("the channel returned no message id");
    }
  } catch (cause) {
    const error = channelError(cause, channel.name, code);
    engine.emit({
      type: "send_failed",
      at: new Date(now()),
      ...phoneEvent(engine, phone, purpose),
      error: error.code,
      message: error.message,
      ...(isUncertain(error) ? { uncertain: true } : {}),
    });
    throw error;
  }
  // What a fallback needs to resend is kept only when there is a fallback: memory per pending code.
  const record: DeliveryRecord = {
    status: "accepted",
    updatedAt: now(),
    expiresAt,
    ...(config.fallback === undefined
      ? {}
      : {
          sentAt: started,
          phone: phone.digits,
          purpose,
          hash,
          ...(ip === undefined ? {} : { ip }),
          ...(locale === undefined ? {} : { locale }),
        }),
    ...(client === undefined ? {} : { client }),
    ...(sender === undefined ? {} : { sender }),
    ...(how.fallback === true ? { fallback: true } : {}),
  };
  // The message is out and its code is stored: failing to track its delivery only costs status().
  await Promise.resolve()
    .then(async () => {
      await store.putDelivery(messageId, record, config.deliveryTtlMs);
      if (queued === true) {
        await store.set(queuedPhoneKey(phone.digits), messageId, config.ttlMs, started);
      }
    })
    .catch(() => {});
  return { messageId, expiresAt };
}

/**
 * The error `send` throws for a channel failure. A channel's own `OtpError` passes through unless it
 * mentions the code; anything else becomes `SEND_FAILED`, keeping as cause only a copy whose message
 * has the code taken out, since loggers print causes.
 */
function channelError(cause: unknown, channel: string, code: string): OtpError {
  const scrub = (text: string) => text.split(code).join("[redacted]");
  if (isOtpError(cause) && !`${cause.message}${JSON.stringify(cause)}`.includes(code)) return cause;
  const message = isOtpError(cause)
    ? scrub(cause.message)
    : `The ${channel} channel could not send the code.`;
  const original = cause instanceof Error ? cause : new Error(String(cause));
  const safeCause = new Error(scrub(original.message));
  safeCause.name = original.name;
  return new OtpError("SEND_FAILED", message, {
    cause: safeCause,
    ...(isUncertain(cause) ? { details: { delivery: "unknown" } } : {}),
    ...(isOtpError(cause) && cause.retryAfter !== undefined
      ? { retryAfter: cause.retryAfter }
      : {}),
  });
}

/** Whether a channel's failure may have come after the message went out (see `Channel`). */
export function isUncertain(error: unknown): boolean {
  const { uncertain, details } = (error ?? {}) as { uncertain?: unknown; details?: unknown };
  return (
    uncertain === true || (details as { delivery?: unknown } | undefined)?.delivery === "unknown"
  );
}
