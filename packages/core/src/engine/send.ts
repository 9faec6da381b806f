/**
 * The send flow: read the request, answer a retried request from its idempotency key, ask the
 * app's `beforeSend`, count the send in its limits, then store and send a fresh code.
 */
import { type Channel, isUnreachable } from "../channel.js";
import { isOtpError, OtpError } from "../errors.js";
import type { RefusalCode } from "../events.js";
import { readLocale } from "../locale.js";
import type { ResolvedOptions } from "../options.js";
import type { SendInput, SendResult } from "../otp.js";
import { countryOf, type Phone, parsePhone } from "../phone.js";
import { checkBeforeSend } from "./before-send.js";
import { type Engine, guard, isTestNumber, phoneEvent } from "./context.js";
import { deliverCode, isUncertain } from "./deliver-code.js";
import { watchDelivery } from "./delivery.js";
import { emitFallback, namesFallback } from "./fallback.js";
import {
  assertAllowedPhone,
  readClient,
  readIdempotencyKey,
  readObject,
  readPurpose,
  readSenderIp,
  readString,
} from "./input.js";
import { idempotencyKey, unreachableKey } from "./keys.js";
import { isKnownClient } from "./known-clients.js";
import { sendBuckets, takeSends } from "./send-limits.js";

/** The refusals that come before any limit, each told as a `refused` event. */
const REFUSALS: ReadonlySet<string> = new Set<RefusalCode>([
  "COUNTRY_NOT_ALLOWED",
  "NUMBER_TYPE_NOT_ALLOWED",
  "CLIENT_UNKNOWN",
  "SEND_REFUSED",
  "BEFORE_SEND_FAILED",
]);

// Held under an idempotency key while its send runs.
const PENDING = "pending";

/** How long a phone the main channel refused goes straight to the fallback. */
const UNREACHABLE_FOR_MS = 86_400_000;

