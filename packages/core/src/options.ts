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
import { type CountryCode, NUMBER_TYPES, type NumberType, parsePhone } from "./phone.js";
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
  /**
   * Number types (by libphonenumber's full metadata) that codes are never sent to: such a send is
   * refused with `NUMBER_TYPE_NOT_ALLOWED` before any limit counts or any hook runs.
   * - Premium-rate and shared-cost numbers pay their holder for the traffic they get: the heart of
   *   pumping. WhatsApp refuses a number that has no account, and an SMS fallback then carries the
   *   code to it.
   * - Personal numbers (UK 070, US 500) forward to another number, are charged like premium ones
   *   and share the takings; their holder has a real number to give instead.
   * - Pagers, voicemail access numbers and UANs (one number for a company's switchboard) are not
   *   handsets: no WhatsApp account lives on them, and nobody reads a code sent there.
   *
   * Sent to: mobiles, landlines (WhatsApp Business runs on landlines, verified by a call), numbers
   * the metadata cannot tell apart (`FIXED_LINE_OR_MOBILE`: all of +1 and more), VoIP, toll-free
   * (WhatsApp Business accepts them, and a message earns their holder nothing), and numbers of no
   * known type. `false` sends to every valid number.
   * @default ["PREMIUM_RATE", "SHARED_COST", "PERSONAL_NUMBER", "PAGER", "UAN", "VOICEMAIL"]
   */
  refusedNumberTypes?: readonly NumberType[] | false;
  /**
   * Sends to one number range: the calling code and the first `digits` digits after it (+1 415 555,
   * +44 7911 12), whoever asks and from wherever. Pumping leases a range and asks for a code to
   * each of its numbers from a new address each time, so no phone's or address's window fills;
   * this one does. Six digits make a range of about 10,000 numbers (a US exchange, a UK mobile
   * block; fewer in countries with short numbers). For real users to ask 100 codes in an hour, one
   * number in a hundred of the range would have to sign in within that hour: even if every number
   * of the range were a user signing in once a week, they would ask about 60 an hour (10,000 / 168).
   * A full range refuses its real users too (`RATE_LIMITED`, `limit: "prefix_window"`) until the
   * window frees up, which is why the default sits that far above real traffic. Every message
   * counts, the fallback's too. `false` turns it off.
   * @default { max: 100, windowSeconds: 3600, digits: 6 }
   */
  sendsPerPrefix?: PrefixSendLimit | false;
  /**
   * Sends to one country (its ISO region; the calling code for numbers of no region), for pumping
   * that rotates through many ranges of one country, usually one where messages cost the most.
   * 1,000 an hour is 24,000 codes a day to one country: more than most apps send to any country.
   * An app that sends more (a large user base, a launch) raises `max`, or better only its own
   * countries' caps in `byCountry`: the countries it does not serve are the ones pumping picks.
   * Every message counts, the fallback's too (`RATE_LIMITED`, `limit: "country_window"`). `false`
   * turns it off.
   * @default { max: 1000, windowSeconds: 3600 }
   */
  sendsPerCountry?: CountrySendLimit | false;
}

export interface PrefixSendLimit extends WindowLimit {
  /** Digits after the calling code that name a range, 1 to 12. @default 6 */
  digits?: number;
}

