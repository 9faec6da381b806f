/**
 * `createOtp`'s options: each field with its documentation and default, and the one function that
 * checks and completes them. Over 300 lines because the defaults are resolved in one place, beside
 * the types that document them.
 */
import { getCountries, getCountryCallingCode } from "libphonenumber-js/max";
import type { Channel } from "./channel.js";
import { cryptoRandomInt, type RandomInt } from "./code.js";
import { assertPurpose, secretBytes } from "./config-rules.js";
import { OtpError } from "./errors.js";
import type { OnEvent } from "./events.js";
import type { CountryCode } from "./phone.js";
import { memoryStore } from "./store/memory.js";
import type { Store } from "./store/types.js";

export interface CodeOptions {
  /** Digits per code, 4 to 10. @default 6 */
  length?: number;
  /** Seconds a code lives, 30 to 600. @default 300 */
  ttlSeconds?: number;
}

export interface WindowLimit {
  /** Calls allowed per window. */
  max?: number;
  /** Length of the window in seconds; it starts at the first counted call. */
  windowSeconds?: number;
}

export interface PhoneSendLimit extends WindowLimit {
  /** Seconds between two sends to the same phone. `0` turns the cooldown off. @default 60 */
  cooldownSeconds?: number;
}

export interface IpSendLimit extends WindowLimit {
  /** IPv6 addresses are counted by this prefix, so one subscriber's range is one client. @default 64 */
  ipv6PrefixLength?: number;
  /**
   * What a send without a client address (`ip` missing or null) does. `"shared"`: every such send
   * counts in one bucket with this limit, so a server that cannot see addresses still caps codes
   * per window instead of handing out unlimited ones. `"refuse"`: such a send fails with
   * `CLIENT_UNKNOWN`, for servers that must always know the client (set up the proxy first).
   * @default "shared"
   */
  unknownIp?: "shared" | "refuse";
}

export interface LimitOptions {
  /** Wrong guesses a code takes before it is dead. @default 5 */
  attemptsPerCode?: number;
  /**
   * Wrong guesses a phone may take across all its codes, so a resend never buys new guesses. Once
   * it is full, guesses are refused, except the first guess at a fresh code sent to a `client` that
   * signed in to this phone before (within 30 days): strangers filling the budget cannot lock the
   * owner out, and get nothing more themselves. It never stops sends. `false` turns it off (not
   * recommended).
   * @default { max: 20, windowSeconds: 86400 }
   */
  failuresPerPhone?: WindowLimit | false;
  /**
   * Wrong guesses one client (IP address, IPv6 by prefix) may make across all phones. A `verify`
   * without `ip` counts in one budget shared by every client whose address is unknown. `false`
   * turns it off.
   * @default { max: 20, windowSeconds: 600, ipv6PrefixLength: 64 }
   */
  failuresPerIp?: (WindowLimit & { ipv6PrefixLength?: number }) | false;
  /**
   * Sends to one phone: a cooldown between sends and a cap per window.
   * @default { cooldownSeconds: 60, max: 5, windowSeconds: 600 }
   */
  sendsPerPhone?: PhoneSendLimit | false;
  /**
   * Sends from one client IP (given to `send` as `ip`); IPv6 grouped by prefix.
   * @default { max: 20, windowSeconds: 600, ipv6PrefixLength: 64 }
   */
  sendsPerIp?: IpSendLimit | false;
  /**
   * Sends for the whole app, to cap what a pumping attack can cost. Off unless set.
   * @default undefined (no cap); `windowSeconds` defaults to 3600 when set
   */
  globalSends?: WindowLimit;
  /**
   * Countries codes may be sent to: ISO 3166-1 regions (`"US"`) and/or calling codes (`"+44"`,
   * `"44"`). Off unless set.
   */
  countries?: readonly string[];
}

export interface DeliveryOptions {
  /** Seconds a message's delivery state is kept for `status()`. @default 3600 */
  ttlSeconds?: number;
  /**
   * Lets `status()` ask the channel (1MSG `hookInfo`) when webhooks have not brought a final state,
   * at most once per `pollIntervalSeconds` per message. @default false
   */
  poll?: boolean;
  /** @default 5 */
  pollIntervalSeconds?: number;
  /**
   * A second channel (SMS through `twilioSms` or `vonageSms`) for users the main channel cannot
   * reach. A channel alone takes over on a failed message and on a refusal; the object form picks
   * the triggers and the fallback's own budget (see `FallbackOptions`).
   */
  fallback?: Channel | FallbackOptions;
}

