/**
 * The send limits as buckets: which ones a send counts in (the phone's cooldown and window, the
 * phone's ceiling, the client's address, the number's range and country, the whole app) and what
 * a refusal says.
 */
import type { LimitName, PhoneEventFields } from "../events.js";
import type { ResolvedOptions } from "../options.js";
import { countryOf, type Phone } from "../phone.js";
import type { Bucket } from "../store/types.js";
import { type Engine, guard, retryAfterSeconds } from "./context.js";
import { fallbackSendKeys, sendKeys } from "./keys.js";

/** Sends to one phone in a window, across all its clients, as a multiple of the shared window. */
const PHONE_CEILING_FACTOR = 4;

export type SendPlan = {
  bucket: Bucket;
  limit: LimitName;
  perPhone: boolean;
  /** A bucket of the fallback channel alone (not shared with the main channel's sends). */
  fallbackOnly?: true;
}[];

/**
 * The buckets a send to `phone` counts in. `ip` is the client's per-IP bucket (undefined: not
 * limited); `client`, the known client the code is bound to, gets its own cooldown, window and
 * per-IP bucket, so other clients' sends cannot hold them. A send `via` the fallback channel has
 * that channel's cooldown instead of the main one's, and the fallback's own budget besides; every
 * message, whichever channel carries it, counts in its range's, its country's and the app's.
 */
export function sendBuckets(
  config: ResolvedOptions,
  phone: Phone,
  ip: string | undefined,
  client: string | undefined,
  via: "channel" | "fallback" = "channel",
): SendPlan {
  const plan: SendPlan = [];
  const add = (
    limit: LimitName,
    key: string,
    max: number,
    windowMs: number,
    perPhone: boolean,
    fallbackOnly = false,
  ) =>
    plan.push({
      bucket: { key, limit: max, windowMs },
      limit,
      perPhone,
      ...(fallbackOnly ? { fallbackOnly } : {}),
    });
  const { digits } = phone;
  const own = client === undefined ? "" : `:${client}`;
  const fallback = via === "fallback" ? config.fallback : undefined;
  if (config.phoneCooldownMs > 0) {
    const key =
      fallback === undefined
        ? sendKeys.cooldown(digits, own)
        : fallbackSendKeys.cooldown(digits, own);
    add("phone_cooldown", key, 1, config.phoneCooldownMs, true, fallback !== undefined);
  }
  if (fallback?.sendsPerPhone) {
    const { max, windowMs } = fallback.sendsPerPhone;
    add("fallback_window", fallbackSendKeys.phone(digits, own), max, windowMs, true, true);
    // As for the main channel: many known clients of one phone share a ceiling.
    const ceiling = max * PHONE_CEILING_FACTOR;
    add("fallback_window", fallbackSendKeys.phoneAll(digits), ceiling, windowMs, true, true);
  }
  if (fallback?.globalSends) {
    const { max, windowMs } = fallback.globalSends;
    add("fallback_global_window", fallbackSendKeys.global, max, windowMs, false, true);
  }
  if (config.sendsPerPhone) {
    const { max, windowMs } = config.sendsPerPhone;
    add("phone_window", sendKeys.phone(digits, own), max, windowMs, true);
    // Every send to the phone, bound or not, under a ceiling the shared window alone cannot
    // reach: strangers cannot fill it, and many known clients of one phone cannot pump it.
    add("phone_window", sendKeys.phoneAll(digits), max * PHONE_CEILING_FACTOR, windowMs, true);
  }
  // A bound client is counted apart from its address: strangers behind the same NAT cannot use
  // up the owner's sends.
  if (ip !== undefined && config.sendsPerIp) {
    const { max, windowMs } = config.sendsPerIp;
    add("ip_window", sendKeys.ip(ip, own), max, windowMs, false);
  }
  // Ranges and countries: what pumping spreads over many phones and addresses comes together here.
  if (config.sendsPerPrefix) {
    const { max, windowMs, digits: length } = config.sendsPerPrefix;
    const range = digits.slice(0, phone.callingCode.length + length);
    add("prefix_window", sendKeys.prefix(range), max, windowMs, false);
  }
  if (config.sendsPerCountry) {
    const { max, windowMs, byRegion, byCallingCode } = config.sendsPerCountry;
    const country = countryOf(phone);
    const cap = byRegion.get(country) ?? byCallingCode.get(phone.callingCode) ?? max;
    add("country_window", sendKeys.country(country), cap, windowMs, false);
  }
  if (config.globalSends) {
    const { max, windowMs } = config.globalSends;
    add("global_window", sendKeys.global, max, windowMs, false);
  }
  return plan;
}

/**
 * Counts a send in every bucket of the plan, or reports which limit refused it and for how long
 * (and tells `onEvent`). On success, `resendAt` is when every per-phone bucket has room again.
 */
export async function takeSends(
  engine: Engine,
  plan: SendPlan,
  started: number,
  base: PhoneEventFields,
): Promise<
  | { ok: true; resendAt: number }
  | { ok: false; limit: LimitName; retryAfter: number; message: string }
> {
  const taken = await guard(() =>
    engine.store.take(
      plan.map((p) => p.bucket),
      started,
    ),
  );
  if (taken.ok) {
    let resendAt = started;
    plan.forEach((p, i) => {
      const state = taken.buckets[i];
      if (p.perPhone && state !== undefined && state.remaining <= 0) {
        resendAt = Math.max(resendAt, state.resetAt);
      }
    });
    return { ok: true, resendAt };
  }
  const limit = plan.find((p) => p.bucket.key === taken.key)?.limit ?? "phone_window";
  const retryAfter = retryAfterSeconds(taken.retryAfterMs);
  engine.emit({ type: "limited", at: new Date(started), ...base, limit, retryAfter });
  return { ok: false, limit, retryAfter, message: rateLimitMessage(limit, retryAfter) };
}

function rateLimitMessage(limit: LimitName, retryAfter: number): string {
  const wait = `Try again in ${retryAfter} s.`;
  switch (limit) {
    case "phone_cooldown":
      return `A code was just sent to this phone. ${wait}`;
    case "phone_window":
      return `Too many codes were sent to this phone. ${wait}`;
    case "phone_failures":
    case "ip_failures":
      return `Too many wrong codes were entered. ${wait}`;
    case "ip_window":
      return `Too many codes were requested from this address. ${wait}`;
    case "global_window":
      return `The service is sending too many codes right now. ${wait}`;
    case "fallback_window":
      return `Too many codes were sent to this phone through the backup channel. ${wait}`;
    case "fallback_global_window":
      return `The service is sending too many codes through the backup channel right now. ${wait}`;
    case "prefix_window":
      return `Too many codes were sent to numbers like this one. ${wait}`;
    case "country_window":
      return `Too many codes were sent to numbers in this country. ${wait}`;
  }
}