export interface CountrySendLimit extends WindowLimit {
  /**
   * Caps of their own, in sends per window: by region (`{ IN: 5000 }`), or by calling code
   * (`{ "+44": 2000 }`: each region of that code, counted apart, and numbers of no region). A
   * region's entry wins over its calling code's; countries not named get `max`.
   */
  byCountry?: Readonly<Record<string, number>>;
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

/** What `beforeSend` is told about a send. */
export interface BeforeSendRequest {
  /** The phone, E.164 (`+14155550101`). */
  phone: string;
  /** Its ISO region (`"US"`), or its calling code (`"+870"`) for a number of no region. */
  country: string;
  /** Its type by libphonenumber's metadata; undefined when unknown. */
  numberType: NumberType | undefined;
  purpose: string;
  /** The client address `send` was given, as given. */
  ip: string | undefined;
  /** The `client` id `send` was given, as given. */
  client: string | undefined;
  locale: string | undefined;
  /** The name of the channel the send asks for: the main one's, or the fallback's on request. */
  channel: string;
  /** False for a send that stores a code and sends nothing (`SendInput.deliver`). */
  deliver: boolean;
  /** The phone is one of `testNumbers`. */
  test: boolean;
  /**
   * `SendInput.context`, as given: the HTTP adapters pass `{ body, headers }` (`HttpSendContext`),
   * so a CAPTCHA token in the request is here.
   */
  context: unknown;
}

/** `{ refuse: "captcha_failed" }` refuses the send; nothing (undefined) lets it go on. */
export type BeforeSendAnswer = undefined | { refuse: string };

/** The app's check before a send (see `OtpOptions.beforeSend`). */
export type BeforeSend = (
  send: BeforeSendRequest,
) => BeforeSendAnswer | Promise<BeforeSendAnswer> | void | Promise<void>;

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
  /**
   * The app's own check before a send: a CAPTCHA, a risk score, a blocklist. It runs once the
   * request is read and the phone allowed (a bad phone, number type or country never reaches it),
   * and before any limit counts, so a bot without a CAPTCHA token uses up nobody's cooldown or
   * window. It does not run for a retry answered from its `idempotencyKey` (a CAPTCHA token works
   * once). Return nothing to go on, or `{ refuse: "captcha_failed" }`: the send fails with
   * `SEND_REFUSED` (403) and `details.reason`, a code of lower-case letters, digits and `_` (up to
   * 64), never free text. A hook that throws, or answers anything else, refuses the send with
   * `BEFORE_SEND_FAILED` (500, its error as `cause`): a check that could not run has not passed.
   * It has no timeout of its own: give the calls it makes one.
   */
  beforeSend?: BeforeSend;
  /**
   * Numbers with a fixed code, for app-store reviewers and end-to-end tests:
   * `{ "+14155550199": "123456" }`. A send to one stores its code as any send does (so `verify`
   * and its attempt limits work, and the send limits count) but hands nothing to any channel;
   * `status()` shows the message delivered, and its events carry `test: true`. The number type
   * and country rules do not apply to them, since nothing is sent. Keys are phone numbers in
   * international form; codes are `code.length` digits.
   */
  testNumbers?: Readonly<Record<string, string>>;
  /**
   * Lets `testNumbers` be used when `NODE_ENV` is `production`; without it they fail there with
   * `CONFIG_INVALID` at start-up. A test number's code is a standing password for whoever learns
   * it: give it to an account with nothing to lose. @default false
   */
  allowTestNumbersInProduction?: boolean;
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
  refusedNumberTypes: ReadonlySet<NumberType>;
  sendsPerPrefix: (ResolvedWindow & { digits: number }) | undefined;
  sendsPerCountry: ResolvedCountryLimit | undefined;
  beforeSend: BeforeSend | undefined;
  /** A test number's international digits -> its fixed code. */
  testNumbers: ReadonlyMap<string, string>;
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

export interface ResolvedCountryLimit extends ResolvedWindow {
  /** Region -> its own cap. */
  byRegion: ReadonlyMap<string, number>;
  /** Calling code (digits) -> the cap of each of its regions. */
  byCallingCode: ReadonlyMap<string, number>;
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
  const codeLength = integer("code.length", code.length ?? 6, 4, 10);
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
    codeLength,
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
            ipv6PrefixLength: ipv6Prefix("limits.failuresPerIp", limits.failuresPerIp),
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
            ipv6PrefixLength: ipv6Prefix("limits.sendsPerIp", limits.sendsPerIp),
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
    refusedNumberTypes: numberTypes(limits.refusedNumberTypes),
    sendsPerPrefix:
      limits.sendsPerPrefix === false
        ? undefined
        : {
            ...windowLimit(
              "limits.sendsPerPrefix",
              { max: 100, windowSeconds: 3600 },
              limits.sendsPerPrefix,
            ),
            digits: integer(
              "limits.sendsPerPrefix.digits",
              limits.sendsPerPrefix?.digits ?? 6,
              1,
              12,
            ),
          },
    sendsPerCountry:
      limits.sendsPerCountry === false ? undefined : countryLimit(limits.sendsPerCountry),
    beforeSend: hook(options.beforeSend),
    testNumbers: testNumbers(options, codeLength),
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

/** How many leading bits of an IPv6 address name one client in a per-address limit: 16 to 128, 64 by default. */
function ipv6Prefix(name: string, given: { ipv6PrefixLength?: number } | undefined): number {
  return integer(`${name}.ipv6PrefixLength`, given?.ipv6PrefixLength ?? 64, 16, 128);
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

const REFUSED_NUMBER_TYPES: readonly NumberType[] = [
  "PREMIUM_RATE",
  "SHARED_COST",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
];

function numberTypes(given: readonly NumberType[] | false | undefined): ReadonlySet<NumberType> {
  if (given === false) return new Set();
  const list = given ?? REFUSED_NUMBER_TYPES;
  if (!Array.isArray(list)) {
    throw configError(
      '`limits.refusedNumberTypes` must be a list such as ["PREMIUM_RATE"], or false.',
    );
  }
  for (const type of list) {
    if (!NUMBER_TYPES.includes(type)) {
      throw configError(
        `\`limits.refusedNumberTypes\` has ${JSON.stringify(type)}; the types are ${NUMBER_TYPES.join(", ")}.`,
      );
    }
  }
  return new Set(list);
}

function countryLimit(given: CountrySendLimit | undefined): ResolvedCountryLimit {
  const name = "limits.sendsPerCountry";
  const { byCountry, ...window } = given ?? {};
  const result = {
    ...windowLimit(name, { max: 1000, windowSeconds: 3600 }, window),
    byRegion: new Map<string, number>(),
    byCallingCode: new Map<string, number>(),
  };
  if (byCountry === undefined) return result;
  if (typeof byCountry !== "object" || byCountry === null) {
    throw configError(`\`${name}.byCountry\` must be an object such as { US: 5000, "+44": 2000 }.`);
  }
  const callingCodes = new Set(getCountries().map((c) => getCountryCallingCode(c) as string));
  for (const [entry, max] of Object.entries(byCountry)) {
    const cap = integer(`${name}.byCountry.${entry}`, max, 1, 1_000_000_000);
    const digits = entry.trim().replace(/^\+/, "");
    if (/^\d{1,3}$/.test(digits) && callingCodes.has(digits)) result.byCallingCode.set(digits, cap);
    else if (REGIONS.has(entry.trim().toUpperCase())) {
      result.byRegion.set(entry.trim().toUpperCase(), cap);
    } else {
      throw configError(
        `\`${name}.byCountry\` has ${JSON.stringify(entry)}, which is neither a region ("US") nor a calling code ("+44").`,
      );
    }
  }
  return result;
}

function hook(given: unknown): BeforeSend | undefined {
  if (given === undefined) return undefined;
  if (typeof given !== "function") {
    throw configError("`beforeSend` must be a function that returns nothing or { refuse }.");
  }
  return given as BeforeSend;
}

function testNumbers(options: OtpOptions, codeLength: number): ReadonlyMap<string, string> {
  const given = options.testNumbers;
  const numbers = new Map<string, string>();
  if (given === undefined) return numbers;
  if (typeof given !== "object" || given === null) {
    throw configError('`testNumbers` must be an object such as { "+14155550199": "123456" }.');
  }
  const production = typeof process !== "undefined" && process.env?.NODE_ENV === "production";
  if (production && options.allowTestNumbersInProduction !== true) {
    throw configError(
      "`testNumbers` are set while NODE_ENV is production: their codes never change, so anyone who learns one signs in. Remove them, or set `allowTestNumbersInProduction: true` for a reviewer's account.",
    );
  }
  for (const [number, code] of Object.entries(given)) {
    let digits: string;
    try {
      ({ digits } = parsePhone(number));
    } catch {
      throw configError(
        `\`testNumbers\` has ${JSON.stringify(number)}, which is not a valid phone number in international form.`,
      );
    }
    if (typeof code !== "string" || code.length !== codeLength || !/^[0-9]+$/.test(code)) {
      throw configError(
        `The code of test number ${JSON.stringify(number)} must be ${codeLength} digits (\`code.length\`).`,
      );
    }
    if (numbers.has(digits)) {
      throw configError(`\`testNumbers\` has ${JSON.stringify(number)} twice, in two forms.`);
    }
    numbers.set(digits, code);
  }
  return numbers;
}

function configError(message: string): OtpError {
  return new OtpError("CONFIG_INVALID", message);
}