/** Why the fallback channel carried a code. */
export type FallbackReason = "failed" | "refused" | "timeout" | "requested";

/**
 * When the fallback channel takes over, and how much it may send. Each fallback message is a fresh
 * code that replaces the pending one only while it is still pending, so a code goes out through the
 * fallback once, whichever instance notices first. It counts in the phone's send window (not in the
 * main channel's cooldown), in the client's address window, in the app's window, and in the
 * fallback's own cooldown and budget below.
 */
export interface FallbackOptions {
  channel: Channel;
  /** A message reported failed or undelivered while its code is alive. @default true */
  onFailed?: boolean;
  /**
   * The main channel refused the send because this number cannot get its messages (not a WhatsApp
   * user): the same `send` call goes on through the fallback. @default true
   */
  onRefused?: boolean;
  /**
   * Seconds without a `delivered` (or `read`) report after which a fresh code goes out through the
   * fallback. Needs delivery webhooks or `delivery.poll`: without reports every message times out.
   * `false` turns it off. @default false
   */
  timeoutSeconds?: number | false;
  /**
   * Lets `send({ phone, channel })` name the fallback (by its name, `"twilio-sms"`, or kind,
   * `"sms"`), for a "send by SMS instead" button. @default true
   */
  onRequest?: boolean;
  /** Fallback messages to one phone. `false` leaves only the phone's shared limits. @default { max: 3, windowSeconds: 3600 } */
  sendsPerPhone?: WindowLimit | false;
  /** Fallback messages for the whole app (SMS costs more; it is the usual pumping target). Off unless set. */
  globalSends?: WindowLimit;
}

export interface OtpOptions {
  /**
   * Key for the HMAC under which codes are stored, at least 32 bytes (`openssl rand -hex 32`).
   * Keep it out of the store: with it, a leaked store is worthless.
   */
  secret: string | Uint8Array;
  /** Where codes go: `oneMsg({...})` for WhatsApp through 1MSG. */
  channel: Channel;
  /** Where codes, counters and delivery states live. @default memoryStore() */
  store?: Store;
  code?: CodeOptions;
  limits?: LimitOptions;
  /** Region used for numbers typed without a country code (`"US"`). @default undefined */
  defaultCountry?: CountryCode;
  /** Purpose used when a call names none. @default "login" */
  defaultPurpose?: string;
  delivery?: DeliveryOptions;
  /** Called with every event; never receives a code, hash or token. Errors it throws are ignored. */
  onEvent?: OnEvent;
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Random integer in `[0, max)`. @default crypto.randomInt */
  random?: RandomInt;
}

interface ResolvedWindow {
  max: number;
  windowMs: number;
}

export interface ResolvedOptions {
  key: Buffer;
  channel: Channel;
  store: Store;
  codeLength: number;
  ttlMs: number;
  attemptsPerCode: number;
  failuresPerPhone: ResolvedWindow | undefined;
  failuresPerIp: (ResolvedWindow & { ipv6PrefixLength: number }) | undefined;
  phoneCooldownMs: number;
  sendsPerPhone: ResolvedWindow | undefined;
  sendsPerIp:
    | (ResolvedWindow & { ipv6PrefixLength: number; unknownIp: "shared" | "refuse" })
    | undefined;
  globalSends: ResolvedWindow | undefined;
  countries: { regions: Set<string>; callingCodes: Set<string> } | undefined;
  defaultCountry: CountryCode | undefined;
  defaultPurpose: string;
  deliveryTtlMs: number;
  poll: boolean;
  pollIntervalMs: number;
  fallback: ResolvedFallback | undefined;
  onEvent: OnEvent | undefined;
  now: () => number;
  random: RandomInt;
}

