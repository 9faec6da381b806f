/**
 * The fallback: a fresh code through the second channel when the main one cannot reach the user.
 * Four triggers: the message failed, the main channel refused the phone (in `send`), no delivery
 * report came in time, or the user asked (`send({ channel })`, in `send`). The two that act on a
 * sent message (failed, timeout) go through `takeOver`: one claim per message, so whichever
 * instance notices first sends, once; and the fresh code replaces the pending one only if it is
 * still that message's code.
 */
import type { DeliveryStatus } from "../delivery-status.js";
import type { PhoneEventFields } from "../events.js";
import type { FallbackReason, ResolvedFallback } from "../options.js";
import { parsePhone } from "../phone.js";
import type { DeliveryRecord } from "../store/types.js";
import { type Engine, guard, phoneEvent } from "./context.js";
import { deliverCode } from "./deliver-code.js";
import { UNKNOWN_CLIENT } from "./input.js";
import { fallbackKey } from "./keys.js";
import { sendBuckets, takeSends } from "./send-limits.js";

/** What `status()` tells about a message the fallback took over from. */
export interface FallbackLink {
  messageId: string;
  channel: string;
  why: FallbackReason;
}

// A message's fallback key holds this from the claim until the fallback message is out, then the
// link to that message (JSON): `status()` shows the link, and a claim is never made twice.
const CLAIMED = "claimed";

/**
 * Whether the fallback channel is the one `send({ channel })` names: by its name or its kind.
 * Naming the main channel (or nothing) is a plain send; any other name is refused by the caller.
 */
export function namesFallback(fallback: ResolvedFallback, name: string): boolean {
  return name === fallback.channel.name || name === fallback.channel.kind;
}

/** States in which a message has not reached the phone yet: a timeout may take over. */
function waiting(status: DeliveryStatus): boolean {
  return status === "accepted" || status === "sent";
}

/**
 * Whether the message may still hand its code to the fallback for `why`: the trigger is on, the
 * message is not itself a fallback, its code is alive, and (for a timeout) it is overdue and still
 * on its way. `overdue` skips the clock check, for a timer that measured the wait itself.
 */
function mayTakeOver(
  engine: Engine,
  record: DeliveryRecord,
  why: "failed" | "timeout",
  at: number,
  overdue = false,
): boolean {
  const fallback = engine.config.fallback;
  if (fallback === undefined || record.fallback === true) return false;
  if (record.phone === undefined || record.purpose === undefined || record.hash === undefined) {
    return false;
  }
  if ((record.expiresAt ?? 0) <= at) return false;
  if (why === "failed") return fallback.onFailed;
  return (
    fallback.timeoutMs > 0 &&
    waiting(record.status) &&
    (overdue || (record.sentAt ?? Number.POSITIVE_INFINITY) + fallback.timeoutMs <= at)
  );
}

/**
 * Sends a fresh code through the fallback in place of message `messageId`'s, when `why` applies to
 * its record. Answers without waiting when another call (here or on another instance) has claimed
 * the message. The limits are checked first without counting, and counted only once the fresh
 * code has replaced this message's: a takeover that finds the code used or replaced counts
 * nothing. Its failures show as events (`limited`, `send_failed`), never to the caller.
 */
export async function takeOver(
  engine: Engine,
  messageId: string,
  record: DeliveryRecord,
  why: "failed" | "timeout",
  overdue = false,
): Promise<void> {
  const { config, store } = engine;
  const fallback = config.fallback;
  const started = engine.now();
  if (fallback === undefined || !mayTakeOver(engine, record, why, started, overdue)) return;
  const { phone: digits, purpose, hash } = record as Required<DeliveryRecord>;
  const key = fallbackKey(messageId);
  const claimed = await guard(() =>
    store.setIfAbsent(key, CLAIMED, config.deliveryTtlMs, started),
  ).catch(() => CLAIMED);
  if (claimed !== null) return;

  const phone = parsePhone(`+${digits}`);
  const base = phoneEvent(engine, phone, purpose);
  const ip = config.sendsPerIp === undefined ? undefined : (record.ip ?? UNKNOWN_CLIENT);
  const plan = sendBuckets(config, phone, ip, record.client, "fallback");
  const peek = plan.map((p) => ({ ...p, bucket: { ...p.bucket, peek: true } }));
  const room = await takeSends(engine, peek, started, base).catch(() => null);
  if (room === null || !room.ok) return;
  const to = {
    phone,
    purpose,
    ip,
    client: record.client,
    sender: record.sender,
    locale: record.locale,
  };
  // Between the check and the count, another send may fill a bucket: the fresh code then stays
  // unsent (a send the user asks for at that moment carries its own code).
  const admit = async () => (await takeSends(engine, plan, started, base)).ok;
  const sent = await deliverCode(engine, fallback.channel, to, started, {
    replaces: hash,
    fallback: true,
    admit,
  }).catch(() => null);
  if (sent === null) return;
  const link: FallbackLink = { messageId: sent.messageId, channel: fallback.channel.name, why };
  await Promise.resolve()
    .then(() => store.set(key, JSON.stringify(link), config.deliveryTtlMs, engine.now()))
    .catch(() => {});
  emitFallback(engine, base, why, messageId, fallback.channel.name, sent);
}

/** Tells `onEvent` that the fallback carried a code, and why. */
export function emitFallback(
  engine: Engine,
  base: PhoneEventFields,
  why: FallbackReason,
  replaced: string | undefined,
  channel: string,
  sent: { messageId: string; expiresAt: number },
): void {
  engine.emit({
    type: "fallback",
    at: new Date(engine.now()),
    ...base,
    why,
    ...(replaced === undefined ? {} : { messageId: replaced }),
    fallbackMessageId: sent.messageId,
    channel,
    expiresAt: new Date(sent.expiresAt),
  });
}

/** The fallback message that took over from `messageId`, if one did. */
export async function fallbackLink(
  engine: Engine,
  messageId: string,
): Promise<FallbackLink | undefined> {
  const raw = await guard(() => engine.store.get(fallbackKey(messageId), engine.now()));
  if (raw === null || raw === CLAIMED) return undefined;
  try {
    const link = JSON.parse(raw) as FallbackLink;
    return typeof link.messageId === "string" ? link : undefined;
  } catch {
    return undefined;
  }
}
