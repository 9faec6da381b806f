/**
 * The send flow: read the request, answer a retried request from its idempotency key, count the
 * send in its limits, then store and send a fresh code.
 */
import { OtpError } from "../errors.js";
import { readLocale } from "../locale.js";
import type { SendInput, SendResult } from "../otp.js";
import { maskPhone, type Phone } from "../phone.js";
import { type Engine, guard } from "./context.js";
import { deliverCode, isUncertain } from "./deliver-code.js";
import {
  readAllowedPhone,
  readClient,
  readIdempotencyKey,
  readObject,
  readPurpose,
  readSenderIp,
} from "./input.js";
import { idempotencyKey } from "./keys.js";
import { isKnownClient } from "./known-clients.js";
import { sendBuckets, takeSends } from "./send-limits.js";

// Held under an idempotency key while its send runs.
const PENDING = "pending";

export async function send(engine: Engine, input: SendInput): Promise<SendResult> {
  const { config, store } = engine;
  const request = readObject(input, "send");
  const phone = readAllowedPhone(config, request.phone);
  const purpose = readPurpose(config, request.purpose);
  const ip = readSenderIp(config, request.ip);
  const client = readClient(config, request.client);
  const locale = readLocale(request.locale);
  const started = engine.now();

  let idempotency: string | undefined;
  if (request.idempotencyKey !== undefined) {
    idempotency = idempotencyKey(purpose, phone.digits, readIdempotencyKey(request.idempotencyKey));
    const key = idempotency;
    const earlier = await guard(() => store.setIfAbsent(key, PENDING, config.ttlMs, started));
    if (earlier === PENDING) {
      throw new OtpError(
        "IDEMPOTENCY_CONFLICT",
        "A send with this idempotency key is still in progress.",
      );
    }
    if (earlier !== null) return reviveSendResult(earlier);
  }

  let result: SendResult;
  try {
    result = await sendNow(engine, phone, purpose, ip, client, locale, started);
  } catch (error) {
    if (idempotency !== undefined) await engine.forget(idempotency);
    throw error;
  }
  if (idempotency !== undefined) {
    // The message is out: failing to remember it must not turn the send into an error.
    const key = idempotency;
    await Promise.resolve()
      .then(() => store.set(key, JSON.stringify(result), config.ttlMs, started))
      .catch(() => engine.forget(key));
  }
  return result;
}

async function sendNow(
  engine: Engine,
  phone: Phone,
  purpose: string,
  ip: string | undefined,
  client: string | undefined,
  locale: string | undefined,
  started: number,
): Promise<SendResult> {
  const { config } = engine;
  const base = { phone: maskPhone(phone.digits), purpose };
  // A client that signed in to this phone before gets a code bound to it, outside the phone's
  // shared cooldown and window: strangers can neither replace it, nor guess at it, nor keep the
  // owner from getting one. Any other client shares the phone's (and its codes).
  const bound =
    client !== undefined && (await isKnownClient(engine, phone.digits, client, started))
      ? client
      : undefined;
  const taken = await takeSends(
    engine,
    sendBuckets(config, phone.digits, ip, bound),
    started,
    base,
  );
  if (!taken.ok) {
    throw new OtpError("RATE_LIMITED", taken.message, {
      retryAfter: taken.retryAfter,
      details: { limit: taken.limit },
    });
  }
  const { resendAt } = taken;

  let delivered: Awaited<ReturnType<typeof deliverCode>>;
  try {
    const to = { phone, purpose, ip, client: bound, sender: client, locale };
    delivered = await deliverCode(engine, config.channel, to, started);
  } catch (error) {
    throw isUncertain(error) ? uncertainSendError(error, resendAt, engine.now()) : error;
  }
  if (delivered === null) {
    throw new OtpError(
      "STORE_UNAVAILABLE",
      "The code store did not save the code; try again shortly.",
    );
  }
  const { messageId, expiresAt } = delivered;
  engine.emit({
    type: "sent",
    at: new Date(engine.now()),
    ...base,
    messageId,
    channel: config.channel.name,
    expiresAt: new Date(expiresAt),
  });
  return {
    phone: phone.e164,
    messageId,
    expiresAt: new Date(expiresAt),
    resendAt: new Date(resendAt),
  };
}

/**
 * The error for a send whose message may still arrive: the code stays valid, and the caller learns
 * when a new code can be asked for (the cooldown the send started), rather than a bare failure.
 */
function uncertainSendError(error: unknown, resendAt: number, at: number): OtpError {
  const cause = error as OtpError;
  return new OtpError("SEND_FAILED", cause.message, {
    retryAfter: Math.max(cause.retryAfter ?? 0, Math.ceil((resendAt - at) / 1000)),
    details: { ...cause.details, delivery: "unknown" },
    cause,
  });
}

function reviveSendResult(stored: string): SendResult {
  const value = JSON.parse(stored) as Record<keyof SendResult, string>;
  return {
    phone: value.phone,
    messageId: value.messageId,
    expiresAt: new Date(value.expiresAt),
    resendAt: new Date(value.resendAt),
  };
}