export interface ResolvedFallback {
  channel: Channel;
  onFailed: boolean;
  onRefused: boolean;
  /** 0: off. */
  timeoutMs: number;
  onRequest: boolean;
  sendsPerPhone: ResolvedWindow | undefined;
  globalSends: ResolvedWindow | undefined;
}

/** Checks and completes the options of `createOtp`; every problem is a `CONFIG_INVALID` error. */
export function resolveOptions(options: OtpOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw configError("createOtp() needs an options object with at least `secret` and `channel`.");
  }
  const limits = options.limits ?? {};
  const code = options.code ?? {};
  const delivery = options.delivery ?? {};
  const ttlSeconds = integer("code.ttlSeconds", code.ttlSeconds ?? 300, 30, 600);
  const phone =
    limits.sendsPerPhone === false
      ? undefined
      : { cooldownSeconds: 60, max: 5, windowSeconds: 600, ...limits.sendsPerPhone };
  const defaultPurpose = options.defaultPurpose ?? "login";
  assertPurpose(defaultPurpose, "defaultPurpose");
  const fallback = delivery.fallback === undefined ? undefined : fallbackOptions(delivery.fallback);
  if (fallback !== undefined && fallback.timeoutMs >= ttlSeconds * 1000) {
    throw configError(
      `\`delivery.fallback.timeoutSeconds\` (${fallback.timeoutMs / 1000}) must be shorter than the code's lifetime, \`code.ttlSeconds\` (${ttlSeconds}): a code that died cannot be handed on.`,
    );
  }
  return {
    key: secretBytes(options.secret),
    channel: channel("channel", options.channel),
    store: options.store ?? memoryStore(),
    codeLength: integer("code.length", code.length ?? 6, 4, 10),
    ttlMs: ttlSeconds * 1000,
    attemptsPerCode: integer("limits.attemptsPerCode", limits.attemptsPerCode ?? 5, 1, 100),
    failuresPerPhone:
      limits.failuresPerPhone === false
        ? undefined
        : windowLimit(
            "limits.failuresPerPhone",
            { max: 20, windowSeconds: 86_400 },
            limits.failuresPerPhone,
          ),
    failuresPerIp:
      limits.failuresPerIp === false
        ? undefined
        : {
            ...windowLimit(
              "limits.failuresPerIp",
              { max: 20, windowSeconds: 600 },
              limits.failuresPerIp,
            ),
            ipv6PrefixLength: integer(
              "limits.failuresPerIp.ipv6PrefixLength",
              limits.failuresPerIp?.ipv6PrefixLength ?? 64,
              16,
              128,
            ),
          },
    phoneCooldownMs:
      phone === undefined
        ? 0
        : integer("limits.sendsPerPhone.cooldownSeconds", phone.cooldownSeconds, 0, 86_400) * 1000,
    sendsPerPhone: phone === undefined ? undefined : windowLimit("limits.sendsPerPhone", phone, {}),
    sendsPerIp:
      limits.sendsPerIp === false
        ? undefined
        : {
            ...windowLimit("limits.sendsPerIp", { max: 20, windowSeconds: 600 }, limits.sendsPerIp),
            ipv6PrefixLength: integer(
              "limits.sendsPerIp.ipv6PrefixLength",
              limits.sendsPerIp?.ipv6PrefixLength ?? 64,
              16,
              128,
            ),
            unknownIp: oneOf(
              "limits.sendsPerIp.unknownIp",
              limits.sendsPerIp?.unknownIp ?? "shared",
              ["shared", "refuse"] as const,
            ),
          },
    globalSends:
      limits.globalSends === undefined
        ? undefined
        : windowLimit("limits.globalSends", { windowSeconds: 3600 }, limits.globalSends),
    countries: limits.countries === undefined ? undefined : countryList(limits.countries),
    defaultCountry:
      options.defaultCountry === undefined ? undefined : region(options.defaultCountry),
    defaultPurpose,
    deliveryTtlMs:
      integer("delivery.ttlSeconds", delivery.ttlSeconds ?? 3600, 60, 7 * 86_400) * 1000,
    poll: delivery.poll === true,
    pollIntervalMs:
      integer("delivery.pollIntervalSeconds", delivery.pollIntervalSeconds ?? 5, 1, 3600) * 1000,
    fallback,
    onEvent: options.onEvent,
    now: options.now ?? Date.now,
    random: options.random ?? cryptoRandomInt,
  };
}

