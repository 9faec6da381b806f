/**
 * The fallback: when the message carrying the pending code fails, a fresh code goes out through the
 * fallback channel, in place of the failed one if that is still the pending code.
 */
import type { Channel } from "../channel.js";
import { maskPhone, parsePhone } from "../phone.js";
import type { DeliveryRecord } from "../store/types.js";
import type { Engine } from "./context.js";
import { deliverCode } from "./deliver-code.js";
import { UNKNOWN_CLIENT } from "./input.js";
import { sendBuckets, takeSends } from "./send-limits.js";

/**
 * The part of a failed message's record a fallback needs, or null when it has no fallback: one
 * is configured, the message was not itself a fallback, and its code is still alive.
 */
export function fallbackFor(
  engine: Engine,
  record: DeliveryRecord,
  at: number,
): (Required<Pick<DeliveryRecord, "phone" | "purpose" | "hash">> & DeliveryRecord) | null {
  const { phone, purpose, hash, expiresAt = 0 } = record;
  if (
    engine.config.fallback === undefined ||
    record.fallback === true ||
    phone === undefined ||
    purpose === undefined ||
    hash === undefined ||
    expiresAt <= at
  ) {
    return null;
  }
  return { ...record, phone, purpose, hash };
}

/**
 * Sends a fresh code through the fallback channel. It counts against the phone's and the app's
 * send windows (not the cooldown, which the failed send just started), charged to the client that
 * asked for the failed code (the shared bucket if its address was unknown).
 */
export async function sendFallback(
  engine: Engine,
  channel: Channel,
  failedId: string,
  failed: NonNullable<ReturnType<typeof fallbackFor>>,
): Promise<void> {
  const { config } = engine;
  const { purpose } = failed;
  const phone = parsePhone(`+${failed.phone}`);
  const base = { phone: maskPhone(failed.phone), purpose };
  const started = engine.now();
  const ip = config.sendsPerIp === undefined ? undefined : (failed.ip ?? UNKNOWN_CLIENT);
  const plan = sendBuckets(config, phone.digits, ip, failed.client).filter(
    (p) => p.limit !== "phone_cooldown",
  );
  if (!(await takeSends(engine, plan, started, base)).ok) return;
  const to = {
    phone,
    purpose,
    ip,
    client: failed.client,
    sender: failed.sender,
    locale: failed.locale,
  };
  const sent = await deliverCode(engine, channel, to, started, failed.hash);
  if (sent === null) return;
  engine.emit({
    type: "fallback",
    at: new Date(engine.now()),
    ...base,
    messageId: failedId,
    fallbackMessageId: sent.messageId,
    channel: channel.name,
  });
}