export async function send(engine: Engine, input: SendInput): Promise<SendResult> {
  const { config, store } = engine;
  const request = readObject(input, "send");
  const phone = parsePhone(request.phone, config.defaultCountry);
  const purpose = readPurpose(config, request.purpose);
  // Refusals before any limit are told to `onEvent` too: a pumping attack shows as many of them.
  const refused: (error: unknown) => never = (error) => {
    if (isOtpError(error) && REFUSALS.has(error.code)) {
      const reason = (error.details as { reason?: unknown } | undefined)?.reason;
      engine.emit({
        type: "refused",
        at: new Date(engine.now()),
        ...phoneEvent(engine, phone, purpose),
        code: error.code as RefusalCode,
        ...(typeof reason === "string" ? { reason } : {}),
      });
    }
    throw error;
  };
  let ip: string | undefined;
  try {
    assertAllowedPhone(config, phone);
    ip = readSenderIp(config, request.ip);
  } catch (error) {
    refused(error);
  }
  const client = readClient(config, request.client);
  const clientIsNew = readFlag(request.clientIsNew, "clientIsNew", false);
  const locale = readLocale(request.locale);
  const via = readVia(config, request.channel);
  const deliver = readFlag(request.deliver, "deliver", true);
  const started = engine.now();

  let idempotency: string | undefined;
  if (request.idempotencyKey !== undefined) {
    idempotency = idempotencyKey(
      purpose,
      phone.digits,
      via,
      readIdempotencyKey(request.idempotencyKey),
    );
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
    // Before any limit counts: a request the app refuses uses up nobody's cooldown or window.
    await checkBeforeSend(engine, {
      phone: phone.e164,
      country: countryOf(phone),
      numberType: phone.type,
      purpose,
      ip: typeof request.ip === "string" ? request.ip : undefined,
      client: request.client as string | undefined,
      locale,
      channel:
        via === "fallback" && config.fallback ? config.fallback.channel.name : config.channel.name,
      deliver,
      test: isTestNumber(engine, phone),
      context: request.context,
    }).catch(refused);
    result = await sendNow(
      engine,
      { phone, purpose, ip, client, clientIsNew, locale, via, deliver },
      started,
    );
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

/** What one send is: who gets the code, who asked, and through which channel. */
interface SendRequest {
  phone: Phone;
  purpose: string;
  ip: string | undefined;
  client: string | undefined;
  /** The client was made for this request, so it cannot be known to the phone. */
  clientIsNew: boolean;
  locale: string | undefined;
  via: "channel" | "fallback";
  /** False: the code is stored and the limits counted, but nothing is sent (`SendInput.deliver`). */
  deliver: boolean;
}

async function sendNow(engine: Engine, request: SendRequest, started: number): Promise<SendResult> {
  const { config, store } = engine;
  const { phone, purpose, ip, client, locale } = request;
  const { fallback } = config;
  const base = phoneEvent(engine, phone, purpose);
  // A phone the main channel refused lately goes straight to the fallback: no message that is sure
  // to be refused, and the fallback's limits are counted before its pending code is replaced.
  const refusedBefore =
    request.via === "channel" &&
    fallback?.onRefused === true &&
    (await guard(() => store.get(unreachableKey(phone.digits), started))) !== null;
  const via = refusedBefore ? "fallback" : request.via;
  // A client that signed in to this phone before gets a code bound to it, outside the phone's
  // shared cooldown and window: strangers can neither replace it, nor guess at it, nor keep the
  // owner from getting one. Any other client shares the phone's (and its codes).
  const bound =
    client !== undefined &&
    !request.clientIsNew &&
    (await isKnownClient(engine, phone.digits, client, started))
      ? client
      : undefined;
  const plan = sendBuckets(config, phone, ip, bound, via);
  const { resendAt } = refuseUnlessTaken(await takeSends(engine, plan, started, base));
  const to = { phone, purpose, ip, client: bound, sender: client, locale };
  const sendThrough = async (
    channel: Channel,
    resendBy: number,
    why?: "refused" | "requested",
  ): Promise<SendResult> => {
    let delivered: Awaited<ReturnType<typeof deliverCode>>;
    try {
      delivered = await deliverCode(engine, channel, to, started, {
        fallback: why !== undefined,
        deliver: request.deliver,
      });
    } catch (error) {
      throw isUncertain(error) ? uncertainSendError(error, resendBy, engine.now()) : error;
    }
    if (delivered === null) {
      throw new OtpError(
        "STORE_UNAVAILABLE",
        "The code store did not save the code; try again shortly.",
      );
    }
    const { messageId, expiresAt } = delivered;
    // A send that delivers nothing tells nothing either.
    if (request.deliver && why === undefined) {
      engine.emit({
        type: "sent",
        at: new Date(engine.now()),
        ...base,
        messageId,
        channel: channel.name,
        expiresAt: new Date(expiresAt),
      });
    } else if (request.deliver && why !== undefined) {
      emitFallback(engine, base, why, undefined, channel.name, delivered);
    }
    return {
      phone: phone.e164,
      messageId,
      channel: channel.name,
      ...(why === undefined ? {} : { fallback: why }),
      expiresAt: new Date(expiresAt),
      resendAt: new Date(resendBy),
    };
  };

  if (via === "fallback" && fallback !== undefined) {
    return sendThrough(fallback.channel, resendAt, refusedBefore ? "refused" : "requested");
  }
  try {
    const result = await sendThrough(config.channel, resendAt);
    // A test number's message goes nowhere: nothing to watch, nothing for a fallback to take over.
    if (request.deliver && !isTestNumber(engine, phone)) watchDelivery(engine, result.messageId);
    return result;
  } catch (error) {
    if (fallback === undefined || !fallback.onRefused || !isUnreachable(error)) throw error;
    // The main channel cannot reach this phone: remembered for a day, and this send goes on
    // through the fallback, counted once more in the fallback's own cooldown and budget only.
    await Promise.resolve()
      .then(() => store.set(unreachableKey(phone.digits), "1", UNREACHABLE_FOR_MS, started))
      .catch(() => {});
    const fallbackOnly = sendBuckets(config, phone, ip, bound, "fallback").filter(
      (p) => p.fallbackOnly,
    );
    const more = refuseUnlessTaken(await takeSends(engine, fallbackOnly, started, base));
    return sendThrough(fallback.channel, Math.max(resendAt, more.resendAt), "refused");
  }
}

/** The answer of `takeSends`, or the `RATE_LIMITED` error its refusal becomes. */
function refuseUnlessTaken(taken: Awaited<ReturnType<typeof takeSends>>): { resendAt: number } {
  if (taken.ok) return taken;
  throw new OtpError("RATE_LIMITED", taken.message, {
    retryAfter: taken.retryAfter,
    details: { limit: taken.limit },
  });
}

/** A send's boolean option (`deliver`, `clientIsNew`): `fallback` when left out; anything but a boolean is `INVALID_INPUT`. */
function readFlag(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === false) return value;
  throw new OtpError("INVALID_INPUT", `\`${field}\` must be true or false.`, {
    details: { field },
  });
}

/**
 * The channel a send names: the main one (also when it names none) or, when the app allows it,
 * the fallback. Anything else is `INVALID_INPUT`, so a client cannot pick an unconfigured channel.
 */
function readVia(config: ResolvedOptions, value: unknown): "channel" | "fallback" {
  if (value === undefined) return "channel";
  const name = readString(value, "channel", 64);
  const { channel, fallback } = config;
  if (name === channel.name || name === channel.kind) return "channel";
  if (fallback?.onRequest && namesFallback(fallback, name)) return "fallback";
  const allowed = [channel.name, ...(fallback?.onRequest ? [fallback.channel.name] : [])];
  throw new OtpError(
    "INVALID_INPUT",
    `\`channel\` must name a configured channel: ${allowed.map((n) => `"${n}"`).join(" or ")}.`,
    { details: { field: "channel" } },
  );
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
    channel: value.channel,
    ...(value.fallback === undefined
      ? {}
      : { fallback: value.fallback as NonNullable<SendResult["fallback"]> }),
    expiresAt: new Date(value.expiresAt),
    resendAt: new Date(value.resendAt),
  };
}