function channel(name: string, value: unknown): Channel {
  if (typeof (value as Partial<Channel> | undefined)?.send !== "function") {
    throw configError(
      `\`${name}\` is required: pass oneMsg({ channelId, token, template }) or a Channel with send().`,
    );
  }
  return value as Channel;
}

function fallbackOptions(given: Channel | FallbackOptions): ResolvedFallback {
  const options: FallbackOptions =
    typeof (given as Partial<Channel> | undefined)?.send === "function"
      ? { channel: given as Channel }
      : (given as FallbackOptions);
  if (typeof options !== "object" || options === null) {
    throw configError("`delivery.fallback` must be a channel or { channel, ... }.");
  }
  const flag = (name: keyof FallbackOptions, fallback: boolean) => {
    const value = options[name] ?? fallback;
    if (typeof value !== "boolean") {
      throw configError(`\`delivery.fallback.${name}\` must be true or false.`);
    }
    return value;
  };
  const timeout = options.timeoutSeconds ?? false;
  return {
    channel: channel("delivery.fallback.channel", options.channel),
    onFailed: flag("onFailed", true),
    onRefused: flag("onRefused", true),
    timeoutMs:
      timeout === false ? 0 : integer("delivery.fallback.timeoutSeconds", timeout, 5, 600) * 1000,
    onRequest: flag("onRequest", true),
    sendsPerPhone:
      options.sendsPerPhone === false
        ? undefined
        : windowLimit(
            "delivery.fallback.sendsPerPhone",
            { max: 3, windowSeconds: 3600 },
            options.sendsPerPhone,
          ),
    globalSends:
      options.globalSends === undefined
        ? undefined
        : windowLimit(
            "delivery.fallback.globalSends",
            { windowSeconds: 3600 },
            options.globalSends,
          ),
  };
}

function windowLimit(
  name: string,
  defaults: WindowLimit,
  given: WindowLimit | undefined,
): ResolvedWindow {
  const merged = { ...defaults, ...given };
  if (merged.max === undefined)
    throw configError(`\`${name}.max\` is required when ${name} is set.`);
  return {
    max: integer(`${name}.max`, merged.max, 1, 1_000_000_000),
    windowMs: integer(`${name}.windowSeconds`, merged.windowSeconds ?? 0, 1, 30 * 86_400) * 1000,
  };
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw configError(
      `\`${name}\` must be a whole number from ${min} to ${max}; got ${String(value)}.`,
    );
  }
  return value;
}

const REGIONS = new Set<string>(getCountries());

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    throw configError(`\`${name}\` must be ${allowed.map((a) => `"${a}"`).join(" or ")}.`);
  }
  return value as T;
}

function region(value: unknown): CountryCode {
  if (typeof value !== "string" || !REGIONS.has(value.toUpperCase())) {
    throw configError(
      `\`defaultCountry\` must be an ISO 3166-1 alpha-2 region such as "US"; got ${String(value)}.`,
    );
  }
  return value.toUpperCase() as CountryCode;
}

function countryList(list: readonly string[]): ResolvedOptions["countries"] {
  if (!Array.isArray(list) || list.length === 0) {
    throw configError('`limits.countries` must be a non-empty list such as ["US", "+44"].');
  }
  const callingCodes = new Set(getCountries().map((c) => getCountryCallingCode(c) as string));
  const result = { regions: new Set<string>(), callingCodes: new Set<string>() };
  for (const entry of list) {
    const text = typeof entry === "string" ? entry.trim() : "";
    const digits = text.replace(/^\+/, "");
    if (/^\d{1,3}$/.test(digits) && callingCodes.has(digits)) result.callingCodes.add(digits);
    else if (REGIONS.has(text.toUpperCase())) result.regions.add(text.toUpperCase());
    else {
      throw configError(
        `\`limits.countries\` has ${JSON.stringify(entry)}, which is neither a region ("US") nor a calling code ("+44").`,
      );
    }
  }
  return result;
}

function configError(message: string): OtpError {
  return new OtpError("CONFIG_INVALID", message);
}
